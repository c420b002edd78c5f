"""Write a :class:`~generator.plan.Plan` as an .xlsx file with XlsxWriter.

Rules kept here:

- user text is always written with ``write_string`` (a label ``=HYPERLINK(...)``
  stays text), and only http(s) URLs become hyperlinks;
- every formula carries the model's value as its cached result;
- input cells are unlocked, everything else locked, and every sheet protected
  without a password;
- the file is written to a temporary file beside the target and moved into
  place, so a failed build leaves any earlier workbook untouched;
- XlsxWriter's warnings (it skips writes it dislikes and only warns) are errors;
- sheet titles and defined names are checked against Excel's rules before a
  file is created, and a text a cell cannot hold whole (over 32,767 UTF-16
  units, or characters XML cannot carry) stops the build: nothing is cut;
- a number that is not finite is never written (XlsxWriter would raise).
"""

from __future__ import annotations

import math
import os
import re
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from . import progress
from .errors import OutputError, os_error_message, os_error_problem, short_path
from .plan import FORMULA, INPUT, NA, Chart, Plan, SheetPlan, a1, ref

BLUE = "#0000CC"
INPUT_FILL = "#FFF9DB"
#: An input the analyst overrode and ``build --keep-inputs`` kept (orange).
OVERRIDE_FILL = "#F8CBAD"
GREEN = "#006100"
HEADER_FILL = "#DCE6F1"

#: Number formats by the plan's format key. Numbers end in ``_)``, a space
#: as wide as ")", the financial-model convention that keeps a right-aligned
#: figure off the text of the cell to its right.
NUMBER_FORMATS = {
    "tokens": "#,##0_)",
    "share": "0.0%_)",
    "share4": "0.00%_)",
    "sla": "0.000%_)",
    "ratio": "0.000000_)",
    "rate": "$#,##0.00##_)",
    "money": "$#,##0.00_)",
    "money4": "$#,##0.0000_)",
    "slope": "#,##0.000000_)",
    "int": "0_)",
    "shift": "0.000E+00_)",
    "mult": '0.00"x"_)',
    "factor": '0.00"x"_)',
    "bool": "General",
    "text": "@",
    "status": "@",
    "id": "@",
}

MAX_URL = 2079
#: Frozen heading rows are printed on every page when there are at most this many.
REPEAT_ROWS_MAX = 6


class _Formats:
    """Creates each XlsxWriter format once, from a style key of the plan."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.workbook = workbook
        self.cache: dict[str, Any] = {}

    def get(self, style: str) -> Any:
        if style not in self.cache:
            self.cache[style] = self.workbook.add_format(self._props(style))
        return self.cache[style]

    def props(self, props: dict[str, Any]) -> Any:
        """A format made of explicit properties (for conditional formats)."""
        key = repr(sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.workbook.add_format(props)
        return self.cache[key]

    @staticmethod
    def _props(style: str) -> dict[str, Any]:
        base: dict[str, Any] = {
            "font_name": "Calibri",
            "font_size": 10,
            "valign": "top",
        }
        if style == "title":
            return {**base, "bold": True, "font_size": 14}
        if style == "subtitle":
            return {**base, "bold": True, "font_size": 11}
        if style == "note":
            return {**base, "italic": True, "font_color": "#595959"}
        if style in ("header", "header_wrap"):
            return {
                **base,
                "bold": True,
                "bg_color": HEADER_FILL,
                "bottom": 1,
                "text_wrap": style == "header_wrap",
            }
        if style == "label":
            return base
        if style == "label_bold":
            return {**base, "bold": True}
        if style == "url":
            return {**base, "font_color": "#1F4E79", "underline": 1}
        if style in ("text", "id", "date"):
            return base
        role, _, fmt = style.partition(":")
        props = {**base, "num_format": NUMBER_FORMATS.get(fmt, "General")}
        if role in ("input", "override"):
            props.update(
                font_color=BLUE,
                bg_color=INPUT_FILL if role == "input" else OVERRIDE_FILL,
                locked=False,
                border=1,
                border_color="#BFBFBF",
            )
        elif role == "link":
            props.update(font_color=GREEN)
        elif role == "out":
            props.update(bold=True)
        elif role == "head":  # a heading that is a formula (a timeline)
            props.update(bold=True, bg_color=HEADER_FILL, bottom=1)
        if fmt == "status":  # text beside a right-aligned amount
            props.update(indent=1)
        return props


def write_plan(plan: Plan, path: Path) -> None:
    """Write ``plan`` to ``path`` atomically; raise OutputError on failure.

    The workbook is written to a temporary file in the same folder and moved
    over ``path`` only once complete, so an earlier workbook stays as it was
    if the build fails or is killed. A missing folder is created. The file
    gets the permissions of the workbook it replaces (else the usual ones for
    a new file), not the private ones of a temporary file.
    """
    path = Path(path)
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # a name too long, a folder we may not look in
        raise OutputError(os_error_message(exc)) from None
    if is_dir:
        raise OutputError(
            f"{short_path(path)}: is a folder; name the workbook to write in it"
        )
    names = plan.names()  # scans every cell: once, for the check and the writing
    check_plan(plan, names)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{short_path(folder)}: cannot create the output folder "
            f"({os_error_problem(exc)}); create it or choose another --output"
        ) from None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=_temporary_prefix(path), suffix=".tmp", dir=folder
        )
    except OSError as exc:
        raise OutputError(
            f"{short_path(folder)}: cannot write in the output folder "
            f"({os_error_problem(exc)}); choose another --output"
        ) from None
    os.close(fd)
    try:
        # XlsxWriter keeps each sheet's rows in a file of its own until it
        # saves; they live in a folder of ours, removed whatever happens.
        with (
            tempfile.TemporaryDirectory(
                prefix="infercost-rows-", ignore_cleanup_errors=True
            ) as scratch,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("error")
            _write(plan, names, Path(tmp), scratch)
        os.chmod(tmp, _new_mode(path))
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(
            f"{short_path(path)}: cannot write the workbook: {os_error_problem(exc)}"
        ) from None
    except (XlsxWriterException, UserWarning) as exc:
        raise OutputError(
            f"{short_path(path)}: cannot write the workbook: {exc}"
        ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: The longest file name most file systems allow, in bytes (NAME_MAX).
NAME_MAX = 255
#: What mkstemp adds to the prefix: eight random characters and ``.tmp``.
_TEMPORARY_EXTRA = 8 + len(".tmp")


def _temporary_prefix(path: Path) -> str:
    """``.NAME.``, the start of the temporary file's name, cut to fit NAME_MAX.

    A workbook name of 242 to 255 bytes is valid, but ``.NAME.`` plus what
    mkstemp adds would not be: the name is then cut (whole characters).
    """
    room = NAME_MAX - _TEMPORARY_EXTRA - 2
    name = path.name
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}."


def _new_mode(path: Path) -> int:
    """Permissions for ``path``: those of the file it replaces, else 0666 - umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# ---------------------------------------------------------------------------
# Excel's rules, checked before anything is written (XlsxWriter would warn and
# skip, or write a file Excel repairs).

#: Characters a sheet title may not hold.
SHEET_TITLE_BAD = set("[]:*?/\\")
#: Longest text a cell holds, in UTF-16 code units.
MAX_CELL_TEXT = 32767
_NAME_RE = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.\\]*")
_A1_LIKE = re.compile(r"\$?[A-Za-z]{1,3}\$?[0-9]+")
_R1C1_LIKE = re.compile(r"[Rr][0-9]*([Cc][0-9]*)?|[Cc][0-9]*")
#: Characters an XML 1.0 document cannot hold (C0 controls but tab, newline
#: and carriage return; lone surrogates; U+FFFE and U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_sheet_title(title: str) -> None:
    """Raise OutputError unless ``title`` is a valid Excel sheet title.

    1 to 31 characters, none of ``[]:*?/\\``, not starting or ending with an
    apostrophe, and not ``History`` (Excel reserves it).
    """
    problem = ""
    if not title or len(title) > 31:
        problem = "must have 1 to 31 characters"
    elif SHEET_TITLE_BAD & set(title):
        problem = "must not contain any of []:*?/\\"
    elif title.startswith("'") or title.endswith("'"):
        problem = "must not start or end with an apostrophe"
    elif title.lower() == "history":
        problem = "'History' is reserved by Excel"
    if problem:
        raise OutputError(f"sheet title {title!r}: {problem}")


def check_defined_name(name: str) -> None:
    """Raise OutputError unless ``name`` is a valid Excel defined name.

    At most 255 characters of letters, digits, ``_``, ``.`` and ``\\``,
    starting with a letter, ``_`` or ``\\``; and it must not read as a cell
    reference, in A1 style (``FY2024``) or R1C1 style (``R1C1``, ``r``, ``c``).
    """
    problem = ""
    if not 1 <= len(name) <= 255:
        problem = "must have 1 to 255 characters"
    elif not _NAME_RE.fullmatch(name):
        problem = "must start with a letter or _ and hold only letters, digits, _ and ."
    elif _A1_LIKE.fullmatch(name) or _R1C1_LIKE.fullmatch(name):
        problem = "reads as a cell reference"
    elif name.upper() in ("TRUE", "FALSE"):
        problem = "is a logical value"
    if problem:
        raise OutputError(
            f"defined name {name!r}: {problem} (Excel's rule); change the id "
            "it is made from"
        )


def check_plan(
    plan: Plan, defined: dict[str, tuple[str, int, int]] | None = None
) -> None:
    """Sheet titles and defined names of ``plan`` follow Excel's rules.

    Each is valid (:func:`check_sheet_title`, :func:`check_defined_name`) and
    unique, ignoring case as Excel does. ``defined`` is ``plan.names()``, when
    the caller has it already.
    """
    seen: dict[str, str] = {}
    for sheet in plan.sheets:
        check_sheet_title(sheet.title)
        if sheet.title.lower() in seen:
            raise OutputError(
                f"sheet title {sheet.title!r}: used twice "
                f"(with {seen[sheet.title.lower()]!r}; Excel ignores case)"
            )
        seen[sheet.title.lower()] = sheet.title
    names: dict[str, str] = {}
    for name in plan.names() if defined is None else defined:
        check_defined_name(name)
        if name.lower() in names:
            raise OutputError(
                f"defined name {name!r}: used twice (with {names[name.lower()]!r}; "
                "Excel ignores case)"
            )
        names[name.lower()] = name


def _text(text: str, sheet: str, row: int, col: int) -> str:
    """``text`` if a cell can hold it whole, else OutputError naming the cell.

    Never truncated: Excel's limit is 32,767 UTF-16 code units, and XML cannot
    carry some control characters at all.
    """
    # A code point is at most two UTF-16 units: short text needs no count.
    length = len(text)
    if length * 2 > MAX_CELL_TEXT:
        length += sum(1 for ch in text if ord(ch) > 0xFFFF)
    if length > MAX_CELL_TEXT:
        raise OutputError(
            f"{sheet}!{a1(row, col)}: text of {length:,} characters is longer "
            f"than the {MAX_CELL_TEXT:,} an Excel cell holds; it is not "
            "truncated, shorten it in the pricebook"
        )
    bad = _NOT_XML.search(text)
    if bad:
        raise OutputError(
            f"{sheet}!{a1(row, col)}: text holds the character "
            f"U+{ord(bad.group()):04X}, which an xlsx file cannot store"
        )
    return text


def _number(value: float, sheet: str, row: int, col: int) -> float:
    """``value`` if finite, else OutputError naming the cell (a model bug)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise OutputError(
            f"{sheet}!{a1(row, col)}: the model gives {value}, which a cell "
            "cannot hold; check the pricebook's numbers for extremes"
        )
    return value


class _Worksheet(Worksheet):
    """A worksheet that writes formulas exactly as the layout spells them.

    XlsxWriter runs about thirty regular expressions over every formula to
    add ``_xlfn.`` prefixes to functions newer than Excel 2007. The layout
    uses only functions every target has (``verify.COMPATIBLE``, checked by
    ``tests/test_workbook.py``), so there is nothing to prefix, and skipping
    the search makes writing a large book several times faster.
    """

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False):
        return formula[1:] if formula.startswith("=") else formula


def _write(
    plan: Plan, names: dict[str, tuple[str, int, int]], path: Path, scratch: str
) -> None:
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "tmpdir": scratch,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "use_future_functions": False,
            # Rows go to disk as they are written (the plan writes each sheet
            # in row order), which bounds memory for books of thousands of rows.
            "constant_memory": True,
        },
    )
    workbook.set_properties({**plan.properties, "author": "infercost"})
    workbook.set_calc_mode("auto")
    formats = _Formats(workbook)
    sheets = {}
    cells = sum(len(sheet.cells) for sheet in plan.sheets)
    # Saving (zipping the sheets) takes about a quarter of the writing time.
    saving = cells // 4
    try:
        with progress.bar(
            "writing", cells + saving, show=cells >= progress.WRITE_MIN_CELLS
        ) as shown:
            _write_all(workbook, plan, names, formats, sheets, shown)
            shown.advance(0, "saving")
            workbook.close()
            shown.finish()
    except BaseException:
        # Close the sheets' row files, so that their folder can be removed.
        for worksheet in sheets.values():
            handle = getattr(worksheet, "row_data_fh", None)
            if handle is not None and not handle.closed:
                handle.close()
        raise


def _write_all(
    workbook: xlsxwriter.Workbook,
    plan: Plan,
    names: dict[str, tuple[str, int, int]],
    formats: _Formats,
    sheets: dict[str, Any],
    shown: progress.Bar,
) -> None:
    """Every sheet, defined name (``names``: ``plan.names()``) and chart of
    ``plan`` (nothing saved yet)."""
    for sheet in plan.sheets:
        worksheet = workbook.add_worksheet(sheet.title, worksheet_class=_Worksheet)
        sheets[sheet.title] = worksheet
        _write_sheet(worksheet, sheet, formats, plan.header, shown)
    for name, (title, row, col) in sorted(names.items()):
        workbook.define_name(name, "=" + ref(title, row, col, True, True))
    breaks: dict[str, list[int]] = {}
    for chart in plan.charts:
        row = _write_chart(workbook, sheets, plan, chart)
        if row is not None:
            breaks.setdefault(chart.sheet, []).append(row)
    for title, rows in breaks.items():
        sheets[title].set_h_pagebreaks(sorted(set(rows)))


def _write_chart(
    workbook: xlsxwriter.Workbook, sheets: dict[str, Any], plan: Plan, chart: Chart
) -> int | None:
    """Add ``chart``: its series, its options, then insert it on its sheet.

    ``chart.options`` maps a Chart method to its argument (None: called with
    none); the key ``insert`` holds the options of ``insert_chart`` (offsets,
    positioning), and ``page_break`` (True) asks for a printed page to start at
    the chart's row, which is returned (else None). Each series carries the
    plan's values as its cached data, a #N/A or a text cell as a missing
    point: XlsxWriter would cache them as 0, which a preview would draw on a
    logarithmic axis.
    """
    obj = workbook.add_chart(chart.type)
    for series in chart.series:
        series = dict(series)
        for key in ("categories", "values"):
            cells = series.get(key)
            if isinstance(cells, list) and f"{key}_data" not in series:
                series[f"{key}_data"] = _chart_cache(plan, cells, key == "values")
        obj.add_series(series)
    insert: dict[str, Any] = {}
    page_break = False
    for key, value in chart.options.items():
        if key == "insert":
            insert = value
        elif key == "page_break":
            page_break = bool(value)
        elif value is None:
            getattr(obj, key)()
        else:
            getattr(obj, key)(value)
    sheets[chart.sheet].insert_chart(chart.anchor, obj, insert)
    return xl_cell_to_rowcol(chart.anchor)[0] if page_break else None


def _chart_cache(plan: Plan, cells: list[Any], numeric: bool) -> list[Any]:
    """The cached data of a chart range [sheet, row, col, last row, last col]."""
    title, first_row, first_col, last_row, last_col = cells
    sheet = plan.sheet(title).cells
    data: list[Any] = []
    for row in range(first_row, last_row + 1):
        for col in range(first_col, last_col + 1):
            cell = sheet.get((row, col))
            value = cell.value if cell is not None else None
            if isinstance(value, bool) or isinstance(value, NA) or value == "":
                value = None
            elif numeric and not isinstance(value, (int, float)):
                value = None
            data.append(value)
    if not numeric and any(isinstance(v, str) for v in data):
        data = ["" if v is None else str(v) for v in data]
    return data


def _check(code: int | None, sheet: str, row: int, col: int) -> None:
    if code not in (0, None):
        raise OutputError(
            f"{sheet}!{a1(row, col)}: XlsxWriter refused the cell (code {code})"
        )


#: Cells written between two updates of the progress bar.
_PROGRESS_EVERY = 4096


def _write_sheet(
    ws: Any, sheet: SheetPlan, formats: _Formats, header: str, shown: progress.Bar
) -> None:
    for col, width in sheet.widths.items():
        ws.set_column(col, col, width)
    cells = sheet.cells
    shown.advance(0, sheet.title)
    title = sheet.title
    style_formats: dict[str, Any] = {}
    write_formula = ws.write_formula
    # (col, row) of each formula that calls NA(), gathered on the way.
    gaps: list[tuple[int, int]] = []
    # The texts _text has let through: most repeat (ids, labels), and a text
    # that fails is never added, so it fails at its first cell.
    checked: set[str] = set()
    # Sorting the keys alone: sorting (key, cell) pairs is twenty times slower.
    for count, key in enumerate(sorted(cells), 1):
        if not count % _PROGRESS_EVERY:
            shown.advance(_PROGRESS_EVERY)
        cell = cells[key]
        row, col = key
        style = cell.style
        if style == "header_wrap":
            # Tall enough for three lines: LibreOffice does not grow a row for
            # wrapped text by itself. (The row is still being written.)
            ws.set_row(row, 40)
        fmt = style_formats.get(style)
        if fmt is None:
            fmt = style_formats[style] = formats.get(style)
        value = cell.value
        if cell.kind == FORMULA:
            cached: Any = value
            kind = type(value)
            if kind is float:
                if not math.isfinite(value):
                    cached = _number(value, title, row, col)
            elif kind is str:
                if value not in checked:
                    checked.add(_text(value, title, row, col))
            elif value is None:
                cached = ""
            elif kind is NA:
                cached = "#N/A"
            formula = cell.formula
            # Without its '=': _Worksheet takes the formula as it comes.
            code = write_formula(row, col, formula, fmt, cached)
            if formula and "NA()" in formula:
                gaps.append((col, row))
        elif cell.kind == INPUT:
            if value is None or value == "":
                code = ws.write_blank(row, col, None, fmt)
            elif isinstance(value, bool):
                code = ws.write_boolean(row, col, value, fmt)
            elif isinstance(value, (int, float)):
                code = ws.write_number(row, col, _number(value, title, row, col), fmt)
            else:
                code = ws.write_string(
                    row, col, _text(str(value), title, row, col), fmt
                )
        else:
            # User text is always a string: write() would make '=...' a formula.
            text = "" if value is None else str(value)
            if text not in checked:
                checked.add(_text(text, title, row, col))
            if cell.style == "url" and _is_web_url(text):
                code = ws.write_url(row, col, text, fmt, text)
            elif text == "":
                code = ws.write_blank(row, col, None, fmt)
            else:
                code = ws.write_string(row, col, text, fmt)
        if code:
            _check(code, title, row, col)
    shown.advance(len(sheet.cells) % _PROGRESS_EVERY)
    for v in sheet.validations:
        _check(
            ws.data_validation(
                v.first_row, v.first_col, v.last_row, v.last_col, v.options
            ),
            sheet.title,
            v.first_row,
            v.first_col,
        )
    for first_row, first_col, last_row, last_col, options in conditional_formats(
        sheet, gaps
    ):
        if "format" in options:
            options = {**options, "format": formats.props(options["format"])}
        code = ws.conditional_format(first_row, first_col, last_row, last_col, options)
        _check(code, sheet.title, first_row, first_col)
    if sheet.freeze:
        ws.freeze_panes(*sheet.freeze)
        if 0 < sheet.freeze[0] <= REPEAT_ROWS_MAX:
            ws.repeat_rows(0, sheet.freeze[0] - 1)  # the frozen rows, on every page
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_paper(9)
    ws.hide_gridlines(1)  # gridlines on screen, not on paper
    safe = header.replace("&", "&&")
    ws.set_header(f"&L{safe}&R&A", {"scale_with_doc": False})
    ws.set_footer("&Lbuilt by infercost&RPage &P of &N")
    ws.protect(
        "",
        {
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )
    if sheet.hidden:
        ws.very_hidden()


#: The heatmaps' colour scale: green low, yellow middle, red high.
COLOUR_SCALE = {
    "type": "3_color_scale",
    "min_color": "#63BE7B",
    "mid_color": "#FFEB84",
    "max_color": "#F8696B",
}
#: The look of a deliberate chart gap (#N/A): light grey text.
FAINT = {"font_color": "#A6A6A6"}


def conditional_formats(
    sheet: SheetPlan, gaps: list[tuple[int, int]] | None = None
) -> list[tuple[int, int, int, int, dict[str, Any]]]:
    """(first row, first col, last row, last col, options) of each conditional
    format of ``sheet``, as XlsxWriter takes them, except that ``format`` holds
    the properties of the format, not a format object.

    ``gaps`` is ``_chart_gaps(sheet)`` (in any order), when the caller has it
    already.
    """
    out: list[tuple[int, int, int, int, dict[str, Any]]] = [
        (*area, dict(COLOUR_SCALE)) for area in sheet.colour_scales
    ]
    if gaps is None:
        gaps = _chart_gaps(sheet)
    for first_row, col, last_row in _chart_gap_runs(gaps):
        # A #N/A that is a deliberate chart gap is shown faint, not as an alarm.
        criteria = f"=ISNA({xl_rowcol_to_cell(first_row, col)})"
        options = {"type": "formula", "criteria": criteria, "format": dict(FAINT)}
        out.append((first_row, col, last_row, col, options))
    return out


def _chart_gaps(sheet: SheetPlan) -> list[tuple[int, int]]:
    """(col, row) of each formula that may give a deliberate #N/A (it calls
    ``NA()``)."""
    return [
        (col, row)
        for (row, col), cell in sheet.cells.items()
        if cell.kind == FORMULA and cell.formula and "NA()" in cell.formula
    ]


def _chart_gap_runs(gaps: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(first row, column, last row) of each run of the formulas at ``gaps``
    ((col, row) pairs, see :func:`_chart_gaps`), column by column."""
    runs: list[tuple[int, int, int]] = []
    for col, row in sorted(gaps):
        if runs and runs[-1][1] == col and runs[-1][2] == row - 1:
            runs[-1] = (runs[-1][0], col, row)
        else:
            runs.append((row, col, row))
    return runs


def _is_web_url(text: str) -> bool:
    """Only an http(s) URL with a host becomes a hyperlink; any other is text.

    ``javascript:``, ``file:``, ``mailto:`` and UNC paths stay plain text, and
    so does a URL longer than Excel's limit or holding a space or quote.
    """
    if not (len(text) <= MAX_URL and _WEB_URL.fullmatch(text)):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


_WEB_URL = re.compile(r"(?i)https?://[^\s\"<>\\^`{|}\x00-\x1f\x7f]+")
