"""Test helpers for reading built workbooks without changing them."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl

REF = re.compile(r"(?<![A-Za-z_0-9.\"])(\$?)([A-Z]{1,3})(\$?)([0-9]+)(?![0-9A-Za-z_(])")


def named_values(path: Path) -> dict[str, object]:
    """Every defined name of the workbook -> its cell's cached value."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out: dict[str, object] = {}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        ((title, coord),) = dests
        out[name] = wb[title][coord.replace("$", "")].value
    return out


def formulas(path: Path) -> dict[str, dict[str, str]]:
    """Sheet title -> {cell -> formula text} for every formula cell."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, dict[str, str]] = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cells[cell.coordinate] = cell.value
        out[ws.title] = cells
    return out


def relative(formula: str, row: int, col: int) -> str:
    """The formula with every relative reference as an offset from (row, col).

    Two cells hold "the same formula in relative terms" when this gives the same
    text for both (absolute parts stay as written).
    """
    from openpyxl.utils import column_index_from_string

    def swap(match: re.Match[str]) -> str:
        col_abs, letters, row_abs, digits = match.groups()
        c = letters if col_abs else f"C[{column_index_from_string(letters) - col}]"
        r = digits if row_abs else f"R[{int(digits) - row}]"
        return f"{r}{c}"

    return REF.sub(swap, formula)
