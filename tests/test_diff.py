"""`infercost diff` names every price change and what it does to the model;
`build --previous` puts the same in a Changes sheet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from engines import require_engine
from xlsx_edit import set_cell_value

from generator import model as m
from generator.cli import main
from generator.diff import (
    APPEARED,
    MOVED,
    VANISHED,
    Change,
    diff_books,
    headline,
    load_side,
    render_diff,
    snapshot,
)
from generator.layout import EVALUATE, NO_FIXED_ELIGIBLE, STAY, build_plan
from generator.plan import a1
from generator.pricebook import load_book
from generator.verify import verify_workbook

ROOT = Path(__file__).resolve().parent.parent
FEB = ROOT / "pricebooks" / "2026-02-21.yaml"
REMOVED = "openai_41_mini"


def without_provider(text: str, pid: str) -> str:
    start = text.index(f"  - id: {pid}\n")
    end = re.compile(r"^  - id: |^\S", re.M).search(text, start + 1)
    assert end is not None
    return text[:start] + text[end.start() :]


@pytest.fixture
def march(tmp_path) -> Path:
    """February with two price changes and one provider removed."""
    text = FEB.read_text(encoding="utf-8")
    text = text.replace("output_rate: 0.29", "output_rate: 0.35", 1)  # Bedrock 12B
    text = text.replace("fixed_monthly: 210", "fixed_monthly: 400", 1)  # io.net
    text = text.replace("price_date: 2026-02-21", "price_date: 2026-03-21", 1)
    text = without_provider(text, REMOVED)
    path = tmp_path / "2026-03-21.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def expected_ranks(book, s) -> dict[str, int | None]:
    costs = [m.monthly_cost(p, s, s.base_tokens) for p in book.providers]
    ok = [m.eligibility(p, s)[0] for p in book.providers]
    return dict(zip([p.id for p in book.providers], m.ranks(costs, ok), strict=True))


def test_diff_reports_exactly_the_changes(march):
    """Two price changes and one removed provider, and nothing else."""
    diff = diff_books(load_side(FEB), load_side(march))
    assert diff.providers_removed == [REMOVED]
    assert diff.providers_added == []
    assert diff.provider_changes == [
        Change(
            "bedrock_gemma3_12b",
            "output_rate",
            0.29,
            0.35,
            pytest.approx(20.69, abs=0.01),
        ),
        Change("io_net", "fixed_monthly", 210.0, 400.0, pytest.approx(90.48, abs=0.01)),
    ]
    assert diff.scenario_changes == []
    assert diff.settings_changes == []
    assert diff.old.price_date == "2026-02-21"
    assert diff.new.price_date == "2026-03-21"


def test_diff_reports_rank_moves_per_scenario(march):
    """Rank moves are exactly the model's rank changes of the remaining rows."""
    a, b = load_book([FEB]), load_book([march])
    diff = diff_books(load_side(FEB), load_side(march))
    for effect in diff.effects:
        sa = next(s for s in a.scenarios if s.id == effect.scenario)
        sb = next(s for s in b.scenarios if s.id == effect.scenario)
        old, new = expected_ranks(a, sa), expected_ranks(b, sb)
        want = {
            pid: (old.get(pid), new.get(pid))
            for pid in {*old, *new}
            if old.get(pid) != new.get(pid)
        }
        got = {r.provider: (r.old, r.new) for r in effect.ranks}
        assert got == want
        assert want  # the changes do move ranks
    standard = diff.effects[0]
    moves = {r.provider: (r.old, r.new) for r in standard.ranks}
    assert moves["bedrock_gemma3_12b"] == (3, 4)  # dearer: passed by Vertex Mistral
    assert moves["vertex_mistral"] == (4, 3)
    removed = [r for r in standard.ranks if r.provider == REMOVED]
    old_rank = expected_ranks(a, a.scenarios[0])[REMOVED]
    assert old_rank is not None  # a ranked row left the book
    assert [(r.old, r.new, r.new_status) for r in removed] == [
        (old_rank, None, "removed")
    ]


def test_diff_reports_break_even_effects(march):
    """io.net's pairs move, Bedrock 12B's move, the removed row's pairs vanish."""
    a, b = load_book([FEB]), load_book([march])
    diff = diff_books(load_side(FEB), load_side(march))
    for effect in diff.effects:
        sa = next(s for s in a.scenarios if s.id == effect.scenario)
        sb = next(s for s in b.scenarios if s.id == effect.scenario)
        got = {(c.fixed, c.token): c for c in effect.breakevens}
        tokens = [p.id for p in a.providers if not p.is_fixed]
        want = {("io_net", t): MOVED for t in tokens if t != REMOVED}
        want[("hf_dedicated", "bedrock_gemma3_12b")] = MOVED
        want[("io_net", REMOVED)] = VANISHED
        want[("hf_dedicated", REMOVED)] = VANISHED
        assert {k: c.kind for k, c in got.items()} == want
        pair = got[("io_net", "bedrock_gemma3_12b")]
        io_a, io_b = a.provider("io_net"), b.provider("io_net")
        gemma_a, gemma_b = (
            a.provider("bedrock_gemma3_12b"),
            b.provider("bedrock_gemma3_12b"),
        )
        assert pair.old_volume == m.breakeven(io_a, gemma_a, sa).volume
        assert pair.new_volume == m.breakeven(io_b, gemma_b, sb).volume
        assert pair.headline
        assert got[("io_net", REMOVED)].new_status == "absent"
        assert APPEARED not in {c.kind for c in got.values()}


def test_no_fixed_row_is_the_same_decision_as_staying(tmp_path):
    """Stay on pay-per-token -> "(no eligible fixed-cost row)" is no flip."""
    data = yaml.safe_load(FEB.read_text(encoding="utf-8"))
    fixed = [p["id"] for p in data["providers"] if p["pricing"] == "fixed"]
    assert fixed
    data["providers"] = [p for p in data["providers"] if p["id"] not in fixed]
    del data["breakeven_pairs"]
    crossover = data["crossover"]
    crossover["providers"] = [p for p in crossover["providers"] if p not in fixed]
    only_tokens = tmp_path / "no-fixed.yaml"
    only_tokens.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    diff = diff_books(load_side(FEB), load_side(only_tokens))
    standard = next(e for e in diff.effects if e.scenario == "standard")
    assert standard.old.recommendation == STAY
    assert standard.new.recommendation == NO_FIXED_ELIGIBLE
    assert not standard.flipped
    assert "recommendation (same decision)" in render_diff(diff)


def test_diff_flags_a_flipped_recommendation(march):
    """io.net at $400 no longer breaks even below the agent volume: flipped."""
    diff = diff_books(load_side(FEB), load_side(march))
    by_id = {e.scenario: e for e in diff.effects}
    assert not by_id["standard"].flipped
    agent = by_id["agent"]
    assert agent.flipped
    assert (agent.old.recommendation, agent.new.recommendation) == (EVALUATE, STAY)
    assert agent.old.cheapest == "io_net"
    assert agent.new.cheapest == "vertex_gpt_oss"


def test_diff_cost_and_forecast_deltas(march):
    """Costs change only for the two repriced rows; deltas are the model's."""
    a = load_book([FEB])
    diff = diff_books(load_side(FEB), load_side(march))
    for effect in diff.effects:
        sa = next(s for s in a.scenarios if s.id == effect.scenario)
        assert [c.provider for c in effect.costs] == [
            REMOVED,
            "bedrock_gemma3_12b",
            "io_net",
        ]
        io = next(c for c in effect.costs if c.provider == "io_net")
        assert io.delta == pytest.approx(190.0)
        assert io.total_delta == pytest.approx(190.0 * 6)
        gemma = next(c for c in effect.costs if c.provider == "bedrock_gemma3_12b")
        old = m.monthly_cost(a.provider("bedrock_gemma3_12b"), sa, sa.base_tokens)
        assert gemma.old == pytest.approx(old, rel=1e-12)


def test_diff_shows_the_costs_of_added_and_removed_providers(march, tmp_path):
    """A provider on one side only shows its cost and forecast total on that
    side (text and JSON), the other side and the deltas empty."""
    text = march.read_text(encoding="utf-8")
    added = (
        "  - id: together_llama\n    label: Together Llama\n    model: llama\n"
        "    pricing: per_token\n    input_rate: 0.05\n    output_rate: 0.12\n"
        "    quality_tier: 4\n    source: https://together.ai/pricing\n"
        "    checked: 2026-03-21\n"
    )
    text = text.replace("\n# The pairs", "\n" + added + "\n# The pairs", 1)
    march.write_text(text, encoding="utf-8")
    a, b = load_book([FEB]), load_book([march])
    diff = diff_books(load_side(FEB), load_side(march))
    standard = diff.effects[0]
    s = a.scenarios[0]
    costs = {c.provider: c for c in standard.costs}
    gone, new = costs[REMOVED], costs["together_llama"]
    removed_cost = m.monthly_cost(a.provider(REMOVED), s, s.base_tokens)
    added_cost = m.monthly_cost(b.provider("together_llama"), s, s.base_tokens)
    assert gone.old == pytest.approx(removed_cost, rel=1e-12)
    assert gone.old_total == pytest.approx(
        sum(m.forecast_costs(a.provider(REMOVED), s, 6)), rel=1e-12
    )
    assert (gone.new, gone.new_total, gone.delta, gone.total_delta) == (None,) * 4
    assert new.new == pytest.approx(added_cost, rel=1e-12)
    assert (new.old, new.old_total, new.delta, new.total_delta) == (None,) * 4
    rendered = render_diff(diff)
    line = next(
        x for x in rendered.splitlines() if x.startswith("together_llama ") and "$" in x
    )
    assert "added" in line and f"${added_cost:,.4f}" in line
    result = CliRunner().invoke(main, ["diff", "--json", str(FEB), str(march)])
    data = json.loads(result.stdout)
    rows = {c["provider"]: c for c in data["scenarios"][0]["costs"]}
    assert rows["together_llama"]["old"] is None
    assert rows["together_llama"]["new"] == pytest.approx(added_cost, rel=1e-12)
    assert rows[REMOVED]["new_total"] is None


def test_headline_matches_the_workbook(march):
    """The diff's headline figures are the workbook's named Summary cells."""
    for path in (FEB, march):
        book = load_book([path])
        plan = build_plan(book)
        for s in book.scenarios:
            figures = headline(book, s)
            assert plan.cell(f"recommendation_{s.id}").value == figures.recommendation
            assert plan.cell(f"cheapest_{s.id}").value == figures.cheapest
            low = plan.cell(f"lowest_breakeven_{s.id}").value
            assert (low if low != "" else None) == figures.lowest_breakeven


def test_no_changes(march):
    """Two equal snapshots: no change, and the command still exits 0."""
    diff = diff_books(load_side(march), load_side(march))
    assert not diff.changed
    result = CliRunner().invoke(main, ["diff", str(march), str(march)])
    assert result.exit_code == 0
    assert "No changes" in result.output


def test_diff_command_text_and_json(march):
    """Text names the dates and changes; --json carries the same, exit 0."""
    result = CliRunner().invoke(main, ["diff", str(FEB), str(march)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "prices of 2026-02-21" in text and "prices of 2026-03-21" in text
    assert "rows checked 2026-02-21" in text
    assert re.search(r"bedrock_gemma3_12b\s+output_rate\s+\$0\.2900\s+\$0\.3500", text)
    assert "recommendation (FLIPPED)" in text
    result = CliRunner().invoke(main, ["diff", "--json", str(FEB), str(march)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["changed"] is True
    assert data["providers_removed"] == [REMOVED]
    assert [c["field"] for c in data["provider_changes"]] == [
        "output_rate",
        "fixed_monthly",
    ]
    agent = next(e for e in data["scenarios"] if e["scenario"] == "agent")
    assert agent["flipped"] is True


def test_diff_json_carries_the_checked_dates(march, tmp_path):
    """--json gives each side's range of row checked dates and each changed
    row's new checked date, as the text report does."""
    text = march.read_text(encoding="utf-8").replace(
        "checked: 2026-02-21", "checked: 2026-03-20"
    )
    text = text.replace("checked: 2026-03-20", "checked: 2026-03-21", 1)
    march.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", "--json", str(FEB), str(march)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["old"]["rows_checked"] == {"first": "2026-02-21", "last": "2026-02-21"}
    assert data["new"]["rows_checked"] == {"first": "2026-03-20", "last": "2026-03-21"}
    book = load_book([march])
    for change in data["provider_changes"]:
        assert change["checked"] == book.provider(change["id"]).checked.isoformat()
    text = CliRunner().invoke(main, ["diff", str(FEB), str(march)]).stdout
    assert "rows checked 2026-03-20 to 2026-03-21" in text


def test_diff_of_a_workbook_shows_the_analysts_edits(workbook_copy, default_plan):
    """A workbook side is read at its current inputs."""
    title, row, col = default_plan.names()["input_share_agent"]
    set_cell_value(workbook_copy, title, a1(row, col), 0.5)
    diff = diff_books(load_side(FEB), load_side(workbook_copy))
    assert diff.new.kind == "workbook"
    assert diff.scenario_changes == [
        Change("agent", "input_share", 0.35, 0.5, pytest.approx(42.857, abs=1e-3))
    ]
    assert diff.provider_changes == []


def test_build_previous_adds_a_changes_sheet(march, tmp_path):
    """The Changes sheet lists the diff; the workbook still verifies."""
    out = tmp_path / "march.xlsx"
    result = CliRunner().invoke(
        main, ["build", str(march), "--previous", str(FEB), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 recommendation flipped" in result.stderr
    wb = openpyxl.load_workbook(out)
    try:
        assert wb.sheetnames[:3] == ["Summary", "Changes", "Inputs"]
        text = [
            str(v)
            for row in wb["Changes"].iter_rows(values_only=True)
            for v in row
            if v is not None
        ]
    finally:
        wb.close()
    assert REMOVED in text
    assert "recommendation (FLIPPED)" in text
    assert any("prices of 2026-02-21" in t for t in text)
    # No local folders go out by email: files are named, not their paths.
    assert not any(str(tmp_path) in t or str(ROOT) in t for t in text)
    assert any("(pricebook 2026-03-21.yaml)" in t for t in text)
    require_engine("gnumeric")
    checked = verify_workbook(out, "gnumeric")
    assert checked.ok, [f.message for f in checked.findings]


def test_show_names_the_snapshot():
    """`show` names the files and the dates the rows were checked."""
    result = CliRunner().invoke(main, ["show", str(FEB)])
    assert result.exit_code == 0
    assert "prices of 2026-02-21" in result.stdout
    assert "rows checked 2026-02-21" in result.stdout


def test_snapshot_of_a_loaded_book():
    """A side can be made of a book already loaded (build --previous does)."""
    book = load_book([FEB])
    side = snapshot(book, "x.yaml", "pricebook")
    assert side.title() == (
        "February 2026 reference list prices, prices of 2026-02-21 (pricebook x.yaml)"
    )


def prices_only(source: Path, path: Path) -> Path:
    """``source`` without its scenarios, forecast and sensitivity sections."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    kept = {k: data[k] for k in ("format", "pricebook", "providers")}
    path.write_text(yaml.safe_dump(kept, sort_keys=False), encoding="utf-8")
    return path


def test_build_previous_takes_a_prices_only_snapshot(march, tmp_path):
    """--previous OLD without scenarios: OLD gets the new build's scenarios, as
    diff --scenarios adds one file to both sides."""
    scenarios = ROOT / "templates" / "reference-scenarios.yaml"
    old = prices_only(FEB, tmp_path / "feb-prices.yaml")
    new = prices_only(march, tmp_path / "mar-prices.yaml")
    out = tmp_path / "march.xlsx"
    result = CliRunner().invoke(
        main,
        ["build", str(new), str(scenarios), "--previous", str(old), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    text = _changes_text(out)
    assert any("the scenarios of this build" in t for t in text)
    want = diff_books(load_side(old, [scenarios]), load_side(new, [scenarios]))
    assert REMOVED in text
    assert not want.scenario_changes and not want.settings_changes
    assert "Scenario assumptions and settings" not in text
    assert sum(e.flipped for e in want.effects) == 1
    assert "recommendation (FLIPPED)" in text


def test_diff_marks_an_analyst_override(workbook_copy, default_plan, tmp_path):
    """A workbook's override is shown as an override of the pricebook's value,
    not as the vendor's price (text and JSON)."""
    title, row, col = default_plan.names()["output_rate_vertex_gpt_oss"]
    set_cell_value(workbook_copy, title, a1(row, col), 0.31)
    text = FEB.read_text(encoding="utf-8").replace(
        "output_rate: 0.25", "output_rate: 0.27", 1
    )
    march = tmp_path / "march.yaml"
    march.write_text(text, encoding="utf-8")
    diff = diff_books(load_side(workbook_copy), load_side(march))
    (change,) = diff.provider_changes
    assert (change.id, change.old, change.new) == ("vertex_gpt_oss", 0.31, 0.27)
    assert (change.old_override, change.old_pricebook) == (True, 0.25)
    assert not change.new_override
    result = CliRunner().invoke(main, ["diff", str(workbook_copy), str(march)])
    assert re.search(
        r"vertex_gpt_oss\s+output_rate\s+\$0\.3100 \(override; pricebook \$0\.2500\)"
        r"\s+\$0\.2700",
        result.stdout,
    )
    result = CliRunner().invoke(
        main, ["diff", "--json", str(workbook_copy), str(march)]
    )
    (row,) = json.loads(result.stdout)["provider_changes"]
    assert (row["old_override"], row["old_pricebook"]) == (True, 0.25)
    assert "old_override" not in json.dumps(json.loads(result.stdout)["scenarios"])


def test_changes_sheet_marks_overrides_kept_by_the_build(
    workbook_copy, default_plan, tmp_path
):
    """build --keep-inputs --previous: the kept override is marked on the new side."""
    title, row, col = default_plan.names()["output_rate_vertex_gpt_oss"]
    set_cell_value(workbook_copy, title, a1(row, col), 0.31)
    out = tmp_path / "kept.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "build",
            str(FEB),
            "--keep-inputs",
            str(workbook_copy),
            "--previous",
            str(FEB),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = _changes_text(out)
    assert "$0.3100 (override; pricebook $0.2500)" in text


def _changes_text(path: Path) -> list[str]:
    """Every non-empty cell of the Changes sheet of ``path``, as text."""
    wb = openpyxl.load_workbook(path)
    try:
        return [
            str(v)
            for row in wb["Changes"].iter_rows(values_only=True)
            for v in row
            if v is not None
        ]
    finally:
        wb.close()
