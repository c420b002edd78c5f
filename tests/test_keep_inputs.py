"""`build --keep-inputs` carries an analyst's edits into a rebuilt workbook, and
`assumptions` writes a workbook's inputs back as YAML that builds the same inputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from engines import require_engine
from workbook_tools import named_values
from xlsx_edit import set_cell_value

from generator import model as m
from generator.build import check_output
from generator.cli import main
from generator.keep import keep_inputs, load_new_book, read_current
from generator.layout import build_plan
from generator.plan import a1
from generator.pricebook import load_book
from generator.verify import verify_workbook

ROOT = Path(__file__).resolve().parent.parent
FEB = ROOT / "pricebooks" / "2026-02-21.yaml"

#: The analyst's edits: (defined name, new value).
EDITS = (
    ("input_share_agent", 0.5),
    ("growth_rate_agent", 0.08),
    ("output_rate_vertex_gpt_oss", 0.31),
)


def edit(path: Path, plan, name: str, value: float) -> None:
    """Type ``value`` into the input cell called ``name``, as a person would."""
    title, row, col = plan.names()[name]
    set_cell_value(path, title, a1(row, col), value)


def feb_text() -> str:
    return FEB.read_text(encoding="utf-8")


def new_prices(tmp_path: Path, text: str | None = None) -> Path:
    """The February pricebook with two other prices changed, dated in March."""
    text = text or feb_text()
    text = text.replace("output_rate: 0.29", "output_rate: 0.35", 1)
    text = text.replace("fixed_monthly: 210", "fixed_monthly: 250", 1)
    text = text.replace("price_date: 2026-02-21", "price_date: 2026-03-21", 1)
    path = tmp_path / "2026-03-21.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def without_provider(text: str, pid: str) -> str:
    """``text`` without the provider row ``pid`` (rows end at the next '- id:')."""
    start = text.index(f"  - id: {pid}\n")
    end = re.compile(r"^  - id: |^\S", re.M).search(text, start + 1)
    assert end is not None
    return text[:start] + text[end.start() :]


@pytest.fixture
def edited(workbook_copy, default_plan) -> Path:
    """The February workbook with the analyst's three edits typed in."""
    for name, value in EDITS:
        edit(workbook_copy, default_plan, name, value)
    return workbook_copy


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_edits_survive_a_rebuild_onto_new_prices(edited, tmp_path):
    """Edited share, growth and price are kept; other prices come from the new book."""
    prices = new_prices(tmp_path)
    out = tmp_path / "new.xlsx"
    result = run("build", str(prices), "--keep-inputs", str(edited), "-o", str(out))
    log = result.stderr
    assert "carried input_share_agent = 0.5 (new pricebook: 0.35)" in log
    assert "carried growth_rate_agent = 0.08 (new pricebook: 0.05)" in log
    assert (
        "override kept: output_rate_vertex_gpt_oss = 0.31 (new pricebook: 0.25; "
        "the old workbook was built with 0.25)" in log
    )
    assert "0 could not be carried" in log

    now = read_current(out)
    agent = next(s for s in now.book.scenarios if s.id == "agent")
    assert agent.input_share == 0.5
    assert agent.growth_rate == 0.08
    assert now.book.provider("vertex_gpt_oss").output_rate == 0.31
    assert now.book.provider("bedrock_gemma3_12b").output_rate == 0.35  # new
    assert now.book.provider("io_net").fixed_monthly == 250  # new
    # The metadata keeps the pricebook's price, so the override is found again.
    assert now.built.provider("vertex_gpt_oss").output_rate == 0.25
    # Carried assumptions and overrides differ from the pricebook the new
    # workbook was built from, so they stay the analyst's edits (a plain
    # rebuild refuses to overwrite them).
    assert sorted(now.changed) == [
        "growth_rate_agent: 0.05 -> 0.08",
        "input_share_agent: 0.35 -> 0.5",
        "output_rate_vertex_gpt_oss: 0.25 -> 0.31",
    ]


def test_rebuilt_figures_are_the_model_at_edited_inputs_and_new_prices(
    edited, tmp_path
):
    """Every headline figure is the model's, and a real engine agrees."""
    prices = new_prices(tmp_path)
    out = tmp_path / "new.xlsx"
    run("build", str(prices), "--keep-inputs", str(edited), "-o", str(out))

    expected = load_book([prices])
    agent = next(s for s in expected.scenarios if s.id == "agent")
    agent.input_share, agent.growth_rate = 0.5, 0.08
    expected.provider("vertex_gpt_oss").output_rate = 0.31
    values = named_values(out)
    for s in expected.scenarios:
        costs = [m.monthly_cost(p, s, s.base_tokens) for p in expected.providers]
        ok = [m.eligibility(p, s)[0] for p in expected.providers]
        ranks = m.ranks(costs, ok)
        for p, cost, rank in zip(expected.providers, costs, ranks, strict=True):
            assert values[f"cost_{s.id}_{p.id}"] == pytest.approx(cost, rel=1e-12)
            total = sum(m.forecast_costs(p, s, expected.forecast_months))
            assert values[f"forecast_total_{s.id}_{p.id}"] == pytest.approx(
                total, rel=1e-12
            )
            assert values[f"rank_{s.id}_{p.id}"] == (rank if rank else None)

    require_engine("gnumeric")
    checked = verify_workbook(out, "gnumeric")
    assert checked.ok, [f.message for f in checked.findings]


def test_override_is_marked_in_the_rebuilt_workbook(edited, tmp_path):
    """An override is an orange input cell with a note naming the pricebook value."""
    out = tmp_path / "new.xlsx"
    run(
        "build", str(new_prices(tmp_path)), "--keep-inputs", str(edited), "-o", str(out)
    )
    wb = openpyxl.load_workbook(out)
    try:
        sheet = wb["Pricebook"]
        ids = [c.value for c in sheet["A"]]
        row = ids.index("vertex_gpt_oss") + 1
        override = sheet[f"F{row}"]  # output rate
        plain = sheet[f"E{row}"]  # input rate, not overridden
        assert override.fill.fgColor.rgb != plain.fill.fgColor.rgb
        assert override.protection.locked is False
        assert "analyst override: output_rate was 0.25 in the pricebook" in (
            sheet[f"N{row}"].value
        )
        assert "Orange cells are analyst overrides" in sheet["A3"].value
        notes = [c.value for c in wb["Notes"]["A"] if c.value]
        assert any("(inputs kept)" in str(text) for text in notes)
    finally:
        wb.close()


def test_override_survives_a_second_rebuild(edited, tmp_path):
    """A kept override is still an override when the rebuilt workbook is rebuilt."""
    first = tmp_path / "first.xlsx"
    run(
        "build",
        str(new_prices(tmp_path)),
        "--keep-inputs",
        str(edited),
        "-o",
        str(first),
    )
    second = tmp_path / "second.xlsx"
    result = run("build", str(FEB), "--keep-inputs", str(first), "-o", str(second))
    assert "override kept: output_rate_vertex_gpt_oss = 0.31" in result.stderr
    now = read_current(second)
    assert now.book.provider("vertex_gpt_oss").output_rate == 0.31
    assert now.book.provider("bedrock_gemma3_12b").output_rate == 0.29  # February


def test_what_cannot_be_carried_is_reported(workbook_copy, default_plan, tmp_path):
    """A removed provider's override and a removed scenario's inputs are named."""
    edit(workbook_copy, default_plan, "input_rate_openai_41_mini", 0.5)
    edit(workbook_copy, default_plan, "input_share_agent", 0.5)
    text = without_provider(feb_text(), "openai_41_mini")
    agent = text.index("  - id: agent\n")
    text = text[:agent] + text[text.index("\nforecast:") :]
    prices = tmp_path / "fewer.yaml"
    prices.write_text(text, encoding="utf-8")

    old = read_current(workbook_copy)
    book, report = keep_inputs(load_new_book([prices], old), old)
    assert [s.id for s in book.scenarios] == ["standard"]
    assert "openai_41_mini" not in [p.id for p in book.providers]
    assert report.not_carried == [
        "scenario 'agent' is not in the new pricebook; its assumptions were "
        "dropped: base_tokens 1,600,000,000, input_share 0.5, retry_rate 0.15, "
        "guardrail_rate 0.1, cache_hit_rate 0.05, min_quality_tier 4, "
        "min_sla (empty), max_latency_ms (empty), growth_rate 0.05",
        "provider 'openai_41_mini' is not in the new pricebook; its overrides "
        "were dropped: input_rate 0.5 (built with 0.4)",
    ]
    warnings = [text for level, text in report.lines() if level == "warning"]
    assert len(warnings) == 2


def test_a_price_only_snapshot_keeps_the_workbooks_scenarios(edited, tmp_path):
    """New prices without scenarios: the old workbook's scenarios are kept."""
    data = yaml.safe_load(feb_text())
    prices_only = {k: data[k] for k in ("format", "pricebook", "providers")}
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(prices_only, sort_keys=False), encoding="utf-8")
    old = read_current(edited)
    book, report = keep_inputs(load_new_book([path], old), old)
    assert [s.id for s in book.scenarios] == ["standard", "agent"]
    assert book.scenarios[1].input_share == 0.5
    assert not report.not_carried


def test_a_price_only_snapshot_names_the_edited_values_it_carries(edited, tmp_path):
    """New prices without scenarios: the carried values that differ from what
    the old workbook was built with are named (the new files have none to
    compare with)."""
    data = yaml.safe_load(feb_text())
    prices_only = {k: data[k] for k in ("format", "pricebook", "providers")}
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(prices_only, sort_keys=False), encoding="utf-8")
    result = run(
        "build", str(path), "--keep-inputs", str(edited), "-o", str(tmp_path / "x.xlsx")
    )
    log = result.stderr
    assert (
        "(2 differ from what the old workbook was built with; the new files have "
        "no scenarios)" in log
    )
    assert (
        "carried input_share_agent = 0.5 (the old workbook was built with 0.35)" in log
    )
    assert (
        "carried growth_rate_agent = 0.08 (the old workbook was built with 0.05)" in log
    )
    assert "carried retry_rate_agent" not in log  # as built: said with -v only


def test_forecast_months_and_grids_are_carried(workbook_copy, default_plan, tmp_path):
    """Forecast months, crossover range and grid edits are carried too."""
    edit(workbook_copy, default_plan, "forecast_months", 4)
    edit(workbook_copy, default_plan, "crossover_max_tokens", 5e10)
    title, row, col = (
        "Inputs",
        *next(
            (r, c)
            for t, r, c, cell in default_plan.inputs()
            if cell.key == ("input_shares", 0)
        ),
    )
    set_cell_value(workbook_copy, title, a1(row, col), 0.25)
    old = read_current(workbook_copy)
    book, _ = keep_inputs(load_new_book([new_prices(tmp_path)], old), old)
    assert book.forecast_months == 4
    assert book.forecast_columns == 6  # the Forecast sheet keeps its columns
    assert book.crossover_max_tokens == 5e10
    assert book.input_shares[0] == 0.25


# ---------------------------------------------------------------------------
# infercost assumptions


def test_assumptions_then_build_round_trips_the_inputs(edited, default_plan, tmp_path):
    """Build from the written YAML gives exactly the workbook's inputs."""
    edit(edited, default_plan, "retry_rate_standard", 0.123456789012345)
    edit(edited, default_plan, "quality_tier_openai_4o_mini", 5)
    edit(edited, default_plan, "sla_openai_4o_mini", 0.9995)
    path = tmp_path / "assumptions.yaml"
    run("assumptions", str(edited), "-o", str(path))
    rebuilt = tmp_path / "rebuilt.xlsx"
    run("build", str(path), "-o", str(rebuilt))

    before, after = read_current(edited), read_current(rebuilt)
    assert after.inputs() == before.inputs()
    assert after.changed == []  # the edits are now the pricebook's values
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# The inputs of")
    assert "#   input_share_agent: 0.35 -> 0.5" in text


def test_assumptions_of_a_rebuilt_workbook_round_trip(edited, tmp_path):
    """A workbook carrying overrides round-trips too (overrides become prices)."""
    kept = tmp_path / "kept.xlsx"
    run(
        "build",
        str(new_prices(tmp_path)),
        "--keep-inputs",
        str(edited),
        "-o",
        str(kept),
    )
    path = tmp_path / "kept.yaml"
    run("assumptions", str(kept), "-o", str(path))
    rebuilt = tmp_path / "rebuilt.xlsx"
    run("build", str(path), "-o", str(rebuilt))
    assert read_current(rebuilt).inputs() == read_current(kept).inputs()


def test_assumptions_keep_the_forecast_columns(workbook_copy, default_plan, tmp_path):
    """A forecast shortened to 4 of 6 months: the YAML keeps the 6 columns, so
    the workbook built from it can be lengthened again, as --keep-inputs's
    can; it counts as unedited, and rebuilding it from the YAML is fine."""
    edit(workbook_copy, default_plan, "forecast_months", 4)
    path = tmp_path / "a.yaml"
    run("assumptions", str(workbook_copy), "-o", str(path))
    assert yaml.safe_load(path.read_text())["forecast"] == {"months": 4, "columns": 6}
    book = load_book([path])
    assert (book.forecast_months, book.forecast_columns) == (4, 6)
    rebuilt = tmp_path / "rebuilt.xlsx"
    run("build", str(path), "-o", str(rebuilt))
    assert read_current(rebuilt).inputs() == read_current(workbook_copy).inputs()
    plan = build_plan(book)
    title, row, col = plan.names()["forecast_months"]
    wb = openpyxl.load_workbook(rebuilt)
    try:
        assert wb[title].cell(row + 1, col).value == "months, at most 6"
    finally:
        wb.close()
    run("build", str(path), "-o", str(rebuilt))  # unedited: replaced
    edit(rebuilt, plan, "forecast_months", 6)  # lengthened again
    require_engine("gnumeric")
    checked = verify_workbook(rebuilt, "gnumeric")
    assert checked.ok, [f.message for f in checked.findings]


def test_forecast_columns_below_months_are_refused(tmp_path):
    """forecast.columns fewer than months: one line naming the field."""
    path = tmp_path / "short.yaml"
    path.write_text(
        feb_text().replace("  months: 6\n", "  months: 6\n  columns: 4\n"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2
    assert "forecast.columns: expected at least the 6 months" in result.output


def test_assumptions_yaml_is_a_full_pricebook(edited, tmp_path):
    """The written file loads on its own: providers, scenarios, settings."""
    path = tmp_path / "a.yaml"
    run("assumptions", str(edited), "-o", str(path))
    book = load_book([path])
    feb = load_book([FEB])
    assert [p.id for p in book.providers] == [p.id for p in feb.providers]
    assert book.breakeven_pairs == feb.breakeven_pairs
    assert book.crossover_providers == feb.crossover_providers
    assert replace(book.scenarios[0]) == feb.scenarios[0]


def test_scenarios_only_assumptions_combine_with_new_prices(edited, tmp_path):
    """--scenarios-only: no providers; after a new price file, the edited
    scenarios and the new prices; price edits left behind, and said so."""
    path = tmp_path / "finance.yaml"
    result = run("assumptions", str(edited), "--scenarios-only", "-o", str(path))
    assert "vertex_gpt_oss" in result.stderr
    assert "--keep-inputs" in result.stderr
    text = path.read_text(encoding="utf-8")
    assert "providers" not in text
    prices = new_prices(tmp_path)
    out = tmp_path / "combined.xlsx"
    run("build", str(prices), str(path), "-o", str(out))
    now = read_current(out)
    agent = next(s for s in now.book.scenarios if s.id == "agent")
    assert agent.input_share == 0.5
    assert agent.growth_rate == 0.08
    assert now.book.provider("vertex_gpt_oss").output_rate == 0.25  # new book's
    assert now.book.provider("io_net").fixed_monthly == 250
    assert now.book.forecast_months == load_book([FEB]).forecast_months
    assert now.changed == []


def test_assumptions_refuses_an_unreadable_input(workbook_copy, default_plan, tmp_path):
    """A number cell that holds a bad value is an error, not a silent default."""
    edit(workbook_copy, default_plan, "input_share_agent", 7)
    result = CliRunner().invoke(
        main, ["assumptions", str(workbook_copy), "-o", str(tmp_path / "x.yaml")]
    )
    assert result.exit_code == 2
    assert "input_share_agent" in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_plain_rebuild_does_not_overwrite_carried_assumptions(edited, tmp_path):
    """After --keep-inputs, a rebuild without it refuses: the carried values are
    still the analyst's, not the pricebook's."""
    out = tmp_path / "kept.xlsx"
    kept = run(
        "build", str(new_prices(tmp_path)), "--keep-inputs", str(edited), "-o", str(out)
    )
    assert kept.exit_code == 0, kept.output
    before = out.read_bytes()
    again = CliRunner().invoke(main, ["build", str(FEB), "-o", str(out)])
    assert again.exit_code == 2
    assert "input_share_agent" in again.output
    assert "--keep-inputs" in again.output
    assert out.read_bytes() == before


def test_a_keep_inputs_build_can_be_run_again_onto_its_output(edited, tmp_path):
    """The workbook --keep-inputs wrote counts as unedited: its carried and
    overridden values are what infercost wrote, so the same command replaces
    it; an edit made after it is still found, against the value written."""
    prices = new_prices(tmp_path)
    edit(edited, build_plan(load_book([FEB])), "forecast_months", 4)
    out = tmp_path / "kept.xlsx"
    args = ("build", str(prices), "--keep-inputs", str(edited), "-o", str(out))
    run(*args)
    run(*args)  # again: nothing was edited since the first run wrote it
    assert read_current(out).book.scenarios[1].input_share == 0.5
    edit(out, build_plan(read_current(out).book), "growth_rate_agent", 0.09)
    again = CliRunner().invoke(main, list(args))
    assert again.exit_code == 2
    assert (
        "1 input was edited since infercost built it (growth_rate_agent: 0.08 -> "
        "0.09)" in again.output
    )


def test_a_large_keep_inputs_workbook_is_protected_without_being_read(
    edited, tmp_path, monkeypatch
):
    """Above the quick-check size, an unsaved keep-inputs workbook is unedited
    for --keep-inputs and still refused by a plain build, without reading its
    cells."""
    import generator.build as build_module
    import generator.verify as verify_module

    out = tmp_path / "kept.xlsx"
    args = ("build", str(new_prices(tmp_path)), "--keep-inputs", str(edited))
    run(*args, "-o", str(out))
    before = out.read_bytes()

    def unreadable(path):
        raise AssertionError("read the workbook")

    monkeypatch.setattr(build_module, "QUICK_CHECK_ABOVE", 0)
    plain = CliRunner().invoke(main, ["build", str(FEB), "-o", str(out)])
    assert plain.exit_code == 2
    assert "input_share_agent = 0.5" in plain.output
    assert out.read_bytes() == before
    monkeypatch.setattr(verify_module, "read_workbook", unreadable)
    check_output(out, keep_from=edited)  # no refusal, nothing read


def test_moved_inputs_rows_are_refused_not_misread(workbook_copy, tmp_path):
    """A row deleted from the Inputs sheet shifts every value below it: verify
    names the first heading out of place, and --keep-inputs refuses (exit 2)
    rather than carry one assumption's value into another."""
    from xlsx_edit import delete_row

    delete_row(workbook_copy, "Inputs", 11)
    result = CliRunner().invoke(
        main, ["verify", "--engine", "cached", "--json", str(workbook_copy)]
    )
    assert result.exit_code == 1
    assert '"sheet": "Inputs"' in result.output
    assert "Inputs sheet was inserted, deleted or moved" in result.output
    out = tmp_path / "new.xlsx"
    kept = CliRunner().invoke(
        main, ["build", str(FEB), "--keep-inputs", str(workbook_copy), "-o", str(out)]
    )
    assert kept.exit_code == 2
    assert "Inputs!A" in kept.output
    assert not out.exists()


# ---------------------------------------------------------------------------
# What assumptions may overwrite


def test_assumptions_never_overwrites_the_workbook_it_reads(workbook_copy):
    """-o naming the workbook being read: exit 2, one line, the workbook kept
    byte for byte, even with --force."""
    before = workbook_copy.read_bytes()
    for extra in ([], ["--force"]):
        result = CliRunner().invoke(
            main, ["assumptions", str(workbook_copy), "-o", str(workbook_copy), *extra]
        )
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1
        assert "is the workbook being read" in result.output
        assert workbook_copy.read_bytes() == before


@pytest.mark.parametrize(
    "name, content",
    [
        ("other.xlsx", None),  # another workbook (a copy of the one read)
        ("notes.yaml", "# my own notes\nformat: 1\n"),  # a YAML file of the user's
        ("notes.txt", "shopping list\n"),
    ],
    ids=["workbook", "own-yaml", "text"],
)
def test_assumptions_refuses_a_file_it_did_not_write(
    workbook_copy, tmp_path, name, content
):
    """An existing workbook, or a file without infercost's header, is replaced
    only with --force."""
    target = tmp_path / name
    if content is None:
        target.write_bytes(workbook_copy.read_bytes())
    else:
        target.write_text(content, encoding="utf-8")
    before = target.read_bytes()
    result = CliRunner().invoke(
        main, ["assumptions", str(workbook_copy), "-o", str(target)]
    )
    assert result.exit_code == 2, result.output
    assert "--force" in result.output
    assert target.read_bytes() == before
    run("assumptions", str(workbook_copy), "-o", str(target), "--force")
    assert load_book([target]).name == load_book([FEB]).name


def test_assumptions_replaces_a_file_it_wrote(workbook_copy, tmp_path):
    """A YAML file that assumptions (or import) wrote is replaced without --force."""
    path = tmp_path / "a.yaml"
    run("assumptions", str(workbook_copy), "-o", str(path))
    run("assumptions", str(workbook_copy), "--scenarios-only", "-o", str(path))
    assert "providers" not in path.read_text(encoding="utf-8")


def test_price_overrides_are_not_carried_when_the_pricing_kind_changes(
    edited, tmp_path
):
    """A row that becomes fixed keeps no per-token rate override (it would cost
    fixed + per-token); the report says why and which value is used."""
    text = feb_text().replace(
        "    pricing: per_token\n    input_rate: 0.07\n    output_rate: 0.25\n",
        "    pricing: fixed\n    input_rate: 0\n    output_rate: 0\n"
        "    fixed_monthly: 300\n",
        1,
    )
    text = text.replace(
        "bedrock_gemma3_12b, vertex_gpt_oss, bedrock_gemma3_4b]",
        "bedrock_gemma3_12b, bedrock_gemma3_4b]",
    )
    prices = tmp_path / "fixed.yaml"
    prices.write_text(text, encoding="utf-8")
    old = read_current(edited)
    book, report = keep_inputs(load_new_book([prices], old), old)
    vertex = book.provider("vertex_gpt_oss")
    assert (vertex.pricing, vertex.output_rate, vertex.fixed_monthly) == (
        "fixed",
        0,
        300,
    )
    assert not report.overrides
    assert ("vertex_gpt_oss", "output_rate") not in book.overrides
    assert report.not_carried == [
        "override output_rate_vertex_gpt_oss = 0.31: the row's pricing changed "
        "from per_token to fixed in the new pricebook; its output_rate 0 is used"
    ]
    s = book.scenarios[0]
    assert m.monthly_cost(vertex, s, s.base_tokens) == 300


def test_a_gate_no_new_provider_passes_names_its_cell(workbook_copy, tmp_path):
    """Prices alone, and the old workbook's gate leaves none of them eligible:
    the error points at the gate's cell on the Inputs sheet."""
    plan = build_plan(load_book([FEB]))
    edit(workbook_copy, plan, "min_sla_standard", 0.99999)
    data = yaml.safe_load(feb_text())
    path = tmp_path / "prices.yaml"
    prices_only = {k: data[k] for k in ("format", "pricebook", "providers")}
    path.write_text(yaml.safe_dump(prices_only, sort_keys=False), encoding="utf-8")
    title, row, col = plan.names()["min_sla_standard"]
    result = CliRunner().invoke(
        main,
        [
            "build",
            str(path),
            "--keep-inputs",
            str(workbook_copy),
            "-o",
            str(tmp_path / "x.xlsx"),
        ],
    )
    assert result.exit_code == 2
    assert result.output.startswith(
        f"Error: {workbook_copy}: {title}!{a1(row, col)}: min_sla_standard: "
        "no provider passes the gates of scenario 'standard'"
    )


def test_keep_messages_count_and_say_what_is_used(
    workbook_copy, default_plan, tmp_path
):
    """Singular counts; a removed provider with nothing to carry is a note, not
    a failure; what is not carried says which value is used instead."""
    edit(workbook_copy, default_plan, "output_rate_vertex_gpt_oss", 0.31)
    title, row, col = default_plan.names()["input_share_standard"]
    set_cell_value(workbook_copy, title, a1(row, col), 1.5)  # not a share
    text = without_provider(feb_text(), "openai_41_mini")
    text = text.replace(
        "\n# The pairs",
        "\n  - id: newcomer\n    label: Newcomer\n    model: m\n"
        "    pricing: per_token\n    input_rate: 0.1\n    output_rate: 0.2\n"
        "    quality_tier: 4\n    source: https://example.com\n"
        "    checked: 2026-03-21\n\n# The pairs",
        1,
    )
    prices = tmp_path / "new.yaml"
    prices.write_text(text, encoding="utf-8")
    old = read_current(workbook_copy)
    _, report = keep_inputs(load_new_book([prices], old), old)
    lines = [text for _, text in report.lines()]
    assert "1 analyst override; 1 could not be carried" in lines[0]
    assert (
        "  1 provider is new (its prices come from the new pricebook): newcomer"
        in lines
    )
    assert (
        "  provider 'openai_41_mini' is not in the new pricebook (it had no "
        "override to carry)" in lines
    )
    (problem,) = report.not_carried
    assert problem.startswith("input_share_standard: ")
    assert problem.endswith("; the new pricebook's 0.75 is used")


#: The default workbook as built before the rank shift (see the test below).
OLD_WORKBOOK = "built-before-rank-shift.xlsx"


def test_a_workbook_built_before_the_rank_shift_is_regenerated(tmp_path):
    """tests/data/built-before-rank-shift.xlsx is the default workbook as
    infercost built it before ``rank_shift`` joined the Inputs sheet (commit
    f345663). The shift sits beside the rank precision, not on a row of its
    own, so such a workbook's inputs are still where they were: its edits
    carry over, and the new workbook verifies."""
    old = tmp_path / "old.xlsx"
    old.write_bytes((Path(__file__).parent / "data" / OLD_WORKBOOK).read_bytes())
    book = openpyxl.load_workbook(old)
    ((title, cell),) = list(book.defined_names["growth_rate_agent"].destinations)
    set_cell_value(old, title, cell.replace("$", ""), 0.07)
    out = tmp_path / "new.xlsx"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["build", str(new_prices(tmp_path)), "--keep-inputs", str(old), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert named_values(out)["growth_rate_agent"] == 0.07
    assert named_values(out)["rank_shift"] == m.RANK_SHIFT
    require_engine("gnumeric")
    result = runner.invoke(main, ["verify", "--engine", "gnumeric", str(out)])
    assert result.exit_code == 0, result.output


def test_a_workbook_saved_by_libreoffice_has_no_spurious_edits(tmp_path):
    """LibreOffice saves a number with 15 significant digits: a rate of
    0.1142857142857143 comes back as 0.114285714285714 (found on the LiteLLM
    workbook, where 11 such rates read as edits). That is no edit: verify
    lists no changed input, and --keep-inputs keeps no override."""
    text = (Path(__file__).parent / "data" / "decimal-half-ties.yaml").read_text()
    text = text.replace("input_rate: 2.99999\n", "input_rate: 0.1142857142857143\n")
    source = tmp_path / "rates.yaml"
    source.write_text(text)
    built = tmp_path / "built.xlsx"
    runner = CliRunner()
    result = runner.invoke(main, ["build", str(source), "-o", str(built)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(built)
    ((title, cell),) = list(book.defined_names["input_rate_split_twin"].destinations)
    set_cell_value(built, title, cell.replace("$", ""), 0.114285714285714)
    result = runner.invoke(main, ["verify", "--engine", "cached", "--json", str(built)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["changed_inputs"] == []
    out = tmp_path / "again.xlsx"
    result = runner.invoke(
        main, ["build", str(source), "--keep-inputs", str(built), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "override kept" not in result.output
    assert named_values(out)["input_rate_split_twin"] == 0.1142857142857143


def test_the_keep_log_shows_a_value_with_the_digits_that_tell_it_apart():
    """QA: 0.35000000000001 carried was shown as 0.35 (new pricebook: 0.35)."""
    from generator.keep import show

    assert show(0.35000000000001) == "0.35000000000001"
    assert show(0.35) == "0.35"


def test_verify_of_a_workbook_built_before_the_rank_shift_says_regenerate(tmp_path):
    """Its formulas are format 1's: one finding says how to bring it up to
    date, instead of one for each formula that changed."""
    from generator.verify import verify_workbook

    old = Path(__file__).parent / "data" / OLD_WORKBOOK
    result = verify_workbook(old, engine="cached")
    assert [f.message for f in result.findings] == [
        "built by an earlier infercost (workbook format 1; this version writes 2), "
        "whose formulas differ from today's; regenerate it with 'infercost build "
        "PRICEBOOK --keep-inputs WORKBOOK', which keeps its edited inputs"
    ]
    assert result.exit_code == 1


def test_the_refusal_to_drop_kept_inputs_shows_volumes_as_the_log_does():
    """QA: a kept volume read 'base_tokens_standard = 2.5e+08' there."""
    from generator.build import _shown

    assert _shown(250_000_000.0) == "250,000,000"
    assert _shown([0.2, 0.35000000000001]) == "[0.2, 0.35000000000001]"
