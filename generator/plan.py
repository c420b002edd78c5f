"""The workbook as data: every cell, its formula, its value and its style.

:mod:`generator.layout` fills a :class:`Plan` from a :class:`~generator.pricebook.Book`;
:mod:`generator.writer` turns a plan into an .xlsx file with XlsxWriter; and
:mod:`generator.verify` rebuilds the plan from a workbook's own inputs to know
which formula and which value every cell should hold. One plan, three users:
the writer and the verifier cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from string import ascii_uppercase
from typing import Any

INPUT = "input"
LABEL = "label"
FORMULA = "formula"


class NA:
    """The value of a formula that deliberately gives #N/A (a chart gap)."""

    def __repr__(self) -> str:
        return "#N/A"


NA_VALUE = NA()


@dataclass(slots=True)
class Cell:
    kind: str  # INPUT, LABEL or FORMULA
    value: Any  # input value, label text, or the model's result of the formula
    style: str
    formula: str | None = None  # without the leading '='
    name: str | None = None
    # For an input: what it sets, e.g. ("scenario", "agent", "input_share"),
    # ("provider", "io_net", "fixed_monthly"), ("book", "forecast_months"),
    # ("input_shares", 3). The verifier reads inputs back through these keys.
    key: tuple[Any, ...] | None = None


@dataclass
class Validation:
    first_row: int
    first_col: int
    last_row: int
    last_col: int
    options: dict[str, Any]


@dataclass
class Chart:
    """A native chart: XlsxWriter options, placed on ``sheet`` at ``anchor``."""

    sheet: str
    anchor: str
    type: dict[str, Any]
    series: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    # (sheet, first_row, col, last_row) of every value range, for the log-axis
    # check: no zero or negative point may reach a logarithmic axis.
    log_value_ranges: list[tuple[str, int, int, int]] = field(default_factory=list)


#: Excel's default column width (characters).
DEFAULT_WIDTH = 8.43
#: The widest a column grows to fit its text (characters).
FIT_CAP = 60.0
#: Styles whose text wraps in its cell, and styles printed bold.
WRAPPED = frozenset({"header_wrap"})
BOLD = frozenset({"header", "label_bold", "title"})


@dataclass
class SheetPlan:
    title: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    freeze: tuple[int, int] | None = None
    validations: list[Validation] = field(default_factory=list)
    colour_scales: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False
    tab_colour: str | None = None

    def fit_widths(self, cap: float = FIT_CAP) -> None:
        """Widen columns so no text is cut off by a filled cell to its right.

        Text overflows into an empty neighbour, so only cells whose right
        neighbour holds something count. Width is in characters of the
        default font, a little more for bold styles; a column grows to at
        most ``cap`` and never shrinks. Wrapped headings are left alone.
        """
        cells = self.cells
        # The longest line of text in each column, bold and plain apart.
        longest: dict[tuple[int, bool], int] = {}
        for (row, col), cell in cells.items():
            value = cell.value
            if not isinstance(value, str) or not value or cell.style in WRAPPED:
                continue
            length = len(value)
            if "\n" in value:
                length = max(len(line) for line in value.split("\n"))
            style = cell.style
            key = (col, style in BOLD or style.startswith("out:"))
            if length <= longest.get(key, 0):
                continue  # no longer than one counted already: no need to look right
            right = cells.get((row, col + 1))
            if right is None or right.value is None or right.value == "":
                continue
            longest[key] = length
        widths = self.widths
        for (col, bold), length in sorted(longest.items()):
            need = min(cap, length * (1.12 if bold else 1.0) + 1.5)
            if need > widths.get(col, DEFAULT_WIDTH):
                widths[col] = round(need, 1)

    def put(self, row: int, col: int, cell: Cell) -> Cell:
        self.cells[(row, col)] = cell
        return cell

    def input(
        self,
        row: int,
        col: int,
        value: Any,
        style: str,
        name: str | None = None,
        key: tuple[Any, ...] | None = None,
    ) -> Cell:
        cell = self.cells[(row, col)] = Cell(INPUT, value, style, None, name, key)
        return cell

    def label(self, row: int, col: int, text: str, style: str = "label") -> Cell:
        cell = self.cells[(row, col)] = Cell(LABEL, text, style)
        return cell

    def formula(
        self,
        row: int,
        col: int,
        formula: str,
        value: Any,
        style: str,
        name: str | None = None,
    ) -> Cell:
        cell = self.cells[(row, col)] = Cell(FORMULA, value, style, formula, name)
        return cell


@dataclass
class Plan:
    sheets: list[SheetPlan]
    charts: list[Chart] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    header: str = ""

    def sheet(self, title: str) -> SheetPlan:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise KeyError(title)

    def names(self) -> dict[str, tuple[str, int, int]]:
        """Every defined name -> (sheet title, row, col)."""
        out: dict[str, tuple[str, int, int]] = {}
        for sheet in self.sheets:
            for (row, col), cell in sheet.cells.items():
                if cell.name:
                    out[cell.name] = (sheet.title, row, col)
        return out

    def inputs(self) -> list[tuple[str, int, int, Cell]]:
        """Every input cell: (sheet title, row, col, cell)."""
        return [
            (sheet.title, row, col, cell)
            for sheet in self.sheets
            for (row, col), cell in sheet.cells.items()
            if cell.kind == INPUT
        ]

    def cell(self, name: str) -> Cell:
        title, row, col = self.names()[name]
        return self.sheet(title).cells[(row, col)]


#: Column letters A to XFD (Excel's 16,384), computed once: a1() runs for
#: every reference of every cell. A to Z, then AA to ZZ, then AAA on.
_COLUMNS = [
    "".join(letters)
    for width in (1, 2, 3)
    for letters in product(ascii_uppercase, repeat=width)
][:16384]


def a1(row: int, col: int, row_abs: bool = False, col_abs: bool = False) -> str:
    """Zero-based (row, col) -> 'B7' style reference ('$B$7' when absolute)."""
    return f"{'$' if col_abs else ''}{_COLUMNS[col]}{'$' if row_abs else ''}{row + 1}"


def quote_sheet(title: str) -> str:
    """A sheet title as it must appear in a formula reference."""
    if title.replace("_", "").isalnum() and not title[0].isdigit():
        return title
    return "'" + title.replace("'", "''") + "'"


def ref(
    title: str, row: int, col: int, row_abs: bool = False, col_abs: bool = False
) -> str:
    return f"{quote_sheet(title)}!{a1(row, col, row_abs, col_abs)}"


def area(
    title: str | None,
    first_row: int,
    col: int,
    last_row: int,
    last_col: int | None = None,
) -> str:
    """An absolute range such as Costs!$K$7:$K$17 (``title`` None: same sheet)."""
    last_col = col if last_col is None else last_col
    text = f"{a1(first_row, col, True, True)}:{a1(last_row, last_col, True, True)}"
    return f"{quote_sheet(title)}!{text}" if title else text
