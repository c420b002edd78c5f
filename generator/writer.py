"""Write a :class:`~generator.plan.Plan` as an .xlsx file with XlsxWriter.

Rules kept here:

- user text is always written with ``write_string`` (a label ``=HYPERLINK(...)``
  stays text), and only http(s) URLs become hyperlinks;
- every formula carries the model's value as its cached result;
- input cells are unlocked, everything else locked, and every sheet protected
  without a password;
- the file is written to a temporary file beside the target and moved into
  place, so a failed build leaves any earlier workbook untouched;
- XlsxWriter's warnings (it skips writes it dislikes and only warns) are errors.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException

from .errors import OutputError
from .plan import FORMULA, INPUT, NA, Plan, SheetPlan

BLUE = "#0000CC"
INPUT_FILL = "#FFF9DB"
GREEN = "#006100"
HEADER_FILL = "#DCE6F1"

NUMBER_FORMATS = {
    "tokens": "#,##0",
    "share": "0.0%",
    "share4": "0.00%",
    "sla": "0.000%",
    "ratio": "0.000000",
    "rate": "$#,##0.00##",
    "money": "$#,##0.00",
    "money4": "$#,##0.0000",
    "slope": "0.000E+00",
    "int": "0",
    "mult": '0.00"x"',
    "factor": '0.00"x"',
    "bool": "General",
    "text": "@",
    "id": "@",
}

MAX_URL = 2079


class _Formats:
    """Creates each XlsxWriter format once, from a style key of the plan."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.workbook = workbook
        self.cache: dict[str, Any] = {}

    def get(self, style: str) -> Any:
        if style not in self.cache:
            self.cache[style] = self.workbook.add_format(self._props(style))
        return self.cache[style]

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
        if role == "input":
            props.update(
                font_color=BLUE,
                bg_color=INPUT_FILL,
                locked=False,
                border=1,
                border_color="#BFBFBF",
            )
        elif role == "link":
            props.update(font_color=GREEN)
        elif role == "out":
            props.update(bold=True)
        return props


def write_plan(plan: Plan, path: Path) -> None:
    """Write ``plan`` to ``path`` atomically; raise OutputError on failure."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{folder}: cannot create the output folder: {exc.strerror}"
        ) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _write(plan, Path(tmp))
        os.replace(tmp, path)
    except (XlsxWriterException, UserWarning, OSError) as exc:
        raise OutputError(f"{path}: cannot write the workbook: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write(plan: Plan, path: Path) -> None:
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "use_future_functions": False,
        },
    )
    workbook.set_properties({**plan.properties, "author": "infercost"})
    workbook.set_calc_mode("auto")
    formats = _Formats(workbook)
    sheets = {}
    for sheet in plan.sheets:
        worksheet = workbook.add_worksheet(sheet.title)
        sheets[sheet.title] = worksheet
        _write_sheet(worksheet, sheet, formats, plan.header)
    for name, (title, row, col) in sorted(plan.names().items()):
        from .plan import ref

        workbook.define_name(name, "=" + ref(title, row, col, True, True))
    for chart in plan.charts:
        obj = workbook.add_chart(chart.type)
        for series in chart.series:
            obj.add_series(series)
        for key, value in chart.options.items():
            getattr(obj, key)(value)
        sheets[chart.sheet].insert_chart(chart.anchor, obj)
    workbook.close()


def _check(code: int | None, sheet: str, row: int, col: int) -> None:
    if code not in (0, None):
        from .plan import a1

        raise OutputError(
            f"{sheet}!{a1(row, col)}: XlsxWriter refused the cell (code {code})"
        )


def _write_sheet(ws: Any, sheet: SheetPlan, formats: _Formats, header: str) -> None:
    for col, width in sheet.widths.items():
        ws.set_column(col, col, width)
    for (row, col), cell in sorted(sheet.cells.items()):
        fmt = formats.get(cell.style)
        value = cell.value
        if cell.kind == FORMULA:
            cached: Any = value
            if isinstance(value, NA):
                cached = "#N/A"
            elif value is None:
                cached = ""
            code = ws.write_formula(row, col, "=" + cell.formula, fmt, cached)
        elif cell.kind == INPUT:
            if value is None or value == "":
                code = ws.write_blank(row, col, None, fmt)
            elif isinstance(value, bool):
                code = ws.write_boolean(row, col, value, fmt)
            elif isinstance(value, (int, float)):
                code = ws.write_number(row, col, value, fmt)
            else:
                code = ws.write_string(row, col, str(value), fmt)
        else:
            text = "" if value is None else str(value)
            if cell.style == "url" and _is_web_url(text):
                code = ws.write_url(row, col, text, fmt, text)
            elif text == "":
                code = ws.write_blank(row, col, None, fmt)
            else:
                code = ws.write_string(row, col, text, fmt)
        _check(code, sheet.title, row, col)
    for v in sheet.validations:
        _check(
            ws.data_validation(
                v.first_row, v.first_col, v.last_row, v.last_col, v.options
            ),
            sheet.title,
            v.first_row,
            v.first_col,
        )
    for first_row, first_col, last_row, last_col in sheet.colour_scales:
        ws.conditional_format(
            first_row,
            first_col,
            last_row,
            last_col,
            {
                "type": "3_color_scale",
                "min_color": "#63BE7B",
                "mid_color": "#FFEB84",
                "max_color": "#F8696B",
            },
        )
    if sheet.freeze:
        ws.freeze_panes(*sheet.freeze)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_paper(9)
    ws.hide_gridlines(0)
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


def _is_web_url(text: str) -> bool:
    lower = text.lower()
    return (lower.startswith("http://") or lower.startswith("https://")) and (
        len(text) <= MAX_URL and not any(ch.isspace() for ch in text)
    )
