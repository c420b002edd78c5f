"""`infercost verify`: a workbook's formulas are checked against the Python model.

What issue 3 asks the command to show, through the command line: a fresh
workbook verifies clean with every engine; an input edited in the file
without recalculation verifies clean with a recalculating engine and fails
with cached values; every kind of tampering is caught and the cell named;
a workbook LibreOffice saved verifies from its cached values; a file that is
not an infercost workbook is refused in one line.

Edited and tampered workbooks are made with :mod:`xlsx_edit` (the zip's XML,
never openpyxl), once per module, and each is verified by every engine.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEFAULT_BOOK
from engines import hanging_soffice, require_engine, verify_with_hanging_engine
from xlsx_edit import (
    add_defined_name,
    add_row,
    add_sheet,
    cached_value,
    cell_with_formula,
    clear_cell,
    defined_name,
    delete_row,
    drop_cached_value,
    formula,
    rename_sheet,
    replace_formula_with_value,
    set_cell_text,
    set_cell_value,
    set_chart_reference,
    set_defined_name,
    set_formula,
    set_number_format,
)
from xlsxwriter.utility import xl_range_formula

from generator import model
from generator.cli import main
from generator.engine import available_engines, recalculate_to
from generator.layout import PB_COL, PB_FIRST, PRICEBOOK, build_plan
from generator.plan import a1
from generator.verify import normal_formula, read_workbook, verify_workbook

ENGINES = ["libreoffice", "gnumeric", "cached"]
RECALCULATING = ["libreoffice", "gnumeric"]

#: The cell most tamperings aim at: the agent cost of one per-token provider.
COST = "cost_agent_vertex_gpt_oss"


# ---------------------------------------------------------------------------
# Running the command


class Run:
    """One `infercost verify` run: exit code, printed text, parsed JSON."""

    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.json = json.loads(stdout) if stdout.lstrip().startswith("{") else None

    def findings(self, **match: object) -> list[dict]:
        """The JSON findings whose fields equal ``match``."""
        return [
            f
            for f in self.json["findings"]
            if all(f.get(key) == value for key, value in match.items())
        ]

    def errors(self) -> list[dict]:
        return self.findings(severity="error")


def verify(path: Path, engine: str, *options: str) -> Run:
    """`infercost verify --engine ENGINE [options] PATH` through click's runner."""
    if engine in RECALCULATING:
        require_engine(engine)
    args = ["verify", "--engine", engine, "--timeout", "120", *options, str(path)]
    result = CliRunner().invoke(main, args)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cell_of(path: Path, name: str) -> tuple[str, str]:
    """(sheet, cell) of defined name ``name`` in the workbook file."""
    return defined_name(path, name)


def at(path: Path, name: str) -> str:
    """'Sheet!A1' of defined name ``name``."""
    sheet, cell = cell_of(path, name)
    return f"{sheet}!{cell}"


def where(finding: dict) -> str:
    return f"{finding['sheet']}!{finding['cell']}"


# ---------------------------------------------------------------------------
# A fresh workbook


@pytest.fixture(scope="module")
def fresh_runs(built_workbook):
    """fresh_runs(engine) -> its --json run on the default workbook, once.

    Also returns (file hash, folder listing) from before and after the run.
    """
    runs: dict[str, tuple[Run, tuple, tuple]] = {}

    def state() -> tuple[str, list[str]]:
        folder = sorted(p.name for p in built_workbook.parent.iterdir())
        return digest(built_workbook), folder

    def run(engine: str) -> tuple[Run, tuple, tuple]:
        if engine not in runs:
            before = state()
            result = verify(built_workbook, engine, "--json")
            runs[engine] = (result, before, state())
        return runs[engine]

    return run


@pytest.mark.parametrize("engine", ENGINES)
def test_fresh_workbook_verifies_clean(fresh_runs, engine):
    """A freshly built workbook verifies with exit 0 and no finding of any kind."""
    run, _, _ = fresh_runs(engine)
    assert run.exit_code == 0, run.stdout
    assert run.json["ok"] is True
    assert run.json["engine"] == engine
    assert run.json["findings"] == []
    assert run.json["changed_inputs"] == []
    assert run.json["formulas"] > 1000 and run.json["names"] > 100


@pytest.mark.parametrize("engine", ENGINES)
def test_verify_leaves_the_file_byte_for_byte_unchanged(fresh_runs, engine):
    """Verification never writes the file, nor anything (a lock file) beside it."""
    _, before, after = fresh_runs(engine)
    assert before == after


def test_json_output_has_the_documented_fields(fresh_runs, tampered):
    """--json gives ok, engine, counts, and findings with sheet/cell/values."""
    run, _, _ = fresh_runs("cached")
    for key in ("ok", "engine", "workbook", "formulas", "names", "inputs"):
        assert key in run.json
    broken = verify(tampered("operator-changed"), "cached", "--json")
    finding = broken.errors()[0]
    for key in ("kind", "message", "severity", "sheet", "cell", "expected", "actual"):
        assert key in finding
    assert broken.json["ok"] is False


def test_human_summary_says_what_was_checked(built_workbook):
    """Without --json: the engine, the counts, and OK on the last line."""
    run = verify(built_workbook, "cached")
    assert run.exit_code == 0
    assert "with cached" in run.stdout
    assert re.search(
        r"checked [0-9,]+ formula cells and [0-9,]+ defined names", run.stdout
    )
    assert run.stdout.strip().splitlines()[-1].startswith("OK")


def test_engine_auto_says_which_engine_it_picked(built_workbook):
    """--engine auto picks LibreOffice, else Gnumeric, else cached, and says so."""
    present = available_engines()
    expected = present[0] if present else "cached"
    run = CliRunner().invoke(main, ["verify", "--engine", "auto", str(built_workbook)])
    assert run.exit_code == 0, run.output
    first = run.stdout.splitlines()[0]
    assert f"with {expected}; picked by --engine auto" in first


# ---------------------------------------------------------------------------
# An input edited in the file, cached results left stale


@pytest.fixture(scope="module")
def share_edited(built_workbook, tmp_path_factory) -> Path:
    """The default workbook with input_share_agent 0.35 -> 0.5, not recalculated."""
    path = tmp_path_factory.mktemp("share") / "share.xlsx"
    shutil.copyfile(built_workbook, path)
    sheet, cell = cell_of(path, "input_share_agent")
    assert cached_value(path, sheet, cell) == 0.35
    set_cell_value(path, sheet, cell, 0.5)
    return path


@pytest.fixture(scope="module")
def share_runs(share_edited):
    runs: dict[str, Run] = {}

    def run(engine: str) -> Run:
        if engine not in runs:
            runs[engine] = verify(share_edited, engine, "--json")
        return runs[engine]

    return run


def model_cost(book, provider_id: str, scenario_id: str, **changes) -> float:
    """The Python model's monthly cost, scenario fields changed by ``changes``."""
    scenario = next(s for s in book.scenarios if s.id == scenario_id)
    scenario = replace(scenario, **changes)
    provider = book.provider(provider_id)
    return model.monthly_cost(provider, scenario, scenario.base_tokens)


@pytest.mark.parametrize("engine", RECALCULATING)
def test_edited_input_verifies_clean_with_a_recalculating_engine(share_runs, engine):
    """The engine recomputes from the new input and agrees with the model."""
    run = share_runs(engine)
    assert run.exit_code == 0, run.stdout
    assert run.errors() == []
    assert run.json["changed_inputs"] == ["input_share_agent: 0.35 -> 0.5"]


@pytest.mark.parametrize("engine", RECALCULATING)
def test_edited_input_reports_stale_cached_values_at_the_model_s_new_numbers(
    share_runs, default_book, share_edited, engine
):
    """Stale cached values are warnings whose expected value is the model's at 0.5."""
    run = share_runs(engine)
    stale = run.findings(kind="stale", severity="warning", name=COST)
    assert len(stale) == 1
    new = model_cost(default_book, "vertex_gpt_oss", "agent", input_share=0.5)
    old = model_cost(default_book, "vertex_gpt_oss", "agent")
    assert not math.isclose(new, old, rel_tol=1e-6)
    assert math.isclose(stale[0]["expected"], new, rel_tol=1e-12)
    assert math.isclose(stale[0]["actual"], old, rel_tol=1e-12)
    assert where(stale[0]) == at(share_edited, COST)
    # Inputs are never stale, and the standard scenario did not move.
    assert not run.findings(kind="stale", name="cost_standard_vertex_gpt_oss")


def test_edited_input_summary_names_the_input_and_the_stale_values(share_edited):
    """The human summary lists the changed input and warns of stale values."""
    run = verify(share_edited, "gnumeric")
    assert run.exit_code == 0, run.stdout
    assert "input_share_agent: 0.35 -> 0.5" in run.stdout
    assert re.search(r"warning [0-9,]+ cached values are stale", run.stdout)


def test_edited_input_fails_with_cached_values(share_runs, default_book, share_edited):
    """With cached values the stale results are mismatches against the model."""
    run = share_runs("cached")
    assert run.exit_code == 1
    (cost,) = run.findings(kind="value", name=COST)
    assert where(cost) == at(share_edited, COST)
    new = model_cost(default_book, "vertex_gpt_oss", "agent", input_share=0.5)
    assert math.isclose(cost["expected"], new, rel_tol=1e-12)


# ---------------------------------------------------------------------------
# Tampering: each kind is caught and the cell named, by every engine


def typed_over(path: Path, name: str) -> str:
    """Type the formula's own cached value over it."""
    sheet, cell = cell_of(path, name)
    replace_formula_with_value(path, sheet, cell)
    return f"{sheet}!{cell}"


def typed_over_times_1_1(path: Path, name: str) -> str:
    """Type 1.1 times the formula's value over it."""
    sheet, cell = cell_of(path, name)
    replace_formula_with_value(path, sheet, cell, 1.1 * cached_value(path, sheet, cell))
    return f"{sheet}!{cell}"


def reference_shifted_one_row(path: Path, name: str) -> str:
    """Move the formula's first relative reference down one row."""
    sheet, cell = cell_of(path, name)
    text = formula(path, sheet, cell)
    ref = re.compile(r"(?<![A-Za-z0-9_$!.])([A-Z]{1,3})([0-9]+)(?![0-9A-Za-z_(!])")
    shifted, count = ref.subn(lambda m: f"{m[1]}{int(m[2]) + 1}", text, count=1)
    assert count == 1, text
    set_formula(path, sheet, cell, shifted)
    return f"{sheet}!{cell}"


def operator_changed(path: Path, name: str) -> str:
    """Turn the formula's first + into -."""
    sheet, cell = cell_of(path, name)
    text = formula(path, sheet, cell)
    assert "+" in text, text
    set_formula(path, sheet, cell, text.replace("+", "-", 1))
    return f"{sheet}!{cell}"


def name_pointed_elsewhere(path: Path, name: str) -> str:
    """Point the defined name at the cell to the left of its own."""
    sheet, cell = cell_of(path, name)
    column, row = re.fullmatch(r"([A-Z]+)([0-9]+)", cell).groups()
    left = chr(ord(column[-1]) - 1)
    assert column[:-1] == "" and left >= "A", cell
    set_defined_name(path, name, f"{sheet}!${left}${row}")
    return f"{sheet}!{cell}"


def pricebook_row_deleted(path: Path, name: str) -> str:
    """Delete the Pricebook row holding the name's cell, as a spreadsheet does."""
    sheet, cell = cell_of(path, name)
    row = int(re.search(r"[0-9]+", cell).group(0))
    delete_row(path, sheet, row)
    return f"{sheet}!{a1(row - 1, PB_COL['id'])}"


def cleared(path: Path, name: str) -> str:
    """Empty the formula's cell."""
    sheet, cell = cell_of(path, name)
    clear_cell(path, sheet, cell)
    return f"{sheet}!{cell}"


def _plan_of(path: Path):
    """The plan of the book a workbook file was built from."""
    return build_plan(read_workbook(path).built)


def typed_over_both_constants(path: Path, name: str) -> str:
    """Type over both constant formulas of the Inputs sheet (``name`` first)."""
    target = typed_over(path, name)
    typed_over(path, "rank_decimals")
    return target


def _typed_copy(path: Path, name: str) -> tuple[str, str]:
    """A new sheet Scratch whose A1 holds the value of ``name``'s cell, typed."""
    sheet, cell = cell_of(path, name)
    add_sheet(path, "Scratch", {"A1": cached_value(path, sheet, cell)})
    return sheet, cell


def sheet_level_name_shadows(path: Path, name: str) -> str:
    """A sheet-level ``name`` on Costs pointing at a typed copy of its value."""
    sheet, cell = _typed_copy(path, name)
    add_defined_name(path, name, "Scratch!$A$1", sheet="Costs")
    return f"{sheet}!{cell}"


def name_defined_twice(path: Path, name: str) -> str:
    """A first, fake definition of ``name`` (spreadsheets read the first)."""
    sheet, cell = _typed_copy(path, name)
    add_defined_name(path, name, "Scratch!$A$1", first=True)
    return f"{sheet}!{cell}"


def name_made_relative(path: Path, name: str) -> str:
    """Point ``name`` at its own cell without '$': it moves with each user."""
    sheet, cell = cell_of(path, name)
    set_defined_name(path, name, f"{sheet}!{cell}")
    return f"{sheet}!{cell}"


def intersection_space(path: Path, name: str) -> str:
    """Spell ``name`` as the intersection of two new names: 'input_share _x'.

    The two names meet at a typed copy of the value, so every engine computes
    the same numbers; only the formula text tells.
    """
    head, _, tail = name.rpartition("_")
    _typed_copy(path, name)
    add_defined_name(path, head, "Scratch!$A$1:$A$2")
    add_defined_name(path, f"_{tail}", "Scratch!$A$1:$B$1")
    cell = cell_with_formula(path, "Costs", name)
    set_formula(
        path,
        "Costs",
        cell,
        formula(path, "Costs", cell).replace(name, f"{head} _{tail}"),
    )
    return f"Costs!{cell}"


def chart_series_repointed(path: Path, name: str) -> str:
    """The first chart's first series plots the second chart's values."""
    first, second = _plan_of(path).charts[:2]
    old, new = (xl_range_formula(*c.series[0]["values"]) for c in (first, second))
    set_chart_reference(path, old, new)
    return f"{first.sheet}!{first.anchor}"


def pricing_label_changed(path: Path, name: str) -> str:
    """Turn the pricing label on the Costs row of ``name`` into 'fixed'."""
    sheet, cell = cell_of(path, name)
    row = int(re.search(r"[0-9]+", cell).group(0)) - 1
    cells = _plan_of(path).sheet(sheet).cells
    col = next(c for (r, c), v in cells.items() if r == row and v.value == "per_token")
    set_cell_text(path, sheet, a1(row, col), "fixed")
    return f"{sheet}!{a1(row, col)}"


def months_beyond_the_columns(path: Path, name: str) -> str:
    """One forecast month more than the Forecast sheet has columns."""
    sheet, cell = cell_of(path, name)
    set_cell_value(path, sheet, cell, cached_value(path, sheet, cell) + 1)
    return f"{sheet}!{cell}"


def pricebook_row_added_further_below(path: Path, name: str) -> str:
    """A provider row typed two rows below the Pricebook table."""
    row = PB_FIRST + len(read_workbook(path).built.providers) + 2
    id_cell = a1(row, PB_COL["id"])
    add_row(path, PRICEBOOK, {id_cell: "cheap_fake", a1(row, PB_COL[name]): 0.001})
    return f"{PRICEBOOK}!{id_cell}"


def number_format_shows_text(path: Path, name: str) -> str:
    """A number format on the cell that shows its value typed as text."""
    sheet, cell = cell_of(path, name)
    set_number_format(path, sheet, cell, f'"${cached_value(path, sheet, cell):.2f}"')
    return f"{sheet}!{cell}"


SHARE = "input_share_agent"
RATE = "input_rate_vertex_gpt_oss"  # a cell of the vertex_gpt_oss Pricebook row
CANARY = "tokens_per_million"  # a constant formula (verify once planted its canary)
MONTHS = "forecast_months"

# One line a kind of tampering: how; the defined name of the cell it aims at;
# the kind of finding that must name that cell; and whether a recalculating
# engine must also find the cell's value wrong.
TAMPERINGS = {
    "formula-replaced-by-its-own-value": (typed_over, COST, "hard-coded", False),
    "value-times-1.1": (typed_over_times_1_1, COST, "hard-coded", True),
    "reference-shifted-one-row": (reference_shifted_one_row, COST, "formula", True),
    "operator-changed": (operator_changed, COST, "formula", True),
    "name-pointed-elsewhere": (name_pointed_elsewhere, SHARE, "name", False),
    "pricebook-row-deleted": (pricebook_row_deleted, RATE, "structure", False),
    "formula-deleted": (cleared, COST, "missing", True),
    "canary-cell-typed-over": (typed_over, CANARY, "hard-coded", False),
    "both-constants-typed-over": (
        typed_over_both_constants,
        CANARY,
        "hard-coded",
        False,
    ),
    "sheet-level-name-shadows": (sheet_level_name_shadows, SHARE, "name", False),
    "name-defined-twice-fake-first": (name_defined_twice, SHARE, "name", False),
    "name-made-relative": (name_made_relative, SHARE, "name", False),
    "intersection-space": (
        intersection_space,
        "input_share_standard",
        "formula",
        False,
    ),
    "chart-series-repointed": (chart_series_repointed, None, "chart", False),
    "pricing-label-changed": (pricing_label_changed, COST, "label", False),
    "pricebook-row-added-further-below": (
        pricebook_row_added_further_below,
        "input_rate",
        "structure",
        False,
    ),
    "number-format-shows-text": (number_format_shows_text, COST, "format", False),
    "forecast-months-beyond-the-columns": (
        months_beyond_the_columns,
        MONTHS,
        "input",
        False,
    ),
}


@pytest.fixture(scope="module")
def tampered(built_workbook, tmp_path_factory):
    """tampered(kind) -> a copy of the default workbook with that tampering."""
    made: dict[str, Path] = {}
    targets: dict[str, str] = {}
    folder = tmp_path_factory.mktemp("tampered")

    def make(kind: str) -> Path:
        if kind not in made:
            edit, name, _, _ = TAMPERINGS[kind]
            path = folder / f"{kind}.xlsx"
            shutil.copyfile(built_workbook, path)
            targets[kind] = edit(path, name)
            made[kind] = path
        return made[kind]

    make.targets = targets
    return make


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_tampering_is_caught_and_the_cell_named(tampered, kind, engine):
    """Exit 1, and a finding of the expected kind names the tampered cell."""
    path = tampered(kind)
    before = digest(path)
    run = verify(path, engine, "--json")
    assert run.exit_code == 1, run.stdout
    assert run.json["ok"] is False
    target = tampered.targets[kind]
    _, _, expected_kind, engine_sees_value = TAMPERINGS[kind]
    named = {f["kind"] for f in run.errors() if where(f) == target}
    assert expected_kind in named, (target, run.errors()[:5])
    if engine_sees_value and engine in RECALCULATING:
        assert "value" in named, (target, run.errors()[:5])
    assert digest(path) == before


@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_tampering_is_named_in_the_human_summary(tampered, kind):
    """The plain output names the tampered cell as a MISMATCH."""
    path = tampered(kind)
    run = verify(path, "cached")
    assert run.exit_code == 1
    assert f"MISMATCH {tampered.targets[kind]}" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("FAILED")


def test_an_engine_that_does_not_recalculate_is_caught(built_workbook, monkeypatch):
    """The planted canary value surviving the engine is exit 2, never a pass."""
    import generator.verify

    def keep_cached_values(src, engine, out, timeout=300, **options):
        shutil.copyfile(src, out)  # what LibreOffice does with default settings
        return Path(out)

    monkeypatch.setattr(generator.verify, "recalculate_to", keep_cached_values)
    result = CliRunner().invoke(
        main, ["verify", "--engine", "gnumeric", str(built_workbook)]
    )
    assert result.exit_code == 2
    assert "gnumeric did not recalculate" in result.stderr


# Inputs the pricebook or the sheet's own validation refuses: (input typed
# into, value, input the finding names, what it says).
BROKEN_RULES = {
    "forecast-months-0": (MONTHS, 0, MONTHS, "from 1 to 120, got 0"),
    "forecast-months-7": (MONTHS, 7, MONTHS, "6 month columns"),
    "tier-6": ("min_quality_tier_standard", 6, None, "tier from 1 to 5, got 6"),
    "volume-1e300": ("base_tokens_standard", 1e300, None, "1e+15, got 1e+300"),
    "crossover-from-above-to": (
        "crossover_min_tokens",
        1e12,
        "crossover_max_tokens",
        "above crossover_min_tokens",
    ),
}


@pytest.fixture(scope="module")
def broken_rule(built_workbook, tmp_path_factory):
    """broken_rule(case) -> a copy of the workbook with that input typed."""
    folder = tmp_path_factory.mktemp("rules")

    def make(case: str) -> Path:
        name, value, _, _ = BROKEN_RULES[case]
        path = folder / f"{case}.xlsx"
        if not path.exists():
            shutil.copyfile(built_workbook, path)
            set_cell_value(path, *cell_of(path, name), value)
        return path

    return make


@pytest.mark.parametrize("case", list(BROKEN_RULES))
def test_input_that_breaks_a_rule_is_an_input_finding(broken_rule, case):
    """A value the pricebook or the cell's validation refuses: exit 1, cell named."""
    name, _, named, says = BROKEN_RULES[case]
    path = broken_rule(case)
    run = verify(path, "cached", "--json")
    assert run.exit_code == 1, run.stdout
    (finding,) = run.errors()
    assert finding["kind"] == "input"
    assert where(finding) == at(path, named or name)
    assert says in finding["message"]


@pytest.mark.parametrize("case", ["forecast-months-7", "crossover-from-above-to"])
def test_diff_and_keep_inputs_refuse_an_input_that_breaks_a_rule(
    broken_rule, case, tmp_path
):
    """diff says which cell it cannot read; --keep-inputs leaves that input behind."""
    from conftest import DEFAULT_BOOK

    path = broken_rule(case)
    cell = at(path, BROKEN_RULES[case][2] or BROKEN_RULES[case][0])
    diff = CliRunner().invoke(main, ["diff", str(path), str(DEFAULT_BOOK)])
    assert diff.exit_code == 2, diff.output
    assert diff.exception is None or isinstance(diff.exception, SystemExit)
    assert f"cannot read the inputs: {cell}: input " in diff.stderr
    out = tmp_path / "kept.xlsx"
    args = ["build", str(DEFAULT_BOOK), "--keep-inputs", str(path), "-o", str(out)]
    kept = CliRunner().invoke(main, args)
    assert kept.exit_code == 0, kept.output
    assert "not carried" in kept.stderr


def test_workbook_built_with_kept_inputs_keeps_its_labels_and_charts(
    built_workbook, tmp_path
):
    """Labels and chart titles written from carried inputs and overrides verify.

    The metadata keeps the pricebook's values; the gate carried over names
    itself in a chart title, the price override in a note and the legend.
    """
    from conftest import DEFAULT_BOOK

    old = tmp_path / "old.xlsx"
    shutil.copyfile(built_workbook, old)
    set_cell_value(old, *cell_of(old, "min_sla_agent"), 0.999)
    set_cell_value(old, *cell_of(old, RATE), 0.2)
    out = tmp_path / "kept.xlsx"
    args = ["build", str(DEFAULT_BOOK), "--keep-inputs", str(old), "-o", str(out)]
    kept = CliRunner().invoke(main, args)
    assert kept.exit_code == 0, kept.output
    run = verify(out, "cached", "--json")
    assert run.exit_code == 0, run.errors()[:3]
    assert not run.findings(kind="label") and not run.findings(kind="chart")


@pytest.mark.parametrize("engine", ENGINES)
def test_workbook_saved_by_openpyxl_verifies_through_the_engine(
    built_workbook, tmp_path, engine
):
    """No cached value anywhere: engines verify it, stale values are warnings."""
    import openpyxl

    path = tmp_path / "openpyxl.xlsx"
    openpyxl.load_workbook(built_workbook).save(path)
    run = verify(path, engine, "--json")
    if engine == "cached":
        assert run.exit_code == 1
        assert run.findings(kind="value", name=COST)
        return
    assert run.exit_code == 0, (run.stdout, run.stderr)
    assert run.errors() == []
    (stale,) = run.findings(kind="stale", name=COST)
    assert stale["actual"] is None


@pytest.mark.parametrize("engine", ENGINES)
def test_constants_without_cached_values_are_named(workbook_copy, engine):
    """The two constant formulas without cached results: the engine recomputes
    them (stale warnings); the cached values are mismatches."""
    for name in (CANARY, "rank_decimals"):
        drop_cached_value(workbook_copy, *cell_of(workbook_copy, name))
    run = verify(workbook_copy, engine, "--json")
    kind = "value" if engine == "cached" else "stale"
    assert run.exit_code == (1 if engine == "cached" else 0), run.stdout
    (finding,) = run.findings(kind=kind, name=CANARY)
    assert where(finding) == at(workbook_copy, CANARY)


@pytest.mark.parametrize("engine", RECALCULATING)
def test_line_break_in_a_formula_is_not_verifiable_with_gnumeric(workbook_copy, engine):
    """A line break is white space to LibreOffice; Gnumeric misreads it: one
    warning naming the formula, not a mismatch in every cell downstream."""
    sheet, cell = cell_of(workbook_copy, COST)
    text = formula(workbook_copy, sheet, cell)
    set_formula(workbook_copy, sheet, cell, text.replace("+", "+\n", 1))
    run = verify(workbook_copy, engine, "--json")
    assert run.exit_code == 0, run.errors()[:3]
    if engine == "libreoffice":
        assert run.json["findings"] == []
    else:
        (warning,) = run.json["findings"]
        assert warning["kind"] == "unverifiable"
        assert where(warning) == f"{sheet}!{cell}"
        assert "line break" in warning["message"]


def test_xlfn_prefixed_functions_are_checked_without_their_prefix(workbook_copy):
    """_xlfn.RANK.EQ (as Gnumeric and Excel save RANK) is fine; XLOOKUP is not."""
    add_sheet(
        workbook_copy,
        "Mine",
        {
            "A1": 1,
            "A2": 2,
            "B1": "=_xlfn.RANK.EQ(A1,A1:A2,1)",
            "B2": "=_xlfn.XLOOKUP(1,A1:A2,A1:A2)",
        },
    )
    run = verify(workbook_copy, "cached", "--json")
    assert run.exit_code == 0, run.errors()[:3]
    functions = run.findings(kind="function")
    assert [(where(f), f["message"].split()[1]) for f in functions] == [
        ("Mine!B2", "XLOOKUP")
    ]


def test_sheet_added_by_a_user_is_not_an_error(built_workbook, tmp_path):
    """Extra sheets with the user's own numbers and formulas do not fail verify."""
    path = tmp_path / "extra.xlsx"
    shutil.copyfile(built_workbook, path)
    add_sheet(path, "My notes", {"A1": "budget", "B1": 1200, "B2": "=B1*2"})
    for engine in ("cached", "gnumeric"):
        run = verify(path, engine, "--json")
        assert run.exit_code == 0, (engine, run.errors()[:5])


# ---------------------------------------------------------------------------
# Workbooks saved by a spreadsheet: their cached values are real results


@pytest.fixture(scope="module")
def saved_by(built_workbook, share_edited, tmp_path_factory):
    """saved_by(engine, source) -> the source recalculated and saved by engine."""
    folder = tmp_path_factory.mktemp("saved")
    sources = {"fresh": built_workbook, "share": share_edited}

    def save(engine: str, source: str) -> Path:
        require_engine(engine)
        out = folder / f"{source}-{engine}.xlsx"
        if not out.exists():
            recalculate_to(sources[source], engine, out, timeout=120)
        return out

    return save


def test_workbook_saved_by_libreoffice_verifies_from_cached_values(saved_by):
    """LibreOffice's saved results and formula spelling pass in cached mode."""
    run = verify(saved_by("libreoffice", "fresh"), "cached", "--json")
    assert run.exit_code == 0, run.errors()[:5]
    assert run.json["findings"] == []


def test_edited_workbook_saved_by_libreoffice_verifies_from_cached_values(
    saved_by,
):
    """Edited, then recalculated and saved (as Excel would): clean in cached mode."""
    run = verify(saved_by("libreoffice", "share"), "cached", "--json")
    assert run.exit_code == 0, run.errors()[:5]
    assert run.json["changed_inputs"] == ["input_share_agent: 0.35 -> 0.5"]


def test_workbook_saved_by_gnumeric_verifies_from_cached_values(saved_by):
    """Gnumeric writes RANK as _xlfn.RANK.EQ and 1e-06 at length: same formulas,
    no function warning; its own _xlnm names are not ours to check."""
    run = verify(saved_by("gnumeric", "fresh"), "cached", "--json")
    assert run.exit_code == 0, run.errors()[:5]
    assert run.json["findings"] == []


SAME_FORMULA = [
    ("=A1+B1", "= a1 + b1"),
    ("=Costs!$I$14", "='Costs'!$I$14"),
    ("=RANK(O14,$O$14:$O$24,1)", "=_xlfn.RANK.EQ(O14,$O$14:$O$24,1)"),
    ("=A1<=0.000001*(1+B1)", "=A1<=1.00000000000000000004e-06*(1+B1)"),
    ("=A1*1000000", "=A1*1E6"),
    ('=IF(A1=1,"yes","")', '=if(a1=1,"yes","")'),
    ("=E14+F14+G14+H14", "=e14 + F14 +\nG14+ H14 "),
    ("=IF(A1,SUM(B1:B2),1)", "=IF( A1 , SUM( B1:B2 ) ,1 )"),
    ("=Costs!$I$14", "= 'Costs'!$I$14"),
]
DIFFERENT_FORMULA = [
    ("=A1+B1", "=A1-B1"),
    ("=E39+F39", "=E40+F39"),
    ("=$A$1", "=A1"),
    ("=SUM(A1:A3)", "=SUM(A1:A4)"),
    ("=A1*0.5", "=A1*0.50000001"),
    ("=RANK(A1,B1:B3,1)", "=RANK(A1,B1:B3,0)"),
    ('="a b"', '="ab"'),
    ('="x"', '="X"'),
    ("=cost_agent_io_net", "=cost_agent_io_nets"),
    ("=MIN(A1:A3)", "=MAX(A1:A3)"),
    ("=A1", "{=A1}"),
    ("=input_share_standard*2", "=input_share _standard*2"),
    ("=SUM(A1:B2)", "=SUM(A1 :B2 B1:C1)"),
    ("=SUM(A1:B2)", "=SUM((A1:B2) (B1:C1))"),
    ("=Costs!$I$14", "='Costs'!$I$14 Costs!$I$1:$I$20"),
]


@pytest.mark.parametrize(("ours", "saved"), SAME_FORMULA)
def test_normal_formula_absorbs_spelling(ours, saved):
    """Spelling an engine may change on save does not count as a change."""
    assert normal_formula(ours) == normal_formula(saved)


@pytest.mark.parametrize(("ours", "changed"), DIFFERENT_FORMULA)
def test_normal_formula_keeps_every_semantic_difference(ours, changed):
    """A changed reference, operator, constant, string or function is a change."""
    assert normal_formula(ours) != normal_formula(changed)


# ---------------------------------------------------------------------------
# Files that are not infercost workbooks: exit 2, one line, no traceback


@pytest.fixture(scope="module")
def not_workbooks(built_workbook, tmp_path_factory) -> dict[str, Path]:
    import xlsxwriter

    folder = tmp_path_factory.mktemp("not")
    text = folder / "notes.xlsx"
    text.write_text("quarterly costs\nsee the attachment\n", encoding="utf-8")
    truncated = folder / "truncated.xlsx"
    data = built_workbook.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    plain = folder / "plain.xlsx"
    book = xlsxwriter.Workbook(str(plain))
    book.add_worksheet("Costs").write_formula("A1", "=1+1", None, 2)
    book.close()
    empty = folder / "empty.xlsx"
    empty.write_bytes(b"")
    return {"text": text, "truncated": truncated, "plain": plain, "empty": empty}


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("text", "a text file, not an xlsx workbook"),
        ("truncated", "truncated"),
        ("plain", "not made by infercost"),
        ("empty", "an empty file"),
    ],
)
def test_not_an_infercost_workbook_exits_2_in_one_line(not_workbooks, kind, says):
    """The real command prints one 'Error:' line naming the file and what it is."""
    path = not_workbooks[kind]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator.cli",
            "verify",
            "--engine",
            "cached",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"Error: {path}: ")
    assert says in lines[0]
    assert "Traceback" not in proc.stderr


def test_json_on_exit_2_is_an_error_object(not_workbooks):
    """--json: a file verify cannot read still gives JSON on stdout, and the
    one error line on stderr."""
    path = not_workbooks["text"]
    run = verify(path, "cached", "--json")
    assert run.exit_code == 2
    assert run.json == {
        "ok": False,
        "workbook": str(path),
        "error": f"{path}: a text file, not an xlsx workbook",
        "exit_code": 2,
    }
    assert run.stderr.strip() == f"Error: {path}: a text file, not an xlsx workbook"


@pytest.mark.parametrize("engine", RECALCULATING)
def test_not_a_workbook_is_refused_before_any_engine_runs(not_workbooks, engine):
    """With a recalculating engine too, a text file is exit 2, not a CSV import."""
    run = verify(not_workbooks["text"], engine)
    assert run.exit_code == 2
    assert "a text file, not an xlsx workbook" in run.stderr


def test_negative_tolerance_is_a_usage_error(built_workbook):
    """--tolerance below 0 is exit 2 with the option named, not a traceback."""
    run = verify(built_workbook, "cached", "--tolerance", "-1")
    assert run.exit_code == 2
    assert "--tolerance" in run.stderr


# --- a hanging engine: timeout and SIGTERM ------------------------------------


def _dead(pid: int, within: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_engine_timeout_names_the_workbook_not_a_temporary_copy(
    workbook_copy, tmp_path, monkeypatch
):
    """--timeout: exit 2, one line naming the user's file; the engine is killed."""
    pid_file = tmp_path / "child.pid"
    for key, value in hanging_soffice(tmp_path / "bin", pid_file).items():
        monkeypatch.setenv(key, value)
    before = digest(workbook_copy)
    run = verify(workbook_copy, "libreoffice", "--timeout", "2")
    assert run.exit_code == 2, run.stderr
    assert run.stderr.strip() == (
        f"Error: libreoffice timed out after 2 s on {workbook_copy.name}"
    )
    assert _dead(int(pid_file.read_text()))
    assert digest(workbook_copy) == before


def test_sigterm_during_verify_stops_the_engine_and_cleans_up(workbook_copy, tmp_path):
    """A verify stopped with SIGTERM kills the engine it started and its files."""
    import signal

    child, pid_file, scratch = verify_with_hanging_engine(workbook_copy, tmp_path)
    try:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)  # a hang guard, generous for a loaded machine
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 128 + signal.SIGTERM
    assert _dead(int(pid_file.read_text()))
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_verify_json_stopped_by_a_signal_still_prints_json(
    workbook_copy, tmp_path, signame
):
    """A script reading ``verify --json`` gets JSON when verify is stopped
    (Ctrl-C, or SIGTERM from a job runner), not an empty stdout."""
    import signal

    number = getattr(signal, signame)
    child, pid_file, _ = verify_with_hanging_engine(
        workbook_copy, tmp_path, extra=("--json",)
    )
    try:
        child.send_signal(number)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 128 + number
    report = json.loads(out)
    assert report["ok"] is False
    assert report["exit_code"] == 128 + number
    assert report["error"] in ("interrupted (Ctrl-C)", f"stopped by signal {number}")
    assert _dead(int(pid_file.read_text()))


@pytest.mark.parametrize("count", [999_999_999, -1, "abc"], ids=["huge", "neg", "text"])
def test_damaged_metadata_count_is_refused_at_once(built_workbook, tmp_path, count):
    """A crafted chunk count on the metadata sheet is bounded by the rows there:
    exit 2 and one line, not a loop over a billion rows."""
    path = tmp_path / "meta.xlsx"
    shutil.copyfile(built_workbook, path)
    if isinstance(count, str):
        set_cell_text(path, "_infercost", "A3", count)
    else:
        set_cell_value(path, "_infercost", "A3", count)
    result = CliRunner().invoke(main, ["verify", "--engine", "cached", str(path)])
    assert result.exit_code == 2
    assert "metadata sheet is damaged" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("sheet", ["Costs", "Inputs", "Summary"])
def test_a_renamed_sheet_is_one_finding_that_says_rename_it_back(workbook_copy, sheet):
    """A spreadsheet rewrites every reference when a sheet is renamed: each
    formula and name that reads the sheet differs then. Verify says once
    which sheet to rename back, instead of a thousand findings."""
    rename_sheet(workbook_copy, sheet, f"My {sheet}")
    result = verify_workbook(workbook_copy, engine="cached")
    assert not result.ok
    assert [(f.sheet, f.message) for f in result.findings] == [
        (
            sheet,
            f"sheet is missing (it looks renamed to 'My {sheet}'); infercost "
            f"finds its sheets by name: rename it back to '{sheet}'",
        )
    ]


def test_a_renamed_inputs_sheet_stops_keep_inputs_and_build_in_one_line(
    workbook_copy, tmp_path
):
    rename_sheet(workbook_copy, "Inputs", "Assumptions")
    before = digest(workbook_copy)
    runner = CliRunner()
    out = tmp_path / "new.xlsx"
    keep = runner.invoke(
        main,
        [
            "build",
            str(DEFAULT_BOOK),
            "--keep-inputs",
            str(workbook_copy),
            "-o",
            str(out),
        ],
    )
    assert keep.exit_code == 2
    assert keep.stderr.strip() == (
        f"Error: {workbook_copy}: Inputs: sheet is missing (it looks renamed to "
        "'Assumptions'); infercost finds its sheets by name: rename it back to "
        "'Inputs'"
    )
    assert not out.exists()
    over = runner.invoke(main, ["build", str(DEFAULT_BOOK), "-o", str(workbook_copy)])
    assert over.exit_code == 2
    assert "rename it back to 'Inputs'; until then its edits cannot be checked" in (
        over.stderr
    )
    assert len(over.stderr.strip().splitlines()) == 1
    assert digest(workbook_copy) == before


def test_a_renamed_metadata_sheet_is_named_in_the_error(workbook_copy):
    rename_sheet(workbook_copy, "_infercost", "meta")
    result = CliRunner().invoke(
        main, ["verify", "--engine", "cached", str(workbook_copy)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {workbook_copy}: the infercost metadata sheet '_infercost' looks "
        "renamed to 'meta' (it holds the pricebook the workbook was built from); "
        "rename it back to '_infercost'"
    )


def test_two_swapped_sheet_names_are_two_findings(workbook_copy):
    """Costs and Ranking swapped: each sheet is known by its heading (A1)."""
    rename_sheet(workbook_copy, "Costs", "Swap")
    rename_sheet(workbook_copy, "Ranking", "Costs")
    rename_sheet(workbook_copy, "Swap", "Ranking")
    result = verify_workbook(workbook_copy, engine="cached")
    assert [(f.sheet, f.message) for f in result.findings] == [
        (
            sheet,
            f"sheet is missing (it looks renamed to '{other}'; the sheet called "
            f"'{sheet}' is another one); infercost finds its sheets by name: "
            f"rename it back to '{sheet}'",
        )
        for sheet, other in (("Costs", "Ranking"), ("Ranking", "Costs"))
    ]
