"""Build a workbook from pricebook files: load, lay out, write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .layout import build_plan
from .pricebook import Book, load_book
from .writer import write_plan


@dataclass
class BuildReport:
    """What a build wrote, for the one line the CLI prints."""

    path: Path
    providers: int
    scenarios: int
    sheets: int
    charts: int
    warnings: list[str]


def build_workbook(pricebooks: list[Path], out: Path) -> BuildReport:
    """Load ``pricebooks``, write the workbook to ``out`` and say what was done."""
    book = load_book(pricebooks)
    return write_book(book, out)


def write_book(book: Book, out: Path) -> BuildReport:
    plan = build_plan(book)
    write_plan(plan, out)
    return BuildReport(
        out,
        len(book.providers),
        len(book.scenarios),
        len(plan.sheets),
        len(plan.charts),
        list(book.warnings),
    )
