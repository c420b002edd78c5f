"""Verify a workbook: do its formulas still compute the model?

1. Read the book the workbook was built from (its hidden metadata sheet) and
   the inputs as they stand in the workbook now (as finance edited them).
2. Recompute every output in Python (:mod:`generator.model`, through the same
   :mod:`generator.layout` that wrote the workbook), never by evaluating the
   workbook's formulas.
3. Compare structure: every expected formula, every defined name (as stored
   in the package: repeats and sheet-level names too), the rows of the
   pricebook, every label, every chart series, and number formats that hide
   a number. A typed number where a formula belongs, a changed reference or
   operator, a name pointed elsewhere, a deleted row, a changed label: each
   is named. Inputs must obey the pricebook's rules and the cell's validation.
4. Compare values: a real engine recalculates a private copy (LibreOffice or
   Gnumeric) to which verify adds a formula whose cached result is planted
   wrong, to prove the recalculation happened; or the cached values are
   taken as saved. Each formula's result must equal the model's within a
   relative tolerance. Behind a recalculating engine, cached values that
   differ from the model are reported as stale (a warning: a preview shows
   them).

A pricebook row deleted or moved is reported first; the inputs of the rows
that moved are not read (they would be another provider's). The file itself
is never modified.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from . import progress, stopping
from .engine import (
    ENGINES,
    Cancelled,
    EngineError,
    SplitRead,
    available_engines,
    read_cell_values,
    recalculate_to,
)
from .errors import InputError
from .gctune import few_collections
from .layout import (
    INPUTS,
    METADATA,
    PB_COL,
    PB_FIRST,
    PRICEBOOK,
    READABLE_MARKS,
    WORKBOOK_FORMAT,
    WORKBOOK_MARK,
)
from .plan import FORMULA, NA, Cell, Plan, Validation, a1, ref
from .pricebook import (
    CROSSOVER_SPEC,
    FORECAST_SPEC,
    PROVIDER_SPEC,
    SCENARIO_SPEC,
    SHARE,
    Book,
    load_book_text,
    number,
)
from .xlsxread import (
    ChartRefs,
    DefinedName,
    format_hides,
    is_formula,
    open_workbook,
    read_package,
    sheet_cells,
    without_defined_names,
    worksheet_titles,
)
from .yamlsource import Source

DEFAULT_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-12

#: Functions the workbook may use: present in Excel 2016, LibreOffice 7.4 and
#: Google Sheets, not volatile. A formula using any other is reported.
COMPATIBLE = frozenset(
    """
ABS AND AVERAGE AVERAGEIF CEILING CHOOSE COLUMN COLUMNS CONCATENATE COUNT COUNTA
COUNTBLANK COUNTIF COUNTIFS DATE EXP FALSE FLOOR HLOOKUP IF IFERROR INDEX INT
ISBLANK ISERROR ISNA ISNUMBER ISTEXT LARGE LEFT LEN LN LOG LOG10 LOWER MATCH MAX
MEDIAN MID MIN MOD NA NOT OR POWER PRODUCT RANK RIGHT ROUND ROUNDDOWN ROUNDUP ROW
ROWS SIGN SMALL SQRT SUBSTITUTE SUM SUMIF SUMIFS SUMPRODUCT TEXT TRIM TRUE UPPER
VALUE VLOOKUP
""".split()
)
FUNCTION_RE = re.compile(r"(?<![A-Z0-9_.$])((?:_XL(?:FN|WS)\.)*[A-Z][A-Z0-9._]*)\(")
#: The formula verify adds to its private copy to prove that the engine
#: recalculated: cached as CANARY_VALUE, it must come back as CANARY_RESULT.
CANARY_FORMULA = "2+3"
CANARY_RESULT = 5
CANARY_VALUE = -12345
#: Exit status after SIGTERM (128 + 15), as the CLI gives it.
STOPPED_STATUS = 143
#: A workbook file at least this large has the engine's results read by two
#: processes (:class:`generator.engine.SplitRead`) when two cores are there:
#: 0.3 s sooner at 1.3 MB (250 providers), 1.9 s at 6.6 MB (LiteLLM); for a
#: smaller file the helper's start costs about what it saves.
SPLIT_READ_MIN_BYTES = 1_000_000


@dataclass
class Finding:
    """One thing verify found; ``severity`` is "error" or "warning"."""

    kind: str
    message: str
    severity: str = "error"
    sheet: str | None = None
    cell: str | None = None
    name: str | None = None
    formula: str | None = None
    expected: Any = None
    actual: Any = None

    def where(self) -> str:
        if not self.sheet:
            return ""
        text = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        return f"{text} ({self.name})" if self.name else text


@dataclass
class Result:
    """The outcome of one verification."""

    workbook: str
    engine: str
    engine_choice: str = ""
    formulas: int = 0
    names: int = 0
    inputs: int = 0
    changed_inputs: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    engine_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        for finding in out["findings"]:
            for key in ("expected", "actual"):
                finding[key] = _jsonable(finding[key])
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, NA):
        return "#N/A"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# ---------------------------------------------------------------------------
# Reading the workbook


@dataclass
class Workbook:
    """What verify needs from a workbook file, read once."""

    path: Path
    built: Book
    cells: dict[str, dict[tuple[int, int], Any]]
    #: Workbook-wide defined names, lower case -> reference as stored ('$'
    #: kept); of a name given twice, the first, which spreadsheets use.
    names: dict[str, str]
    #: Every ``<definedName>`` in file order, sheet-level ones and repeats too.
    defined: list[DefinedName] = field(default_factory=list)
    charts: list[ChartRefs] = field(default_factory=list)
    #: Sheet -> {(row, col): number format} of cells whose format hides
    #: their number (see :func:`generator.xlsxread.format_hides`).
    hiding: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)
    #: The format of its formulas (see ``layout.WORKBOOK_FORMAT``).
    format: int = WORKBOOK_FORMAT


def _renamed_metadata(workbook: Any, titles: list[str]) -> str | None:
    """The title of a sheet that holds infercost's mark where the metadata
    sheet does (cell A2), or None: the metadata sheet, renamed."""
    for title in titles:
        rows = workbook[title].iter_rows(
            min_row=2, max_row=2, max_col=1, values_only=True
        )
        if next(rows, (None,))[0] in READABLE_MARKS.values():
            return title
    return None


def read_workbook(
    path: Path, on_recognised: Callable[[], None] | None = None
) -> Workbook:
    """Read an infercost workbook; InputError (exit 2) if it is not one.

    ``on_recognised`` is called once the file has passed the safety checks
    and its metadata sheet says infercost made it, before the (slow) loading
    of the book that sheet holds and the reading of every cell: verify
    starts the engine there, so both run at once.
    """
    wb = open_workbook(path)
    try:
        titles = worksheet_titles(wb)
        if METADATA not in titles:
            renamed = _renamed_metadata(wb, titles)
            if renamed is not None:
                raise InputError(
                    f"the infercost metadata sheet {METADATA!r} looks renamed to "
                    f"{renamed!r} (it holds the pricebook the workbook was built "
                    f"from); rename it back to {METADATA!r}",
                    file=str(path),
                )
            raise InputError(
                "an xlsx workbook not made by infercost (it has no infercost "
                "metadata sheet); build one with 'infercost build'",
                file=str(path),
            )
        meta = sheet_cells(wb, METADATA)
        formats = {mark: number for number, mark in READABLE_MARKS.items()}
        workbook_format = formats.get(meta.get((1, 0)))
        if workbook_format is None:
            raise InputError(
                f"unknown infercost workbook format "
                f"{meta.get((1, 0))!r}; expected {WORKBOOK_MARK!r}",
                file=str(path),
            )
        # The chunk count is read from the file: bound it by the rows there.
        present = max((r for r, c in meta if c == 0), default=0) - 2
        try:
            count = int(meta.get((2, 0), "0"))
        except (TypeError, ValueError):
            count = -1
        if not 1 <= count <= max(present, 0):
            raise InputError(
                f"the infercost metadata sheet is damaged (it gives "
                f"{str(meta.get((2, 0)))[:40]!r} parts of text, "
                f"{max(present, 0):,} are there); rebuild the workbook",
                file=str(path),
            )
        if on_recognised is not None:
            on_recognised()
        text = "".join(str(meta.get((3 + i, 0), "")) for i in range(count))
        built = load_book_text(text, f"{path} (metadata sheet)")
        package = read_package(path)
        hiding: dict[str, dict[tuple[int, int], str]] = {}
        cells = {
            title: sheet_cells(wb, title, hiding.setdefault(title, {}))
            for title in titles
            if title != METADATA
        }
    finally:
        wb.close()
    names: dict[str, str] = {}
    for defined in package.names:
        if defined.scope is None:
            names.setdefault(defined.name.lower(), normal_ref(defined.ref))
    return Workbook(
        path,
        built,
        cells,
        names,
        package.names,
        package.charts,
        hiding,
        workbook_format,
    )


def normal_ref(text: str) -> str:
    """A reference as stored, without '=' and needless quotes; '$' kept."""
    if "'" not in text and not text.startswith(("=", " ")):
        return text.rstrip()
    text = text.strip().lstrip("=")
    return re.sub(r"'([A-Za-z_][A-Za-z0-9_.]*)'!", r"\1!", text)


# ---------------------------------------------------------------------------
# Inputs: apply what the workbook's input cells hold to the book it was built from


def read_inputs(
    workbook: Workbook, plan: Plan, misplaced: set[str] | frozenset[str] = frozenset()
) -> tuple[Book, list[Finding], list[str]]:
    """The built book with every input replaced by the workbook's current value.

    Providers in ``misplaced`` (not in the row they were built in) keep their
    built values: their row holds another provider's, or nothing.
    """
    book = workbook.built
    scen = {s.id: replace(s) for s in book.scenarios}
    prov = {p.id: replace(p) for p in book.providers}
    shares = list(book.input_shares)
    factors = list(book.volume_factors)
    top: dict[str, Any] = {}
    findings: list[Finding] = []
    changed: list[str] = []
    rules = _validations(plan)
    read: dict[tuple[Any, ...], tuple[str, int, int, Cell, Any]] = {}
    for title, row, col, cell in plan.inputs():
        key = cell.key
        if key is None or (key[0] == "provider" and key[1] in misplaced):
            continue
        raw = workbook.cells.get(title, {}).get((row, col))
        value, problem = _input_value(raw, key)
        if problem is None and value is not None:
            for rule in rules.get((title, col), ()):
                if rule.first_row <= row <= rule.last_row:
                    problem = _breaks(rule.options, value, raw)
                    if problem:
                        break
        if problem:
            findings.append(_input_finding(title, row, col, cell, problem, raw))
            continue
        read[key] = (title, row, col, cell, raw)
        label = cell.name or ".".join(str(k) for k in key)
        if as_saved(value) == as_saved(cell.value):
            value = cell.value  # a save keeps 15 or 16 digits; the built value had 17
        else:
            changed.append(f"{label}: {_show(cell.value)} -> {_show(value)}")
        if key[0] == "scenario":
            setattr(scen[key[1]], key[2], value)
        elif key[0] == "provider":
            setattr(prov[key[1]], key[2], value)
        elif key[0] == "input_shares":
            shares[key[1]] = value
        elif key[0] == "volume_factors":
            factors[key[1]] = value
        elif key[0] == "book":
            top[key[1]] = value
    low = top.get("crossover_min_tokens", book.crossover_min_tokens)
    high = top.get("crossover_max_tokens", book.crossover_max_tokens)
    upper = read.get(("book", "crossover_max_tokens"))
    if upper is not None and ("book", "crossover_min_tokens") in read and low >= high:
        title, row, col, cell, raw = upper
        findings.append(
            _input_finding(
                title,
                row,
                col,
                cell,
                f"expected a volume above crossover_min_tokens ({_show(low)}), "
                f"got {raw!r}",
                raw,
            )
        )
    edited = replace(
        book,
        scenarios=[scen[s.id] for s in book.scenarios],
        providers=[prov[p.id] for p in book.providers],
        input_shares=shares,
        volume_factors=factors,
        forecast_columns=book.forecast_columns or book.forecast_months,
        **top,
    )
    return edited, findings, changed


OPTIONAL_INPUTS = {
    "min_quality_tier",
    "min_sla",
    "max_latency_ms",
    "quality_tier",
    "sla",
    "latency_ms",
}
#: The pricebook's rule for each input that is not a field of a provider or
#: a scenario: the sensitivity grids and the book-wide inputs.
_GRID_RULES = {"input_shares": SHARE, "volume_factors": number(0, 1e6, above=True)}
_BOOK_RULES = {
    "forecast_months": FORECAST_SPEC["months"][0],
    "crossover_min_tokens": CROSSOVER_SPEC["min_tokens"][0],
    "crossover_max_tokens": CROSSOVER_SPEC["max_tokens"][0],
}
#: Where a pricebook rule's complaint would point: nowhere (the finding names
#: the cell instead).
_NOWHERE = Source("")


def _input_rule(key: tuple[Any, ...]) -> Any:
    """The pricebook's checker for input ``key``: the rule the YAML obeys."""
    if key[0] == "scenario":
        return SCENARIO_SPEC[key[2]][0]
    if key[0] == "provider":
        return PROVIDER_SPEC[key[2]][0]
    if key[0] == "book":
        return _BOOK_RULES[key[1]]
    return _GRID_RULES[key[0]]


def _input_value(raw: Any, key: tuple[Any, ...]) -> tuple[Any, str | None]:
    """An input cell's value, or why it breaks the pricebook's rule for it."""
    field_name = key[-1] if isinstance(key[-1], str) else key[0]
    if raw is None or raw == "":
        if field_name in OPTIONAL_INPUTS:
            return None, None
        return None, "is empty; expected a number"
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None, f"expected a number, got {raw!r}"
    value = float(raw)
    if not math.isfinite(value):
        return None, f"expected a finite number, got {raw!r}"
    try:
        whole = value.is_integer() and abs(value) < 2**53
        checked = _input_rule(key)(int(value) if whole else value, _NOWHERE, ())
    except InputError as exc:
        return None, exc.problem
    return checked, None


def _validations(plan: Plan) -> dict[tuple[str, int], list[Validation]]:
    """The data validations of ``plan``, by the (sheet, column) they cover."""
    out: dict[tuple[str, int], list[Validation]] = {}
    for sheet in plan.sheets:
        for rule in sheet.validations:
            for col in range(rule.first_col, rule.last_col + 1):
                out.setdefault((sheet.title, col), []).append(rule)
    return out


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _breaks(options: dict[str, Any], value: float, raw: Any) -> str | None:
    """Why ``value`` breaks the cell's data validation ``options``, or None.

    The workbook's own rule for the cell, which a spreadsheet enforces when
    the value is typed (not when it is pasted): no more forecast months than
    the Forecast sheet has columns, a tier from 1 to 5.
    """
    ok = not (options.get("validate") == "integer" and value != int(value))
    criteria = options.get("criteria")
    low, high = options.get("minimum"), options.get("maximum")
    bound = options.get("value")
    numbers = all(isinstance(v, (int, float)) for v in (low, high))
    if criteria == "between" and numbers:
        ok = ok and low <= value <= high
    elif criteria == "not between" and numbers:
        ok = ok and not low <= value <= high
    elif criteria in _COMPARE and isinstance(bound, (int, float)):
        ok = ok and _COMPARE[criteria](value, bound)
    if ok:
        return None
    rule = options.get("input_message") or options.get("error_message") or ""
    return f"got {raw!r}, which the cell's validation refuses ({rule})"


def _input_finding(
    title: str, row: int, col: int, cell: Cell, problem: str, raw: Any
) -> Finding:
    label = cell.name or ".".join(str(k) for k in cell.key or ())
    return Finding(
        "input",
        f"input {label}: {problem}",
        "error",
        title,
        a1(row, col),
        cell.name,
        None,
        cell.value,
        raw,
    )


#: Significant digits of a number that survive a save: XlsxWriter writes 16,
#: LibreOffice 15 (0.1142857142857143 comes back as 0.114285714285714), and
#: Excel takes no more than 15 from a user. An input that agrees with the
#: value infercost wrote to this many digits is unchanged.
SAVED_DIGITS = 15


def as_saved(value: Any) -> Any:
    """A number as every spreadsheet keeps it: :data:`SAVED_DIGITS` digits."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SAVED_DIGITS}g}")
    return value


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, float):
        return f"{value:.{SAVED_DIGITS}g}"  # enough to tell two saved values apart
    return str(value)


# ---------------------------------------------------------------------------
# Structure


#: Spellings of one function that engines write back for the one we wrote.
#: Gnumeric saves RANK as RANK.EQ, which computes the same.
FUNCTION_ALIASES = {"RANK.EQ": "RANK"}
#: A formula's string literals and quoted sheet names: left as they are.
_QUOTED = re.compile(r"(\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*')")
#: A number literal (not a row number of a reference such as A1, $A$1 or 1:3).
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.$:!])(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:E[+-]?[0-9]+)?"
    r"(?![A-Za-z0-9_.(:$!])"
)
_ALIAS = re.compile(
    r"(?<![A-Z0-9_.])(" + "|".join(map(re.escape, FUNCTION_ALIASES)) + r")\("
)


#: A string literal or quoted sheet name (kept), or a run of white space.
_SPACE = re.compile(r"(\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*')|\s+")
#: White space between a character of these and one of _OPERAND_START is
#: Excel's intersection operator (``input_share _standard``), not layout.
_OPERAND_END = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$)'\"]!#?%"
)
_OPERAND_START = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$('\"#[\\"
)


def _space(text: str, start: int, end: int) -> str:
    """The white space text[start:end]: one space if it is an operator, else ''."""
    if (
        start > 0
        and end < len(text)
        and text[start - 1] in _OPERAND_END
        and text[end] in _OPERAND_START
    ):
        return " "
    return ""


def normal_formula(text: str) -> str:
    """A formula in a canonical spelling, for comparing what a file holds.

    What an engine may change when it saves the file, and this absorbs: the
    leading '=', ``_xlfn.``/``_xlws.`` prefixes, white space around operators,
    parentheses and commas (between two operands it is the intersection
    operator and counts, as one space), letter case
    (outside string literals), quotes around a sheet name that needs none,
    the spelling of a number (``0.000001`` and ``1.00000000000000000004e-06``
    are one number), and the names in :data:`FUNCTION_ALIASES`. Nothing else:
    references (``$`` included), operators, functions, names and string
    literals must stay as written.
    """
    text = text[1:] if text.startswith("=") else text
    text = _SPACE.sub(lambda m: m.group(1) or _space(text, m.start(), m.end()), text)
    out = []
    for i, part in enumerate(_QUOTED.split(text)):
        if i % 2:
            if part.startswith("'"):
                bare = part[1:-1]
                part = bare if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", bare) else part
                part = part.upper()
            out.append(part)
            continue
        part = part.upper()
        part = part.replace("_XLFN.", "").replace("_XLWS.", "")
        part = _ALIAS.sub(lambda m: FUNCTION_ALIASES[m.group(1)] + "(", part)
        part = _NUMBER.sub(lambda m: repr(float(m.group(0))), part)
        out.append(part)
    return "".join(out)


def check_renamed_sheets(workbook: Workbook, plan: Plan) -> list[Finding]:
    """A finding for each sheet of ``plan`` that the workbook holds under
    another name: renamed, or two names swapped.

    infercost finds its sheets by name, so a renamed sheet reads as a missing
    one, and every formula that refers to it as changed (a spreadsheet
    rewrites the references when a sheet is renamed). A sheet is known by
    its heading (cell A1, which names the sheet): the sheet whose heading is
    another sheet's is that sheet. A missing sheet whose heading is nowhere
    is guessed from its place among sheets infercost did not write. None
    when every sheet is where it belongs, or missing with no sheet in its
    stead (a deleted sheet is reported cell by cell).
    """
    headings = {title: cells.get((0, 0)) for title, cells in workbook.cells.items()}
    expected = [sheet for sheet in plan.sheets if sheet.title != METADATA]
    titles = list(workbook.cells)
    extra = [t for t in titles if t not in {sheet.title for sheet in expected}]
    findings = []
    for place, sheet in enumerate(expected):
        label = sheet.cells.get((0, 0))
        heading = label.value if label is not None else None
        if sheet.title in headings and headings[sheet.title] == heading:
            continue
        holders = [
            t
            for t, h in headings.items()
            if t != sheet.title and heading and h == heading
        ]
        if holders:
            hint = f"it looks renamed to {holders[0]!r}"
        elif sheet.title in headings or not extra:
            continue  # an edited heading, or a deleted sheet: reported as such
        elif place < len(titles) and titles[place] in extra:
            hint = f"it looks renamed to {titles[place]!r}"
        else:
            hint = "the workbook has sheets infercost did not write: " + ", ".join(
                repr(t) for t in extra
            )
        if sheet.title in headings:
            hint += f"; the sheet called {sheet.title!r} is another one"
        findings.append(
            Finding(
                "structure",
                f"sheet is missing ({hint}); infercost finds its sheets by name: "
                f"rename it back to {sheet.title!r}",
                "error",
                sheet.title,
            )
        )
    return findings


def check_inputs_rows(workbook: Workbook, plan: Plan) -> list[Finding]:
    """Is every heading of the Inputs sheet where it was built?

    Inputs are read by position; a row or column inserted, deleted or moved
    on the Inputs sheet would make every value below it read as another
    input. Returns one finding, at the first heading out of place, or none.
    """
    from .plan import LABEL

    cells = workbook.cells.get(INPUTS, {})
    for (row, col), cell in sorted(plan.sheet(INPUTS).cells.items()):
        if cell.kind != LABEL or col > 1:
            continue
        found = cells.get((row, col))
        want = cell.value or None
        if (found or None) != want:
            return [
                Finding(
                    "structure",
                    f"expected {want!r} here, found {found!r}: a row or column of "
                    "the Inputs sheet was inserted, deleted or moved, so its "
                    "inputs cannot be read; undo that change (edit values only)",
                    "error",
                    INPUTS,
                    a1(row, col),
                    None,
                    None,
                    want,
                    found,
                )
            ]
    return []


def check_pricebook_rows(workbook: Workbook) -> tuple[list[Finding], set[str]]:
    """Is every provider still in the row it was built in?

    Returns the findings and the ids of the providers not found in their row
    (a row deleted, inserted or moved): their inputs cannot be read from it.
    """
    findings: list[Finding] = []
    misplaced: set[str] = set()
    pb_cells = workbook.cells.get(PRICEBOOK, {})
    for i, p in enumerate(workbook.built.providers):
        row = PB_FIRST + i
        found = pb_cells.get((row, PB_COL["id"]))
        if found != p.id:
            misplaced.add(p.id)
            elsewhere = [
                r for (r, c), v in pb_cells.items() if c == PB_COL["id"] and v == p.id
            ]
            if elsewhere:
                how = f"it is in row {elsewhere[0] + 1} (a row inserted or moved?)"
            else:
                how = "it is not in the pricebook any more (a row deleted?)"
            findings.append(
                Finding(
                    "structure",
                    f"expected provider '{p.id}' in this row, found {found!r}; {how}",
                    "error",
                    PRICEBOOK,
                    a1(row, PB_COL["id"]),
                    None,
                    None,
                    p.id,
                    found,
                )
            )
    after = PB_FIRST + len(workbook.built.providers)
    below = sorted(
        (r, v)
        for (r, c), v in pb_cells.items()
        if c == PB_COL["id"] and r >= after and v not in (None, "")
    )
    if below and not findings:
        after, extra = below[0]
        findings.append(
            Finding(
                "structure",
                f"unexpected row {extra!r} below the pricebook (rows added "
                "in the workbook are not part of the model; add them to the pricebook "
                "YAML and rebuild)",
                "error",
                PRICEBOOK,
                a1(after, PB_COL["id"]),
                None,
                None,
                None,
                extra,
            )
        )
    return findings, misplaced


def check_structure(workbook: Workbook, plan: Plan) -> tuple[list[Finding], int]:
    """Compare every formula and defined name with ``plan``; flag functions.

    Returns the findings and how many formulas and names were checked.
    Cells the plan does not know (extra sheets, notes a user added) are not
    compared; only their functions are checked, as a warning.
    """
    findings: list[Finding] = []
    checked = 0
    for sheet in plan.sheets:
        if sheet.title == METADATA:
            continue
        cells = workbook.cells.get(sheet.title)
        if cells is None:
            findings.append(
                Finding("structure", "sheet is missing", "error", sheet.title)
            )
            continue
        for (row, col), cell in sheet.cells.items():
            if cell.kind != FORMULA:
                continue
            checked += 1
            found = cells.get((row, col))
            expected = "=" + cell.formula
            formula = is_formula(found)
            if formula and (
                found == expected or normal_formula(found) == normal_formula(expected)
            ):
                continue
            if formula:
                kind, message = "formula", "formula differs from the model's"
            elif found is None:
                kind, message = "missing", "formula is missing (empty cell)"
            else:
                kind, message = "hard-coded", "a typed value where a formula belongs"
            findings.append(
                Finding(
                    kind,
                    message,
                    "error",
                    sheet.title,
                    a1(row, col),
                    cell.name,
                    expected,
                    expected,
                    found,
                )
            )
    names, expected_names = check_names(workbook, plan)
    findings += names
    # Functions outside the compatibility list, anywhere in the workbook:
    # looked for cell by cell only on a sheet that has one.
    for title, cells in workbook.cells.items():
        calls = [
            (where, value)
            for where, value in cells.items()
            if is_formula(value) and "(" in value
        ]
        if _all_functions(value for _, value in calls) <= COMPATIBLE:
            continue
        for (row, col), value in calls:
            for fn in _functions(value):
                if fn not in COMPATIBLE:
                    findings.append(
                        Finding(
                            "function",
                            f"function {fn} is not available in all of "
                            "Excel 2016, LibreOffice 7.4 and Google Sheets (or is "
                            "volatile)",
                            "warning",
                            title,
                            a1(row, col),
                            None,
                            value,
                        )
                    )
    return findings, checked + expected_names


#: A label that says when and by which version the workbook was built: the
#: metadata sheet does not keep it, so only its form is compared.
_BUILT_BY = re.compile(r"Built by infercost \S+ on \d{4}-\d{2}-\d{2}\.")


def check_labels(
    workbook: Workbook,
    plans: Sequence[Plan],
    skip_rows: set[tuple[str, int]] | frozenset[tuple[str, int]] = frozenset(),
    skip_sheets: set[str] | frozenset[str] = frozenset(),
) -> list[Finding]:
    """Compare every text label of ``plans[0]`` with the workbook's cell.

    Labels are part of what the workbook says: formulas read some of them
    (the pricing kind on Costs, provider labels), and the others tell a
    reader which number is which (a scenario's name beside its cost, a
    unit). A changed label is an error. Labels are written at build time, so
    a label may be the one of any of ``plans``: the plan as built (an input
    edited later changes no text) or the plan of the inputs as they stand
    (a workbook built with ``--keep-inputs`` was written with the inputs it
    carried, which its metadata does not keep). Two labels record how the
    workbook was built (from which files, when, by which version), which the
    metadata does not keep either: only the text around those is compared.
    ``skip_rows`` holds (sheet, row) and ``skip_sheets`` sheets whose rows
    are reported as moved (their labels are another row's).
    """
    from .layout import shown_path
    from .plan import LABEL

    files = ", ".join(shown_path(f) for f in workbook.built.files)
    others = [{sheet.title: sheet for sheet in plan.sheets} for plan in plans[1:]]
    findings: list[Finding] = []
    for sheet in plans[0].sheets:
        if sheet.title == METADATA or sheet.title in skip_sheets:
            continue
        cells = workbook.cells.get(sheet.title)
        if cells is None:
            continue  # reported as a missing sheet
        for (row, col), cell in sheet.cells.items():
            if cell.kind != LABEL:
                continue
            want = cell.value
            found = cells.get((row, col))
            if _same_label(want, found, files) or (sheet.title, row) in skip_rows:
                continue
            if any(
                (other := sheets.get(sheet.title)) is not None
                and (alt := other.cells.get((row, col))) is not None
                and alt.kind == LABEL
                and _same_label(alt.value, found, files)
                for sheets in others
            ):
                continue
            findings.append(
                Finding(
                    "label",
                    f"label changed: expected {_show_label(want)}, found "
                    f"{_show_label(found)}",
                    "error",
                    sheet.title,
                    a1(row, col),
                    None,
                    None,
                    want,
                    found,
                )
            )
    return findings


def _same_label(want: Any, found: Any, files: str) -> bool:
    if is_formula(found):
        return False
    if found == want:
        return True
    if (want is None or want == "") and (found is None or found == ""):
        return True
    return (
        isinstance(want, str)
        and isinstance(found, str)
        and _provenance(want, found, files)
    )


def _provenance(want: str, found: str, files: str) -> bool:
    """Whether ``found`` is label ``want`` as written at another build."""
    if files and files in want:
        head, _, tail = want.partition(files)
        return (
            found.startswith(head)
            and found.endswith(tail)
            and len(found) >= len(head) + len(tail)
        )
    return bool(_BUILT_BY.fullmatch(want) and _BUILT_BY.fullmatch(found))


def _show_label(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    text = str(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def check_charts(workbook: Workbook, plans: Sequence[Plan]) -> list[Finding]:
    """Does every chart of ``plans[0]`` still draw what it was built to draw?

    A chart is found on its sheet by its title (else, in order, among the
    sheet's charts whose title is none of the model's); each series' name
    (``c:tx``), categories or x values, and values or y values must be the
    plan's references. A changed title and a changed, missing or added series
    are errors naming the chart's title; a missing chart is a warning (it
    shows no wrong number, and openpyxl drops every chart). As with labels
    (:func:`check_labels`), the chart of any of ``plans`` is accepted: which
    rows a chart draws and its title are chosen at build time. Charts a
    user added are not compared.
    """
    first = plans[0].charts
    choices = [
        [plan.charts[i] for plan in plans if len(plan.charts) == len(first)]
        for i in range(len(first))
    ]
    by_sheet: dict[str, list[ChartRefs]] = {}
    for chart in workbook.charts:
        by_sheet.setdefault(chart.sheet, []).append(chart)
    titles = {(c.sheet, _squash(_chart_title(c))) for cs in choices for c in cs}
    matched: list[ChartRefs | None] = []
    for chart, charts in zip(first, choices, strict=True):
        names = {_squash(_chart_title(c)) for c in charts}
        pool = by_sheet.get(chart.sheet, [])
        same = next((c for c in pool if _squash(c.title) in names), None)
        if same is not None:
            pool.remove(same)
        matched.append(same)
    for i, chart in enumerate(first):
        pool = [
            c
            for c in by_sheet.get(chart.sheet, [])
            if (c.sheet, _squash(c.title)) not in titles
        ]
        if matched[i] is None and pool:
            matched[i] = pool[0]
            by_sheet[chart.sheet].remove(pool[0])
    findings: list[Finding] = []
    for chart, charts, found in zip(first, choices, matched, strict=True):
        title = _chart_title(chart)
        if found is None:
            findings.append(
                Finding(
                    "chart",
                    f"chart {title!r} is missing (deleted, or saved by a program "
                    "that drops charts)",
                    "warning",
                    chart.sheet,
                    chart.anchor,
                    None,
                    None,
                    title,
                    None,
                )
            )
            continue
        tried = [_chart_problems(c, found) for c in charts]
        problems = [] if [] in tried else tried[0]
        if problems:
            more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
            findings.append(
                Finding(
                    "chart",
                    f"chart {title!r} differs from the model's: "
                    + "; ".join(problems[:5])
                    + more,
                    "error",
                    chart.sheet,
                    chart.anchor,
                    None,
                    None,
                    title,
                    found.title,
                )
            )
    return findings


def _chart_problems(chart: Any, found: ChartRefs) -> list[str]:
    """How chart ``found`` of the workbook differs from plan chart ``chart``."""
    problems = []
    title = _chart_title(chart)
    if _squash(found.title) != _squash(title):
        problems.append(f"its title is {found.title!r}")
    expected = [_series_refs(chart, series) for series in chart.series]
    for k, want in enumerate(expected):
        if k >= len(found.series):
            problems.append(f"series {k + 1} is missing")
            continue
        got = found.series[k]
        for tag in sorted(set(want) | set(got), key=_SERIES_ORDER.index):
            if not _same_ref(want.get(tag), got.get(tag)):
                problems.append(
                    f"series {k + 1} {_SERIES_WHAT[tag]} reads "
                    f"{got.get(tag) or '(nothing)'}, expected "
                    f"{want.get(tag) or '(nothing)'}"
                )
    if len(found.series) > len(expected):
        added = found.series[len(expected)]
        problems.append(
            f"{len(found.series) - len(expected)} series added (reading "
            f"{', '.join(v for v in added.values() if v) or 'typed data'})"
        )
    return problems


_SERIES_ORDER = ["tx", "cat", "xVal", "val", "yVal"]
_SERIES_WHAT = {
    "tx": "name",
    "cat": "categories",
    "xVal": "x values",
    "val": "values",
    "yVal": "y values",
}


def _squash(text: str) -> str:
    return " ".join(text.split())


def _chart_title(chart: Any) -> str:
    title = chart.options.get("set_title") or {}
    name = title.get("name") if isinstance(title, dict) else None
    return name if isinstance(name, str) else ""


#: A series name XlsxWriter takes for a reference, not text (its own rule).
_NAME_REF = re.compile(r"^=?[^!]+!\$?[A-Z]+\$?\d+")


def _series_refs(chart: Any, series: dict[str, Any]) -> dict[str, str]:
    """What a plan series reads, in the form :class:`ChartRefs` gives it."""
    scatter = chart.type.get("type") == "scatter"
    out: dict[str, str] = {}
    for key, tag in (
        ("name", "tx"),
        ("categories", "xVal" if scatter else "cat"),
        ("values", "yVal" if scatter else "val"),
    ):
        value = series.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            title, row, col = value[0], value[1], value[2]
            last_row, last_col = (value[3], value[4]) if len(value) == 5 else (row, col)
            text = ref(title, row, col, True, True)
            if (last_row, last_col) != (row, col):
                text += ":" + a1(last_row, last_col, True, True)
            out[tag] = text
        elif key != "name" or _NAME_REF.match(str(value)):
            out[tag] = str(value).removeprefix("=")
        else:
            out[tag] = '"' + str(value).replace('"', '""') + '"'
    return out


def _same_ref(want: str | None, got: str | None) -> bool:
    if not want or not got:
        return not want and not got
    return normal_formula(want) == normal_formula(got)


def check_formats(workbook: Workbook, plan: Plan) -> list[Finding]:
    """Formula and input cells whose number format hides or scales the number.

    A format is the workbook's to change (decimals, currency, colours), but
    one that shows text instead of the number, nothing, a date, or the number
    divided by a thousand makes the cell say something the model does not.
    """
    from .plan import INPUT
    from .writer import NUMBER_FORMATS

    findings: list[Finding] = []
    for sheet in plan.sheets:
        for (row, col), code in sorted(workbook.hiding.get(sheet.title, {}).items()):
            cell = sheet.cells.get((row, col))
            if cell is None or cell.kind not in (FORMULA, INPUT):
                continue
            want = NUMBER_FORMATS.get(cell.style.partition(":")[2], "General")
            findings.append(
                Finding(
                    "format",
                    f"number format {code!r} does not show the number: "
                    f"{format_hides(code)} (the model's format is {want!r})",
                    "error",
                    sheet.title,
                    a1(row, col),
                    cell.name,
                    None,
                    want,
                    code,
                )
            )
    return findings


#: A name a formula could read as a cell (A1, $B$2, R1C1, R2C): no spreadsheet
#: lets one be defined, but a crafted file may hold one.
_CELL_LIKE = re.compile(r"\$?[A-Z]{1,3}\$?[0-9]+|R[0-9]*C[0-9]*", re.IGNORECASE)


def check_names(workbook: Workbook, plan: Plan) -> tuple[list[Finding], int]:
    """Compare the defined names with ``plan``'s; returns findings and a count.

    Each of the model's names must be defined once, workbook-wide, pointing
    at its cell with the '$' of an absolute reference (a relative name moves
    with the cell that uses it). A name defined twice (spreadsheets use the
    first copy, openpyxl the last), a sheet-level name that shadows one of
    the model's on its sheet, and a name that reads like a cell reference
    are errors: a formula of the model could resolve to them. Other names
    (a user's own, ``_xlnm.`` print settings) are left alone.
    """
    findings: list[Finding] = []
    expected = plan.names()
    ours = {name.lower(): name for name in expected}
    copies: dict[tuple[str, str | None], list[str]] = {}
    for defined in workbook.defined:
        if not defined.name.lower().startswith("_xlnm."):
            key = (defined.name.lower(), defined.scope)
            copies.setdefault(key, []).append(normal_ref(defined.ref))
    for (lower, scope), targets in copies.items():
        mine = ours.get(lower)
        title, row, col = expected[mine] if mine else (scope, None, None)
        name = mine or next(d.name for d in workbook.defined if d.name.lower() == lower)
        on = f" on sheet {scope}" if scope else ""
        problems = []
        if len(targets) > 1:
            problems.append(
                f"defined name {name} is defined {len(targets)} times{on}: "
                f"spreadsheets use the first ({targets[0]}), other readers the "
                f"last ({targets[-1]})"
            )
        if scope is not None and mine:
            problems.append(
                f"sheet-level defined name {name}{on} shadows the workbook's: "
                f"formulas on that sheet read {targets[0]} instead"
            )
        if _CELL_LIKE.fullmatch(lower) or lower in ("true", "false"):
            problems.append(
                f"defined name {name} reads like a cell reference or a value "
                f"(it points to {targets[0]}); no spreadsheet allows it"
            )
        for problem in problems:
            findings.append(
                Finding(
                    "name",
                    problem,
                    "error",
                    title,
                    a1(row, col) if row is not None and col is not None else None,
                    name,
                    None,
                    None,
                    targets[0],
                )
            )
    for name, (title, row, col) in expected.items():
        want = normal_ref(ref(title, row, col, True, True))
        got = workbook.names.get(name.lower())
        if got is None:
            findings.append(
                Finding(
                    "name",
                    f"defined name {name} is missing",
                    "error",
                    title,
                    a1(row, col),
                    name,
                    None,
                    want,
                    None,
                )
            )
        elif got.lower() != want.lower():
            how = (
                " (a relative reference: it moves with the cell that uses it)"
                if got.replace("$", "").lower() == want.replace("$", "").lower()
                else ""
            )
            findings.append(
                Finding(
                    "name",
                    f"defined name {name} points to {got}, expected {want}{how}",
                    "error",
                    title,
                    a1(row, col),
                    name,
                    None,
                    want,
                    got,
                )
            )
    return findings, len(expected)


#: A string literal of a formula.
_STRING = re.compile(r'"(?:[^"]|"")*"')


def _functions(formula: str) -> set[str]:
    """The functions ``formula`` calls, upper case, prefixes and aliases undone."""
    return _function_names(FUNCTION_RE.findall(_STRING.sub('""', formula.upper())))


def _all_functions(formulas: Iterable[str]) -> set[str]:
    """The union of :func:`_functions` of ``formulas``, in one scan.

    String literals are blanked formula by formula; the formulas are then
    joined by a line break, which ends a name before it and lets one start
    after it as the ends of a formula do (no name holds one).
    """
    text = "\n".join(_STRING.sub('""', f) if '"' in f else f for f in formulas)
    return _function_names(set(FUNCTION_RE.findall(text.upper())))


def _function_names(called: Iterable[str]) -> set[str]:
    found = set()
    for fn in called:
        while fn.startswith(("_XLFN.", "_XLWS.")):
            fn = fn[6:]
        found.add(FUNCTION_ALIASES.get(fn, fn))
    return found


# ---------------------------------------------------------------------------
# Values


class Recalculation:
    """A recalculation by a real engine, running while verify reads the file.

    The engine works on a copy to which verify adds a formula of its own, on
    the metadata sheet, with a deliberately wrong cached result
    (:data:`CANARY_VALUE`). If the engine's result does not hold the
    formula's value, it did not recalculate, and verification stops. The
    canary does not depend on any cell of the workbook, so no edit of the
    workbook (typed values, missing cached values) can stop it from being
    planted.
    """

    def __init__(self, path: Path, engine: str, timeout: float) -> None:
        self.path = path
        self.engine = engine
        self.started = time.perf_counter()
        self._tmp = tempfile.TemporaryDirectory(prefix="infercost-verify-")
        work = Path(self._tmp.name)
        canary = work / "canary.xlsx"
        self.canary = _plant_canary(path, canary)
        self._cancel = threading.Event()
        stopping.register(self._cancel)
        self._reader: SplitRead | None = None
        if _size(path) >= SPLIT_READ_MIN_BYTES and _cores() > 1:
            (work / "read").mkdir()
            self._reader = SplitRead(work / "read")
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(
            self._recalculate, canary, work / "recalculated.xlsx", timeout
        )

    def _recalculate(self, canary: Path, out: Path, timeout: float) -> Path:
        """The engine's run, in its thread; the helper reads as soon as it ends."""
        out = recalculate_to(
            canary, self.engine, out, timeout, label=self.path.name, cancel=self._cancel
        )
        if self._reader is not None:
            self._reader.begin(out)
        return out

    def values(self) -> dict[str, dict[tuple[int, int], Any]]:
        """Wait for the engine; its results (EngineError if it failed)."""
        try:
            try:
                out = self._future.result()
            except BaseException:
                if stopping.STOP.is_set():  # SIGTERM, its SystemExit lost
                    raise SystemExit(STOPPED_STATUS) from None
                raise
            try:
                if self._reader is not None:
                    values = self._reader.values(self._cancel)
                else:
                    values = read_cell_values(out)
            except Cancelled:  # SIGTERM while waiting for the helper
                raise SystemExit(STOPPED_STATUS) from None
            except Exception as exc:  # openpyxl raises many types on a bad package
                raise EngineError(
                    f"{self.engine} wrote an unreadable workbook for "
                    f"{self.path.name}: {type(exc).__name__}: {exc}"
                ) from None
        finally:
            self.close()
        title, row, col = self.canary
        got = values.get(title, {}).get((row, col))
        if not (
            isinstance(got, (int, float))
            and not isinstance(got, bool)
            and got == CANARY_RESULT
        ):
            raise EngineError(
                f"{self.engine} did not recalculate {self.path.name}: the canary "
                f"cell {title}!{a1(row, col)} (={CANARY_FORMULA}) holds "
                f"{_show_value(got)}, not {CANARY_RESULT}"
            )
        return values

    def close(self) -> None:
        """Stop the engine if it still runs (verify failed or was interrupted)."""
        if not self._future.done():
            self._cancel.set()
        self._pool.shutdown(wait=True)
        if self._reader is not None:
            self._reader.close()
        stopping.unregister(self._cancel)
        self._tmp.cleanup()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _plant_canary(src: Path, dest: Path) -> tuple[str, int, int]:
    """Copy ``src`` to ``dest`` with the canary formula added; its (title, row, col).

    The canary is a new row below the last of the metadata sheet:
    ``=CANARY_FORMULA`` with the cached result :data:`CANARY_VALUE`. Only
    the engine reads the copy: it is compressed at the fastest level, in
    half the time of the default (verify waits for it before the engine
    starts).
    """
    with zipfile.ZipFile(src) as package:
        part = _sheet_part(package, METADATA)
        text = package.read(part).decode("utf-8")
        close = re.search(
            r"<(?:([A-Za-z_][\w.-]*):)?sheetData\s*/>|</(?:([A-Za-z_][\w.-]*):)?sheetData>",
            text,
        )
        if close is None:
            raise EngineError(
                f"cannot plant the recalculation canary in {src.name}: "
                f"its {METADATA} sheet has no cell data"
            )
        prefix = close.group(1) or close.group(2)
        p = f"{prefix}:" if prefix else ""
        rows = [
            int(n) for n in re.findall(r'<(?:[\w.-]+:)?row\s[^>]*?\br="([0-9]+)"', text)
        ]
        row = max(rows, default=0) + 1
        cell = f"A{row}"
        planted = (
            f'<{p}row r="{row}"><{p}c r="{cell}"><{p}f>{CANARY_FORMULA}</{p}f>'
            f"<{p}v>{CANARY_VALUE}</{p}v></{p}c></{p}row>"
        )
        if close.group(0).endswith("/>"):
            planted = f"<{p}sheetData>{planted}</{p}sheetData>"
            text = text[: close.start()] + planted + text[close.end() :]
        else:
            text = text[: close.start()] + planted + text[close.start() :]
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for item in package.infolist():
                data = package.read(item.filename)
                if item.filename == part:
                    data = text.encode("utf-8")
                out.writestr(item.filename, data)
    return METADATA, row - 1, 0


def _sheet_part(package: zipfile.ZipFile, title: str) -> str:
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    # The defined names, most of the part, hold no sheet: left unparsed.
    root = ElementTree.fromstring(
        without_defined_names(package.read("xl/workbook.xml"))
    )
    rid = None
    for sheet in root.iterfind("m:sheets/m:sheet", ns):
        if sheet.get("name") == title:
            rid = sheet.get(f"{{{ns['r']}}}id")
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise EngineError(f"no sheet {title!r} in the workbook package")


def same_value(expected: Any, actual: Any, tolerance: float) -> bool:
    if isinstance(expected, NA):
        return actual == "#N/A"
    if expected is None or expected == "":
        return actual is None or actual == ""
    if isinstance(expected, bool):
        if isinstance(actual, bool):
            return actual == expected
        return isinstance(actual, (int, float)) and bool(actual) == expected
    if isinstance(expected, (int, float)):
        return (
            isinstance(actual, (int, float))
            and not isinstance(actual, bool)
            and math.isclose(actual, expected, rel_tol=tolerance, abs_tol=ABS_TOLERANCE)
        )
    return actual == expected


def check_values(
    plan: Plan,
    values: dict[str, dict[tuple[int, int], Any]],
    engine: str,
    tolerance: float,
    kind: str = "value",
    intact: bool = False,
) -> list[Finding]:
    """Compare every formula's value in ``values`` with the model's.

    ``values`` maps each sheet title to ``{(row, col): value}`` (0-based), as
    :func:`generator.engine.read_cell_values` reads them. A difference is a
    mismatch of ``kind`` ("value"; "stale", a warning, for cached values
    behind a recalculating engine). When every formula and
    defined name is the model's (``intact``), ``#NAME?`` can only mean that
    the engine lacks a function: a warning that the cell is not verifiable
    with ``engine``. Any other error value where the model has a result is a
    mismatch (a broken name or a tampered formula gives ``#NAME?`` to every
    cell downstream, so without ``intact`` it is one too).
    """
    findings: list[Finding] = []
    severity = "warning" if kind == "stale" else "error"
    for sheet in plan.sheets:
        got = values.get(sheet.title, {})
        for (row, col), cell in sheet.cells.items():
            if cell.kind != FORMULA:
                continue
            actual = got.get((row, col))
            if same_value(cell.value, actual, tolerance):
                continue
            where = a1(row, col)
            expected = cell.value
            found_kind, found_severity = kind, severity
            message = (
                f"{engine} gives {_show_value(actual)}, the model "
                f"{_show_value(expected)}"
            )
            if kind != "stale" and isinstance(actual, str) and actual.startswith("#"):
                found_kind = "error-value"
                if actual == "#NAME?" and intact:
                    found_kind, found_severity = "unverifiable", "warning"
                    message = (
                        f"not verifiable with {engine}: it gives #NAME? for the "
                        f"model's formula (a function it lacks?); the model gives "
                        f"{_show_value(expected)}"
                    )
            findings.append(
                Finding(
                    found_kind,
                    message,
                    found_severity,
                    sheet.title,
                    where,
                    cell.name,
                    "=" + cell.formula,
                    expected,
                    actual,
                )
            )
    return findings


def _show_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if value is None or value == "":
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


# ---------------------------------------------------------------------------


def choose_engine(engine: str) -> tuple[str, str]:
    """The engine to use for ``engine`` ("auto" picks), and why, for the log."""
    if engine == "auto":
        present = available_engines()
        if present:
            return present[0], (
                f"picked by --engine auto; installed: {', '.join(present)}"
            )
        return "cached", (
            "picked by --engine auto: neither LibreOffice nor Gnumeric is "
            "installed, so the values saved in the file are compared"
        )
    if engine not in ENGINES + ("cached",):
        raise InputError(
            f"unknown engine {engine!r}; expected auto, {', '.join(ENGINES)} or cached"
        )
    return engine, ""


def verify_workbook(
    path: Path,
    engine: str = "auto",
    tolerance: float = DEFAULT_TOLERANCE,
    timeout: float = 600,
) -> Result:
    """Verify ``path`` (see the module docstring); never modifies the file.

    Raises InputError when ``path`` is not an infercost workbook or an option
    is out of range, EngineError when the engine fails; a mismatch is a
    finding in the result, not an exception.
    """

    start = time.perf_counter()
    path = Path(path)
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise InputError(
            f"expected a relative tolerance from 0 to below 1, got {tolerance!r}",
            field="--tolerance",
        )
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise InputError(
            f"expected a number of seconds above 0, got {timeout!r}", field="--timeout"
        )
    engine, why = choose_engine(engine)
    recalculation: list[Recalculation] = []

    def start_engine() -> None:
        if engine != "cached":
            recalculation.append(Recalculation(path, engine, timeout))

    try:
        with few_collections():
            return _verify(
                path, engine, why, tolerance, start_engine, recalculation, start
            )
    finally:
        for running in recalculation:
            running.close()


def _verify(
    path: Path,
    engine: str,
    why: str,
    tolerance: float,
    start_engine: Callable[[], None],
    recalculation: list[Recalculation],
    start: float,
) -> Result:
    try:
        big = path.stat().st_size >= progress.VERIFY_MIN_BYTES
    except OSError:
        big = False
    with progress.bar("verifying", 6, show=big, eta=False) as shown:
        return _verify_steps(
            path, engine, why, tolerance, start_engine, recalculation, start, shown
        )


def _verify_steps(
    path: Path,
    engine: str,
    why: str,
    tolerance: float,
    start_engine: Callable[[], None],
    recalculation: list[Recalculation],
    start: float,
    shown: progress.Bar,
) -> Result:
    from .layout import build_plan

    shown.advance(0, "reading the workbook")
    workbook = read_workbook(path, start_engine)
    shown.advance(1, "recomputing the model")
    if workbook.format != WORKBOOK_FORMAT:
        # Its formulas are an earlier version's: each would be reported.
        return Result(
            str(path),
            engine,
            engine_choice=why,
            findings=[
                Finding(
                    "structure",
                    f"built by an earlier infercost (workbook format "
                    f"{workbook.format}; this version writes {WORKBOOK_FORMAT}), "
                    "whose formulas differ from today's; regenerate it with "
                    "'infercost build PRICEBOOK --keep-inputs WORKBOOK', which "
                    "keeps its edited inputs",
                    "error",
                )
            ],
        )
    as_built = build_plan(workbook.built)
    renamed = check_renamed_sheets(workbook, as_built)
    if renamed:
        # Every formula, name and value of a renamed sheet would be reported
        # again, each as a finding of its own: one line says what to undo.
        return Result(str(path), engine, engine_choice=why, findings=renamed)
    rows, misplaced = check_pricebook_rows(workbook)
    rows += check_inputs_rows(workbook, as_built)
    book, input_findings, changed = read_inputs(workbook, as_built, misplaced)
    if any(f.sheet == INPUTS for f in rows):
        input_findings = [f for f in rows if f.sheet == INPUTS]
        changed = []
    result = Result(str(path), engine, engine_choice=why, changed_inputs=changed)
    result.inputs = len([c for c in as_built.inputs() if c[3].key])
    result.findings += rows + [f for f in input_findings if f not in rows]
    if input_findings or not changed:
        plan = as_built  # the inputs are the ones the workbook was built with
    else:
        try:
            plan = build_plan(replace(book, overrides=_overrides(workbook.built, book)))
        except InputError as exc:
            input_findings.append(
                Finding("input", f"inputs cannot be modelled: {exc.problem}")
            )
            result.findings += input_findings
            plan = as_built
    shown.advance(1, "checking formulas")
    structure, _ = check_structure(workbook, plan)
    result.findings += structure
    index = {p.id: i for i, p in enumerate(workbook.built.providers)}
    moved = {(PRICEBOOK, PB_FIRST + index[pid]) for pid in misplaced}
    moved_sheets = {f.sheet for f in rows if f.sheet == INPUTS}
    # Labels and charts are written at build time: an input edited later
    # changes no text, but one carried by --keep-inputs did (see check_labels).
    plans = [as_built] if plan is as_built else [as_built, plan]
    result.findings += check_labels(workbook, plans, moved, moved_sheets)
    result.findings += check_charts(workbook, plans)
    result.findings += check_formats(workbook, as_built)
    result.formulas = sum(
        1 for s in plan.sheets for c in s.cells.values() if c.kind == FORMULA
    )
    result.names = len(plan.names())
    if not input_findings:
        stale: list[Finding] = []
        if engine == "cached":
            engine_start = time.perf_counter()
            values = read_cell_values(path)
        else:
            engine_start = recalculation[0].started
            shown.advance(1, "reading cached values")
            # Compared while the engine runs; reported after its findings.
            cached = read_cell_values(path)
            stale = check_values(plan, cached, "cached", tolerance, "stale")
            del cached
            shown.advance(1, f"waiting for {engine}")
            values = recalculation[0].values()
        shown.advance(1, "comparing values")
        result.engine_seconds = time.perf_counter() - engine_start
        intact = not any(f.severity == "error" for f in result.findings)
        mismatches = check_values(plan, values, engine, tolerance, intact=intact)
        broken = _line_break(workbook) if engine == "gnumeric" and intact else None
        if broken and mismatches:
            # Gnumeric reads a formula with a line break as text (a #"..." value
            # for it and an error for every cell downstream), where Excel and
            # LibreOffice read white space. The formulas are the model's.
            mismatches = [
                Finding(
                    "unverifiable",
                    f"{len(mismatches):,} results are not verifiable with gnumeric: "
                    "it misreads the line break in this formula (Excel and "
                    "LibreOffice read it as a space); verify with --engine "
                    "libreoffice",
                    "warning",
                    broken[0],
                    broken[1],
                )
            ]
        result.findings += mismatches
        if engine != "cached":
            result.findings += stale
        elif changed and any(f.kind == "value" for f in mismatches):
            result.findings.append(
                Finding(
                    "stale",
                    "inputs differ from the ones the workbook was built with and "
                    "cached values differ from the model: if the file was edited "
                    "without recalculating, verify with --engine libreoffice or "
                    "gnumeric",
                    "warning",
                )
            )
    result.findings.sort(key=lambda f: (f.severity != "error", _kind_order(f.kind)))
    result.seconds = time.perf_counter() - start
    shown.finish()
    return result


def _line_break(workbook: Workbook) -> tuple[str, str] | None:
    """(sheet, A1) of the first formula holding a line break, or None."""
    for title, cells in workbook.cells.items():
        for (row, col), value in cells.items():
            if (
                isinstance(value, str)
                and ("\n" in value or "\r" in value)
                and is_formula(value)
            ):
                return title, a1(row, col)
    return None


def _overrides(built: Book, book: Book) -> dict[tuple[str, str], Any]:
    """Provider inputs of ``book`` that differ from ``built``, as overrides.

    A workbook built with ``--keep-inputs`` marks the prices it carried as
    analyst overrides (a legend and a note on the Pricebook sheet) and keeps
    the pricebook's values in its metadata; a price edited in the workbook
    differs from the metadata in the same way. Either way the plan of the
    current inputs says so; it changes no formula and no value.
    """
    from .layout import PROVIDER_INPUTS

    before = {p.id: p for p in built.providers}
    out: dict[tuple[str, str], Any] = {}
    for p in book.providers:
        old = before.get(p.id)
        for name in PROVIDER_INPUTS if old is not None else ():
            if getattr(p, name) != getattr(old, name):
                out[(p.id, name)] = getattr(old, name)
    return out


def _kind_order(kind: str) -> int:
    order = [
        "structure",
        "input",
        "name",
        "hard-coded",
        "missing",
        "formula",
        "label",
        "chart",
        "format",
        "error-value",
        "value",
        "unverifiable",
        "function",
        "stale",
    ]
    return order.index(kind) if kind in order else len(order)


def render(result: Result, limit: int = 50) -> str:
    """The human summary of ``result``: what was checked, by whom, what failed."""
    how = f"; {result.engine_choice}" if result.engine_choice else ""
    lines = [
        f"verify {result.workbook} with {result.engine}{how} "
        f"({result.seconds:.1f} s, engine {result.engine_seconds:.1f} s)"
    ]
    lines.append(
        f"  read {result.inputs:,} inputs; checked {result.formulas:,} formula "
        f"cells and {result.names:,} defined names against the model"
    )
    if result.changed_inputs:
        lines.append(
            f"  {_count(len(result.changed_inputs), 'input differs', 'inputs differ')}"
            " from the pricebook the workbook was built from (the model uses the "
            "workbook's):"
        )
        lines += [f"    {c}" for c in result.changed_inputs[:20]]
        if len(result.changed_inputs) > 20:
            lines.append(f"    ... and {len(result.changed_inputs) - 20} more")
    errors = [f for f in result.findings if f.severity == "error"]
    stale = [f for f in result.findings if f.kind == "stale" and f.sheet]
    # By identity: comparing findings by value made this quadratic (tens of
    # thousands of stale warnings took ten minutes).
    stale_ids = {id(f) for f in stale}
    warnings = [
        f for f in result.findings if f.severity != "error" and id(f) not in stale_ids
    ]
    for f in errors[:limit]:
        text = (
            f"  MISMATCH {f.where()}: {f.message}"
            if f.where()
            else f"  MISMATCH {f.message}"
        )
        if f.kind in ("formula", "hard-coded", "missing"):
            text += f"; expected {f.expected}, found {f.actual!r}"
        elif f.formula and f.kind in ("value", "error-value"):
            text += f"; formula {f.formula}"
        lines.append(text)
    if len(errors) > limit:
        lines.append(
            f"  ... and {len(errors) - limit:,} more mismatches (--json lists them all)"
        )
    if stale:
        named = [f for f in stale if f.name] or stale
        examples = "; ".join(
            f"{f.where()} shows {_show_value(f.actual)}, the model "
            f"{_show_value(f.expected)}"
            for f in named[:3]
        )
        lines.append(
            f"  warning {len(stale):,} cached values are stale (a preview that "
            f"does not recalculate shows old numbers), e.g. {examples}; open and "
            "save the workbook in a spreadsheet to refresh them"
        )
    for f in warnings[:limit]:
        lines.append(f"  warning {f.where() + ': ' if f.where() else ''}{f.message}")
    if len(warnings) > limit:
        lines.append(f"  ... and {len(warnings) - limit:,} more warnings")
    if result.ok:
        lines.append(f"OK: every formula agrees with the model ({result.engine})")
    else:
        lines.append(f"FAILED: {_count(len(errors), 'mismatch', 'mismatches')}")
    return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
