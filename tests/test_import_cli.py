"""`infercost import litellm` writes a pricebook that loads, builds and verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from engines import require_engine

from generator.cli import main
from generator.pricebook import load_book
from generator.verify import verify_workbook

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "data" / "litellm_model_prices.json"
UNGATED = ROOT / "templates" / "ungated-scenarios.yaml"
GATED = ROOT / "templates" / "reference-scenarios.yaml"

#: Counts for the copy of the file in data/ (sha256 in data/README.md).
IMPORTED = 3445
SKIPPED = 1432


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, str]:
    """The whole file in data/ imported, and what the command logged."""
    out = tmp_path_factory.mktemp("import") / "litellm.yaml"
    result = run(
        "import", "litellm", str(PRICES), "--price-date", "2026-03-01", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    return out, result.stderr


def test_import_counts_imported_and_skipped_entries(imported):
    """The log gives the counts of imported rows and skipped entries by reason."""
    _, log = imported
    assert f"imported {IMPORTED} entries" in log
    assert f"skipped {SKIPPED}" in log
    assert "skipped   414: not a chat model (mode=image_generation)" in log
    assert "skipped    98: alias of another entry (alias_of)" in log
    assert "skipped    49: price kinds not expressible yet (tiered_pricing)" in log
    assert "templates/ungated-scenarios.yaml" in log  # how to build it


def test_imported_rates_match_the_source_by_hand(imported):
    """Per-token prices become $ per 1M tokens; source and date are recorded."""
    path, _ = imported
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert str(data["pricebook"]["price_date"]) == "2026-03-01"
    rows = {row["model"]: row for row in data["providers"]}
    assert len(rows) == IMPORTED
    # "input_cost_per_token": 1.5e-07 -> 0.15; "output_cost_per_token": 6e-07 -> 0.6
    assert (rows["gpt-4o-mini"]["input_rate"], rows["gpt-4o-mini"]["output_rate"]) == (
        0.15,
        0.6,
    )
    # 2.8e-07 -> 0.28, 4.2e-07 -> 0.42
    deepseek = rows["deepseek/deepseek-chat"]
    assert (deepseek["input_rate"], deepseek["output_rate"]) == (0.28, 0.42)
    # 8e-07 -> 0.8, 4e-06 -> 4.0
    haiku = rows["bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0"]
    assert (haiku["input_rate"], haiku["output_rate"]) == (0.8, 4.0)
    # 2.9999900000000002e-06 -> 2.99999 (LiteLLM's own float noise kept)
    sonnet = rows["databricks/databricks-claude-sonnet-4-1"]
    assert sonnet["input_rate"] == pytest.approx(2.99999, rel=1e-15)
    for row in (rows["gpt-4o-mini"], deepseek, haiku):
        assert row["quality_tier"] is None and row["sla"] is None
        assert str(row["checked"]) == "2026-03-01"
    assert rows["gpt-4o-mini"]["source"].startswith("https://")
    # An entry without a web source names the file and its hash instead.
    assert haiku["source"].startswith("LiteLLM model price map")
    assert "sha256 8943af58" in haiku["source"]


def test_import_builds_and_verifies_with_ungated_scenarios(imported, tmp_path):
    """The whole import, forecast over 60 months, builds and verifies.

    LibreOffice, forced to recalculate every formula, agrees with the model
    and with the cached values in every formula cell (no stale value).
    """
    path, _ = imported
    book = load_book([path, UNGATED])
    assert len(book.providers) == IMPORTED
    sixty = tmp_path / "sixty.yaml"
    sixty.write_text("format: 1\nforecast:\n  months: 60\n", encoding="utf-8")
    out = tmp_path / "litellm.xlsx"
    result = run("build", str(path), str(UNGATED), str(sixty), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"{IMPORTED} providers" in result.stderr
    checked = verify_workbook(out, "cached")
    assert checked.ok, [f.message for f in checked.findings[:5]]
    assert checked.changed_inputs == []
    require_engine("libreoffice")
    recalculated = verify_workbook(out, "libreoffice")
    assert recalculated.ok, [f.message for f in recalculated.findings[:5]]
    assert recalculated.formulas > 300_000
    assert not [f for f in recalculated.findings if f.kind == "stale"]


def test_gated_scenarios_refuse_unknown_tiers(imported):
    """Unknown tiers fail a tier gate: the reference scenarios rank nothing."""
    path, _ = imported
    result = run("build", str(path), str(GATED), "-o", "-")
    assert result.exit_code == 2
    assert "scenarios[0].min_quality_tier" in result.output  # names the gate


def test_filtered_import_with_a_mapping_builds_gated(tmp_path):
    """--provider, --model and --mapping: tiers set, gated scenarios work."""
    mapping = tmp_path / "tiers.yaml"
    mapping.write_text(
        "models:\n"
        "  - match: 'gpt-4o-mini*'\n    quality_tier: 3\n    sla: 0.999\n"
        "  - match: 'gpt-4o*'\n    quality_tier: 4\n",
        encoding="utf-8",
    )
    out = tmp_path / "openai.yaml"
    result = run(
        "import",
        "litellm",
        str(PRICES),
        "--provider",
        "openai",
        "--model",
        "gpt-4o*",
        "--mapping",
        str(mapping),
        "--price-date",
        "2026-03-01",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    book = load_book([out, GATED])
    assert book.providers and all(p.model.startswith("gpt-4o") for p in book.providers)
    mini = next(p for p in book.providers if p.model == "gpt-4o-mini")
    assert (mini.quality_tier, mini.sla) == (3, 0.999)
    workbook = tmp_path / "openai.xlsx"
    assert run("build", str(out), str(GATED), "-o", str(workbook)).exit_code == 0
    require_engine("gnumeric")
    checked = verify_workbook(workbook, "gnumeric")
    assert checked.ok, [f.message for f in checked.findings[:5]]


def test_import_that_selects_nothing_writes_nothing(tmp_path):
    """No entry selected: exit status 2, no file."""
    out = tmp_path / "none.yaml"
    result = run(
        "import", "litellm", str(PRICES), "--provider", "nobody", "-o", str(out)
    )
    assert result.exit_code == 2
    assert "no entry imported" in result.output
    assert not out.exists()


def test_import_of_a_missing_file_is_one_line(tmp_path):
    """A missing price file is a one-line error with exit status 2."""
    result = run("import", "litellm", str(tmp_path / "nope.json"), "-o", "x.yaml")
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_import_refuses_to_overwrite_what_it_did_not_write(tmp_path, built_workbook):
    """A workbook, a file without infercost's header, the price map or the
    mapping file are never replaced silently; a file the import wrote is."""
    mapping = tmp_path / "tiers.yaml"
    mapping.write_text("models:\n  - match: 'gpt-4o*'\n    quality_tier: 4\n")
    workbook = tmp_path / "book.xlsx"
    workbook.write_bytes(built_workbook.read_bytes())
    own = tmp_path / "own.yaml"
    own.write_text("format: 1\n# mine\n", encoding="utf-8")
    base = ["import", "litellm", str(PRICES), "--model", "gpt-4o-mini"]
    for target, force, says in (
        (workbook, False, "--force"),
        (own, False, "--force"),
        (mapping, True, "is the mapping file being read"),
        (PRICES, True, "is the price map being read"),
    ):
        before = target.read_bytes()
        args = [*base, "--mapping", str(mapping), "-o", str(target)]
        result = run(*args, *(["--force"] if force else []))
        assert result.exit_code == 2, result.output
        assert says in result.output
        assert target.read_bytes() == before
    written = tmp_path / "mini.yaml"
    assert run(*base, "-o", str(written)).exit_code == 0
    assert run(*base, "-o", str(written)).exit_code == 0  # its own file: replaced
    assert run(*base, "-o", str(own), "--force").exit_code == 0
    assert load_book([own, UNGATED]).providers


def test_a_missing_mapping_file_stops_before_the_import(tmp_path, monkeypatch):
    """--mapping naming no file: one line, before the price map is read."""
    import generator.litellm

    def no_import(*args, **kwargs):
        raise AssertionError("the price map was imported first")

    monkeypatch.setattr(generator.litellm, "import_litellm", no_import)
    out = tmp_path / "x.yaml"
    result = run(
        "import",
        "litellm",
        str(PRICES),
        "--mapping",
        str(tmp_path / "no.yaml"),
        "-o",
        str(out),
    )
    assert result.exit_code == 2, result.output
    assert "no.yaml" in result.output
    assert not out.exists()


def test_import_messages_count_and_hint_for_a_mapping(tmp_path):
    """One entry is "1 entry"; a rule matching nothing is a warning; with tiers
    from a mapping, the hint names the gated scenarios."""
    mapping = tmp_path / "tiers.yaml"
    mapping.write_text(
        "models:\n  - match: 'nomatch*'\n    quality_tier: 4\n"
        "  - match: 'gpt-4o-mini'\n    quality_tier: 4\n",
        encoding="utf-8",
    )
    out = tmp_path / "mini.yaml"
    result = run(
        "import",
        "litellm",
        str(PRICES),
        "--provider",
        "openai",
        "--model",
        "gpt-4o-mini",
        "--mapping",
        str(mapping),
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    log = result.stderr
    assert "imported 1 entry of" in log
    assert "warning: mapping rule match 'nomatch*' matches no row" in log
    assert (
        f"build it with: infercost build {out} templates/reference-scenarios.yaml"
        in log
    )
    plain = run(
        "import", "litellm", str(PRICES), "--model", "gpt-4o-mini", "-o", str(out)
    )
    assert "templates/ungated-scenarios.yaml" in plain.stderr


def test_a_directory_for_the_price_map_is_called_a_directory(tmp_path):
    out = tmp_path / "book.yaml"
    result = CliRunner().invoke(
        main, ["import", "litellm", str(tmp_path), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {tmp_path}: is a directory; give the price map's file"
    )
    assert not out.exists()
