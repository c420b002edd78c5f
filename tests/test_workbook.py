"""The default workbook is a formula model: structure, literals, recalculation."""

from __future__ import annotations

import math
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.engine import read_values, recalculated_values
from generator.layout import (
    BREAKEVEN,
    CHECKS,
    COSTS,
    FORECAST,
    MULTIPLIERS,
    RANKING,
    SENSITIVITY,
    SUMMARY,
    Layout,
)
from generator.plan import FORMULA, a1
from tests.engines import require_engine
from tests.workbook_tools import relative

ROOT = Path(__file__).resolve().parent.parent
CALCULATION_SHEETS = (
    SUMMARY,
    COSTS,
    RANKING,
    MULTIPLIERS,
    BREAKEVEN,
    FORECAST,
    SENSITIVITY,
    CHECKS,
)
#: Published figures of the reference analysis: none may be typed anywhere.
PUBLISHED = (
    "4.5964",
    "10.5717",
    "12.8698",
    "13.7891",
    "359.5636",
    "423.016",
    "850.839",
    "2445.72",
    "2877.32",
    "141250.15",
    "27.61",
    "37.65",
    "1631720649",
    "4250243787",
    "794296197",
    "2068952475",
    "0.919275",
    "1.20175",
)


def test_every_number_on_calculation_sheets_is_a_formula(built_workbook):
    """No typed number on the calculation and output sheets."""
    wb = openpyxl.load_workbook(built_workbook)
    typed = []
    for title in CALCULATION_SHEETS:
        for row in wb[title].iter_rows():
            for cell in row:
                if isinstance(cell.value, (int, float)) and not isinstance(
                    cell.value, bool
                ):
                    typed.append(f"{title}!{cell.coordinate}={cell.value}")
    assert typed == []


def test_no_published_figure_is_a_literal_in_code_or_workbook(built_workbook):
    """Figures come from formulas over the pricebook, never from constants."""
    sources = [p for p in (ROOT / "generator").rglob("*.py")]
    sources += list((ROOT / "pricebooks").glob("*.yaml"))
    sources += list((ROOT / "templates").glob("*"))
    for path in sources:
        text = path.read_text(encoding="utf-8").replace("_", "").replace(",", "")
        for figure in PUBLISHED:
            assert figure not in text, f"{figure} typed in {path}"
    wb = openpyxl.load_workbook(built_workbook)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if value is None or isinstance(value, bool):
                    continue
                text = str(value).replace(",", "")
                for figure in PUBLISHED:
                    assert figure not in text, (
                        f"{figure} in {ws.title}!{cell.coordinate}"
                    )


def _runs(plan, title, rows_of, along_row: bool):
    """Yield lists of (row, col, formula) that must share one relative formula."""
    sheet = plan.sheet(title)
    groups: dict[tuple, list] = {}
    for (row, col), cell in sheet.cells.items():
        if cell.kind != FORMULA:
            continue
        key = rows_of(row, col)
        if key is not None:
            groups.setdefault(key, []).append((row, col, cell.formula))
    return groups.values()


def test_forecast_rows_are_one_formula_along_the_timeline(default_plan):
    """Every month of a forecast row is the same formula in relative terms."""
    checked = 0
    for run in _runs(default_plan, FORECAST, lambda r, c: r if c >= 3 else None, True):
        shapes = {relative("=" + f, row + 1, col + 1) for row, col, f in run}
        assert len(shapes) == 1, run[:2]
        checked += 1
    assert checked > 20


def test_grid_rows_are_one_formula_along_the_grid(default_book):
    """Crossover volumes and sensitivity grids: one formula along each row."""
    layout = Layout(default_book)
    plan = layout.build()
    rows: list[tuple[str, int, int]] = []  # (sheet, row, last column)
    shares = len(default_book.input_shares)
    factors = len(default_book.volume_factors)
    for blk in layout.sens_blocks.values():
        rows.append((SENSITIVITY, blk["head"], 1 + shares))
        rows += [
            (SENSITIVITY, r, 1 + shares) for r in range(blk["first"], blk["last"] + 1)
        ]
        rows.append((SENSITIVITY, blk["vhead"], 1 + factors))
        rows += [
            (SENSITIVITY, r, 1 + factors)
            for r in range(blk["vfirst"], blk["vlast"] + 1)
        ]
    for info in layout.crossover.values():
        last_col = 1 + info["n"]
        rows += [
            (BREAKEVEN, r, last_col)
            for r in range(info["vol_row"] - 1, info["last"] + 1)
        ]
    assert len(rows) > 50
    for title, row, last_col in rows:
        cells = plan.sheet(title).cells
        shapes = {
            relative("=" + cells[(row, col)].formula, row + 1, col + 1)
            for col in range(2, last_col + 1)
        }
        assert len(shapes) == 1, (title, row, shapes)


def test_cost_columns_are_one_formula_down_the_providers(default_book):
    """Down each Costs column, every provider row has the same relative formula."""
    layout = Layout(default_book)
    plan = layout.build()
    sheet = plan.sheet(COSTS)
    for block in layout.costs.values():
        for col in range(3, 18):
            shapes = {
                relative("=" + sheet.cells[(row, col)].formula, row + 1, col + 1)
                for row in range(block.first, block.last + 1)
            }
            assert len(shapes) == 1, (col, shapes)


def test_relative_helper_sees_the_difference():
    """Guard for the helper: shifted references give different shapes."""
    assert relative("=A1+B$2", 1, 1) == relative("=B2+C$2", 2, 2)
    assert relative("=A1", 1, 1) != relative("=A2", 1, 1)
    assert relative("=LOG10(A1)", 1, 1).startswith("=LOG10(")


def test_libreoffice_recalculation_equals_cached_values(built_workbook, default_plan):
    """LibreOffice, forced to recalculate, agrees with every cached value."""
    require_engine("libreoffice")
    engine = recalculated_values(built_workbook, "libreoffice")
    cached = read_values(built_workbook)
    compared = 0
    for sheet in default_plan.sheets:
        for (row, col), cell in sheet.cells.items():
            if cell.kind != FORMULA:
                continue
            ref = a1(row, col)
            want = cached.get(sheet.title, {}).get(ref)
            got = engine.get(sheet.title, {}).get(ref)
            compared += 1
            if isinstance(want, float) or isinstance(got, float):
                assert isinstance(got, (int, float)), (sheet.title, ref, want, got)
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (
                    sheet.title,
                    ref,
                    cell.formula,
                    want,
                    got,
                )
            else:
                assert got == want, (sheet.title, ref, cell.formula, want, got)
    assert compared > 1000


BAD = {
    "duplicated key": (
        "  - id: io_net\n",
        "  - id: io_net\n    id: io_net2\n",
        r":\d+:\d+: providers\[6\]\.id: duplicated key 'id' \(first on "
        r"line \d+, again on line \d+\)",
    ),
    "string rate": (
        "    input_rate: 0.09\n",
        "    input_rate: '$0.09'\n",
        r":\d+:\d+: providers\[1\]\.input_rate: expected a number >= 0, "
        r"got '\$0\.09'",
    ),
    "unknown field": (
        "    output_rate: 0.29\n",
        "    output_rate: 0.29\n    ouput: 1\n",
        r":\d+:\d+: providers\[1\]\.ouput: unknown field \(did you mean "
        r"'output_rate'\?\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_pricebook_is_rejected_with_its_line(case, tmp_path):
    """Exit 2, one line naming file, line and field; no workbook written."""
    old, new, pattern = BAD[case]
    text = (ROOT / "pricebooks" / "2026-02-21.yaml").read_text()
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1))
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(main, ["build", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {bad}:")
    assert re.search(pattern, lines[0]), lines[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]
    assert "Traceback" not in result.output


def test_many_pairs_list_the_headline_pairs_only(tmp_path: Path) -> None:
    """Past PAIRS_ALL_LIMIT fixed x per-token pairs, the Breakeven sheet lists
    the headline pairs only, so the sheet grows with the rows, not their
    product; every fixed row still meets the cheapest per-token row."""
    import yaml

    from generator.layout import PAIRS_ALL_LIMIT, build_plan
    from generator.pricebook import load_book

    default = Path(__file__).resolve().parent.parent / "pricebooks" / "2026-02-21.yaml"
    data = yaml.safe_load(default.read_text(encoding="utf-8"))
    fixed = next(p for p in data["providers"] if p["id"] == "io_net")
    token = next(p for p in data["providers"] if p["id"] == "bedrock_gemma3_12b")
    data["providers"] += [
        {**fixed, "id": f"gpu_{k}", "label": f"GPU {k}", "fixed_monthly": 300 + k}
        for k in range(40)
    ] + [
        {**token, "id": f"api_{k}", "label": f"API {k}", "output_rate": 0.3 + k / 100}
        for k in range(30)
    ]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    book = load_book([path])
    n_fixed = sum(p.is_fixed for p in book.providers)
    assert n_fixed * (len(book.providers) - n_fixed) > PAIRS_ALL_LIMIT
    plan = build_plan(book)
    names = [n for n in plan.names() if n.startswith("breakeven_standard_")]
    assert sorted(names) == sorted(
        f"breakeven_standard_{f}_{t}" for f, t in book.breakeven_pairs
    )
    sheet = plan.sheet("Breakeven")
    labels = [c.value for c in sheet.cells.values() if isinstance(c.value, str)]
    assert "The headline break-even pairs" in labels
    table1 = [
        c for (r, col), c in sheet.cells.items() if col == 1 and c.value == "gpu_7"
    ]
    assert len(table1) >= 2  # against the cheapest per-token row, each scenario


def test_show_lists_a_bounded_number_of_pairs(tmp_path: Path) -> None:
    """`show` on a book of many fixed and per-token rows and no headline pairs
    lists the first pairs and counts the rest, then the recommendations."""
    import yaml

    from generator.report import PAIRS_SHOWN

    default = Path(__file__).resolve().parent.parent / "pricebooks" / "2026-02-21.yaml"
    data = yaml.safe_load(default.read_text(encoding="utf-8"))
    del data["breakeven_pairs"]
    fixed = next(p for p in data["providers"] if p["id"] == "io_net")
    token = next(p for p in data["providers"] if p["id"] == "bedrock_gemma3_12b")
    data["providers"] += [
        {**fixed, "id": f"gpu_{k}", "label": f"GPU {k}"} for k in range(30)
    ] + [{**token, "id": f"api_{k}", "label": f"API {k}"} for k in range(30)]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 0, result.output
    pairs = [line for line in result.output.splitlines() if line.startswith("gpu_")]
    assert 0 < len(pairs) <= PAIRS_SHOWN
    assert f"... and {32 * 39 - PAIRS_SHOWN:,} more pairs" in result.output
    assert "agent: lowest break-even" in result.output
