"""Verify a workbook: do its formulas still compute the model?

1. Read the book the workbook was built from (its hidden metadata sheet) and
   the inputs as they stand in the workbook now (as finance edited them).
2. Recompute every output in Python (:mod:`generator.model`, through the same
   :mod:`generator.layout` that wrote the workbook), never by evaluating the
   workbook's formulas.
3. Compare structure: every expected formula, every defined name, the rows of
   the pricebook. A typed number where a formula belongs, a changed reference
   or operator, a name pointed elsewhere, a deleted row: each is named.
4. Compare values: a real engine recalculates a private copy (LibreOffice or
   Gnumeric), or the cached values are taken as saved; each formula's result
   must equal the model's within a relative tolerance.

The file itself is never modified.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from .engine import ENGINES, EngineError, available_engines, read_values, recalculate_to
from .errors import InputError
from .layout import METADATA, PB_COL, PB_FIRST, PRICEBOOK, WORKBOOK_MARK
from .plan import FORMULA, NA, Plan, a1
from .pricebook import Book, load_book_text
from .xlsxread import open_workbook, sheet_cells

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
FUNCTION_RE = re.compile(r"([A-Z][A-Z0-9._]*)\(")
CANARY_NAME = "tokens_per_million"
CANARY_VALUE = -12345


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
    names: dict[str, str]


def read_workbook(path: Path) -> Workbook:
    """Read an infercost workbook; InputError (exit 2) if it is not one."""
    wb = open_workbook(path)
    try:
        titles = wb.sheetnames
        if METADATA not in titles:
            raise InputError(
                "not an infercost workbook (it has no infercost "
                "metadata sheet); build one with 'infercost build'",
                file=str(path),
            )
        meta = sheet_cells(wb, METADATA)
        if meta.get((1, 0)) != WORKBOOK_MARK:
            raise InputError(
                f"unknown infercost workbook format "
                f"{meta.get((1, 0))!r}; expected {WORKBOOK_MARK!r}",
                file=str(path),
            )
        try:
            count = int(meta.get((2, 0), "0"))
        except ValueError:
            count = 0
        text = "".join(str(meta.get((3 + i, 0), "")) for i in range(count))
        built = load_book_text(text, f"{path} (metadata sheet)")
        cells = {title: sheet_cells(wb, title) for title in titles if title != METADATA}
        names = _defined_names(wb)
    finally:
        wb.close()
    return Workbook(path, built, cells, names)


def _defined_names(wb: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, dn in wb.defined_names.items():
        out[name.lower()] = _normal_ref(str(dn.attr_text))
    return out


def _normal_ref(text: str) -> str:
    text = text.lstrip("=").replace("$", "")
    return re.sub(r"'([^'!]+)'!", r"\1!", text)


# ---------------------------------------------------------------------------
# Inputs: apply what the workbook's input cells hold to the book it was built from


def read_inputs(
    workbook: Workbook, plan: Plan
) -> tuple[Book, list[Finding], list[str]]:
    """The built book with every input replaced by the workbook's current value."""
    book = workbook.built
    scen = {s.id: replace(s) for s in book.scenarios}
    prov = {p.id: replace(p) for p in book.providers}
    shares = list(book.input_shares)
    factors = list(book.volume_factors)
    top: dict[str, Any] = {}
    findings: list[Finding] = []
    changed: list[str] = []
    for title, row, col, cell in plan.inputs():
        key = cell.key
        if key is None:
            continue
        raw = workbook.cells.get(title, {}).get((row, col))
        value, problem = _input_value(raw, cell.value, key)
        where = a1(row, col)
        label = cell.name or ".".join(str(k) for k in key)
        if problem:
            findings.append(
                Finding(
                    "input",
                    f"input {label}: {problem}",
                    "error",
                    title,
                    where,
                    cell.name,
                    None,
                    cell.value,
                    raw,
                )
            )
            continue
        if value != cell.value:
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
WHOLE_INPUTS = {"min_quality_tier", "quality_tier", "forecast_months"}
SHARE_INPUTS = {
    "input_share",
    "retry_rate",
    "guardrail_rate",
    "cache_hit_rate",
    "min_sla",
    "sla",
    "input_shares",
}
POSITIVE_INPUTS = {
    "base_tokens",
    "volume_factors",
    "crossover_min_tokens",
    "crossover_max_tokens",
}


def _input_value(raw: Any, built: Any, key: tuple[Any, ...]) -> tuple[Any, str | None]:
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
    if field_name in WHOLE_INPUTS:
        if value != int(value):
            return None, f"expected a whole number, got {raw!r}"
        value = int(value)
    if field_name in SHARE_INPUTS and not 0 <= value <= 1:
        return None, f"expected a share from 0 to 1, got {raw!r}"
    if field_name in POSITIVE_INPUTS and value <= 0:
        return None, f"expected a number above 0, got {raw!r}"
    if field_name == "growth_rate" and value <= -1:
        return None, f"expected a growth rate above -1, got {raw!r}"
    if field_name not in SHARE_INPUTS and field_name != "growth_rate" and value < 0:
        return None, f"expected a number >= 0, got {raw!r}"
    return value, None


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------
# Structure


def normal_formula(text: str) -> str:
    """A formula in a canonical spelling: no '=', no _xlfn., spaces or $ quirks.

    Case is folded outside string literals, and quotes around simple sheet
    names are dropped, so that a file re-saved by LibreOffice or Excel
    compares equal to the one infercost wrote.
    """
    text = text[1:] if text.startswith("=") else text
    parts = re.split(r'("(?:[^"]|"")*")', text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
            continue
        part = part.replace("_xlfn.", "").replace("_xlws.", "").replace("_xlfn_", "")
        part = re.sub(r"\s+", "", part)
        part = re.sub(r"'([A-Za-z_][A-Za-z0-9_]*)'!", r"\1!", part)
        out.append(part.upper())
    return "".join(out)


def check_structure(workbook: Workbook, plan: Plan) -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    checked = 0
    # Rows of the pricebook and ids of the scenarios, as built.
    pb_cells = workbook.cells.get(PRICEBOOK, {})
    for i, p in enumerate(workbook.built.providers):
        row = PB_FIRST + i
        found = pb_cells.get((row, PB_COL["id"]))
        if found != p.id:
            findings.append(
                Finding(
                    "structure",
                    f"expected provider '{p.id}' in this row, found "
                    f"{found!r} (a row deleted, inserted or moved?)",
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
    extra = pb_cells.get((after, PB_COL["id"]))
    if extra:
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
            where = a1(row, col)
            expected = "=" + cell.formula
            if isinstance(found, str) and found.startswith("="):
                if normal_formula(found) != normal_formula(expected):
                    findings.append(
                        Finding(
                            "formula",
                            "formula differs from the model's",
                            "error",
                            sheet.title,
                            where,
                            cell.name,
                            expected,
                            expected,
                            found,
                        )
                    )
            elif found is None:
                findings.append(
                    Finding(
                        "missing",
                        "formula is missing (empty cell)",
                        "error",
                        sheet.title,
                        where,
                        cell.name,
                        expected,
                        expected,
                        None,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "hard-coded",
                        "a typed value where a formula belongs",
                        "error",
                        sheet.title,
                        where,
                        cell.name,
                        expected,
                        expected,
                        found,
                    )
                )
    # Defined names.
    expected_names = plan.names()
    for name, (title, row, col) in expected_names.items():
        want = f"{title}!{a1(row, col)}"
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
            findings.append(
                Finding(
                    "name",
                    f"defined name {name} points to {got}, expected {want}",
                    "error",
                    title,
                    a1(row, col),
                    name,
                    None,
                    want,
                    got,
                )
            )
    # Functions outside the compatibility list, anywhere in the workbook.
    for title, cells in workbook.cells.items():
        for (row, col), value in cells.items():
            if not (isinstance(value, str) and value.startswith("=")):
                continue
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
    return findings, checked + len(expected_names)


def _functions(formula: str) -> set[str]:
    bare = re.sub(r'"(?:[^"]|"")*"', '""', formula.upper())
    found = set()
    for fn in FUNCTION_RE.findall(bare):
        fn = fn.removeprefix("_XLFN.").removeprefix("_XLWS.")
        found.add(fn)
    return found


# ---------------------------------------------------------------------------
# Values


def engine_values(
    path: Path, engine: str, plan: Plan, timeout: float
) -> dict[str, dict[str, Any]]:
    """Formula results of ``path`` by ``engine`` (or its cached values).

    A recalculating engine works on a copy whose cached value of
    ``tokens_per_million`` is deliberately wrong: if the engine's result still
    shows the wrong value, it did not recalculate and verification stops.
    """
    if engine == "cached":
        return read_values(path)
    title, row, col = plan.names()[CANARY_NAME]
    with tempfile.TemporaryDirectory(prefix="infercost-verify-") as tmp:
        canary = Path(tmp) / "canary.xlsx"
        _plant_canary(path, canary, title, a1(row, col))
        out = recalculate_to(canary, engine, Path(tmp) / "recalculated.xlsx", timeout)
        values = read_values(out)
    got = values.get(title, {}).get(a1(row, col))
    if got != plan.cell(CANARY_NAME).value:
        raise EngineError(
            f"{engine} did not recalculate {path.name}: the canary cell "
            f"{title}!{a1(row, col)} still holds {got!r}"
        )
    return values


def _plant_canary(src: Path, dest: Path, title: str, cell: str) -> None:
    """Copy ``src`` to ``dest`` with a wrong cached value in ``title``!``cell``."""
    with zipfile.ZipFile(src) as package:
        part = _sheet_part(package, title)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for item in package.infolist():
                data = package.read(item.filename)
                if item.filename == part:
                    text = data.decode("utf-8")
                    pattern = re.compile(
                        rf'(<c r="{cell}"[^>]*>(?:(?!</c>).)*?<v>)([^<]*)(</v>)', re.S
                    )
                    text, count = pattern.subn(rf"\g<1>{CANARY_VALUE}\g<3>", text, 1)
                    if count != 1:
                        raise EngineError(
                            f"cannot plant the recalculation canary in {title}!{cell}"
                        )
                    data = text.encode("utf-8")
                out.writestr(item, data)


def _sheet_part(package: zipfile.ZipFile, title: str) -> str:
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    root = ElementTree.fromstring(package.read("xl/workbook.xml"))
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
    values: dict[str, dict[str, Any]],
    engine: str,
    tolerance: float,
    kind: str = "value",
) -> list[Finding]:
    findings: list[Finding] = []
    for sheet in plan.sheets:
        got = values.get(sheet.title, {})
        for (row, col), cell in sheet.cells.items():
            if cell.kind != FORMULA:
                continue
            where = a1(row, col)
            actual = got.get(where)
            if same_value(cell.value, actual, tolerance):
                continue
            expected = cell.value
            if isinstance(actual, str) and actual.startswith("#"):
                message = (
                    f"error value {actual} from {engine}; the model gives "
                    f"{_show_value(expected)} (not verifiable with {engine} "
                    "if it lacks a function)"
                )
                findings.append(
                    Finding(
                        "error-value",
                        message,
                        "error",
                        sheet.title,
                        where,
                        cell.name,
                        "=" + cell.formula,
                        expected,
                        actual,
                    )
                )
                continue
            findings.append(
                Finding(
                    kind,
                    f"{engine} gives {_show_value(actual)}, the model "
                    f"{_show_value(expected)}",
                    "error",
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


def choose_engine(engine: str) -> str:
    if engine == "auto":
        present = available_engines()
        return present[0] if present else "cached"
    if engine not in ENGINES + ("cached",):
        raise InputError(
            f"unknown engine {engine!r}; expected auto, {', '.join(ENGINES)} or cached"
        )
    return engine


def verify_workbook(
    path: Path,
    engine: str = "auto",
    tolerance: float = DEFAULT_TOLERANCE,
    timeout: float = 600,
) -> Result:
    """Verify ``path`` (see the module docstring); never modifies the file."""
    from .layout import build_plan

    start = time.perf_counter()
    path = Path(path)
    engine = choose_engine(engine)
    workbook = read_workbook(path)
    as_built = build_plan(workbook.built)
    book, input_findings, changed = read_inputs(workbook, as_built)
    result = Result(str(path), engine, changed_inputs=changed)
    result.inputs = len([c for c in as_built.inputs() if c[3].key])
    result.findings += input_findings
    if input_findings:
        plan = as_built
    else:
        try:
            plan = build_plan(book)
        except InputError as exc:
            result.findings.append(
                Finding("input", f"inputs cannot be modelled: {exc}")
            )
            plan = as_built
    structure, checked = check_structure(workbook, plan)
    result.findings += structure
    result.formulas = sum(
        1 for s in plan.sheets for c in s.cells.values() if c.kind == FORMULA
    )
    result.names = len(plan.names())
    if not input_findings:
        engine_start = time.perf_counter()
        values = engine_values(path, engine, plan, timeout)
        result.engine_seconds = time.perf_counter() - engine_start
        result.findings += check_values(plan, values, engine, tolerance)
        if engine != "cached":
            cached = read_values(path)
            stale = check_values(plan, cached, "cached", tolerance, "stale")
            if stale:
                first = ", ".join(f.where() for f in stale[:3])
                result.findings.append(
                    Finding(
                        "stale",
                        f"{len(stale):,} cached values differ from the model "
                        "(a preview that does not recalculate shows old numbers), "
                        f"e.g. {first}; open and save the workbook in a spreadsheet "
                        "to refresh them",
                        "warning",
                    )
                )
    result.findings.sort(key=lambda f: (f.severity != "error", _kind_order(f.kind)))
    result.seconds = time.perf_counter() - start
    return result


def _kind_order(kind: str) -> int:
    order = [
        "input",
        "structure",
        "name",
        "hard-coded",
        "missing",
        "formula",
        "error-value",
        "value",
        "function",
        "stale",
    ]
    return order.index(kind) if kind in order else len(order)


def render(result: Result, limit: int = 50) -> str:
    """The human summary of ``result``."""
    lines = [
        f"verify {result.workbook} with {result.engine} "
        f"({result.seconds:.1f} s, engine {result.engine_seconds:.1f} s)"
    ]
    lines.append(
        f"  read {result.inputs:,} inputs; checked {result.formulas:,} formula "
        f"cells and {result.names:,} defined names against the model"
    )
    if result.changed_inputs:
        lines.append(
            f"  {len(result.changed_inputs)} inputs differ from the pricebook "
            "the workbook was built from (the model uses the workbook's):"
        )
        lines += [f"    {c}" for c in result.changed_inputs[:20]]
        if len(result.changed_inputs) > 20:
            lines.append(f"    ... and {len(result.changed_inputs) - 20} more")
    errors = [f for f in result.findings if f.severity == "error"]
    warnings = [f for f in result.findings if f.severity != "error"]
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
    for f in warnings[:limit]:
        lines.append(f"  warning {f.where() + ': ' if f.where() else ''}{f.message}")
    if result.ok:
        lines.append("OK: every formula agrees with the model")
    else:
        lines.append(f"FAILED: {len(errors):,} mismatches")
    return "\n".join(lines)
