"""The LiteLLM price-map importer: counts, rates, filters, ids, YAML, mapping."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.errors import InputError
from generator.litellm import (
    PROVIDER_KEYS,
    SKIP_ZERO,
    ImportResult,
    apply_mapping,
    dump_pricebook_yaml,
    import_litellm,
    load_mapping,
    per_million,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "litellm_model_prices.json"
DATA_SHA256 = "8943af58bf9f979c6a4bef815687117ffa341e462a41faed9be17b5c33d3dcc2"
PRICE_DATE = "2026-11-20"
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# The counts of the full import of the file in data/ (sha256 above, litellm
# 1.110.2). Computed once by running import_litellm, then cross-checked against
# a plain tally of the JSON (test_counts_agree_with_a_raw_tally): the
# non-text modes match Counter(entry["mode"]); the 109 entries without a mode
# are 98 aliases + 1 rules entry (fallback_generalizations) + 10 priced
# entries without a mode (fireworks size buckets, deepgram aura); and the
# 3,708 chat/completion/responses entries are 3,445 imported + 91 zero-priced
# + 82 unpriced + 90 priced some other way (49 + 28 + 7 + 2 + 2 + 1 + 1).
# 3,445 + 1,432 skipped = 4,877 entries, as data/README.md says.
FULL_IMPORTED = 3445
FULL_SKIPPED = {
    "not a chat model (mode=image_generation)": 414,
    "not a chat model (mode=embedding)": 157,
    "not a chat model (mode=audio_transcription)": 109,
    "alias of another entry (alias_of)": 98,
    "zero input and output price (local, free or unpriced)": 91,
    "not a chat model (mode=video_generation)": 90,
    "no input/output token price": 82,
    "not a chat model (mode=realtime)": 59,
    "not a chat model (mode=audio_speech)": 56,
    "price kinds not expressible yet (tiered_pricing)": 49,
    "not a chat model (mode=image_edit)": 44,
    "not a chat model (mode=rerank)": 41,
    "not a chat model (mode=evaluation)": 35,
    "price kinds not expressible yet (cost_per_second, input_cost_per_second)": 28,
    "not a chat model (mode=search)": 24,
    "not a chat model (mode=ocr)": 20,
    "not a chat model (mode missing)": 10,
    "price kinds not expressible yet (input_cost_per_video_per_second)": 7,
    "not a chat model (mode=decisions)": 4,
    "not a chat model (mode=moderation)": 3,
    "not a chat model (mode=extraction)": 2,
    "price kinds not expressible yet (code_interpreter_cost_per_session)": 2,
    "price kinds not expressible yet "
    "(input_cost_per_character, output_cost_per_character)": 2,
    "not a chat model (mode=guardrail)": 1,
    "not a chat model (mode=vector_store)": 1,
    "not a model entry (no litellm_provider)": 1,
    "price kinds not expressible yet (cache_read_input_token_cost_priority, "
    "input_cost_per_token_priority, output_cost_per_token_priority)": 1,
    "price kinds not expressible yet (input_cost_per_image)": 1,
}


@pytest.fixture(scope="module")
def full() -> ImportResult:
    """One import of the whole file in data/, reused by the tests below."""
    return import_litellm(DATA, price_date=PRICE_DATE)


def rows_by_model(result: ImportResult | dict[str, Any]) -> dict[str, dict[str, Any]]:
    document = result.document if isinstance(result, ImportResult) else result
    return {row["model"]: row for row in document["providers"]}


def write_json(tmp_path: Path, data: Any, name: str = "prices.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# The whole file in data/


def test_full_import_counts_are_pinned(full: ImportResult) -> None:
    """The full import keeps 3,445 rows and skips the rest for known reasons."""
    assert full.imported == FULL_IMPORTED
    assert len(full.document["providers"]) == FULL_IMPORTED
    assert full.skipped == FULL_SKIPPED
    assert full.imported + sum(full.skipped.values()) == 4877


def test_counts_agree_with_a_raw_tally(full: ImportResult) -> None:
    """Each 'mode=...' skip count equals a plain count of that mode in the JSON."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    modes = Counter(v.get("mode") for k, v in raw.items() if k != "sample_spec")
    for reason, count in full.skipped.items():
        found = re.fullmatch(r"not a chat model \(mode=(\w+)\)", reason)
        if found:
            assert modes[found.group(1)] == count, reason
    text_modes = modes["chat"] + modes["completion"] + modes["responses"]
    other = sum(
        n
        for reason, n in full.skipped.items()
        if not reason.startswith(("not a chat model", "alias", "not a model"))
    )
    assert text_modes == full.imported + other


def test_pricebook_section_names_file_sha_and_date(full: ImportResult) -> None:
    """The pricebook section says USD, the date given, the file and its sha256."""
    doc = full.document
    assert list(doc) == ["format", "pricebook", "providers"]
    assert doc["format"] == 1
    book = doc["pricebook"]
    assert list(book) == ["name", "price_date", "currency", "source", "notes"]
    assert book["price_date"] == PRICE_DATE
    assert book["currency"] == "USD"
    assert book["source"] == f"litellm_model_prices.json (sha256 {DATA_SHA256})"
    assert "quality_tier, sla and latency_ms are unknown" in book["notes"]


# Hand-computed: dollars per token times 1,000,000. The last two would come out
# 0.7999999999999999 and 3.3000000000000003 with plain float multiplication.
HAND_CHECKED = [
    # model key, id, input_rate, output_rate
    ("gpt-4o-mini", "gpt_4o_mini", 0.15, 0.6),  # 1.5e-07, 6e-07
    ("azure_ai/gpt-5.4-pro", "azure_ai_gpt_5_4_pro", 30.0, 180.0),  # 3e-05, 1.8e-04
    ("o1-pro", "o1_pro", 150.0, 600.0),  # 1.5e-04, 6e-04; mode responses
    ("perplexity/sonar-medium-online", "perplexity_sonar_medium_online", 0.0, 1.8),
    ("amazon.nova-pro-v1:0", "amazon_nova_pro_v1_0", 0.8, 3.2),  # 8e-07, 3.2e-06
    ("us.anthropic.claude-sonnet-4-6", "us_anthropic_claude_sonnet_4_6", 3.3, 16.5),
]


@pytest.mark.parametrize(
    ("model", "row_id", "input_rate", "output_rate"),
    HAND_CHECKED,
    ids=[case[0] for case in HAND_CHECKED],
)
def test_hand_checked_rates(
    full: ImportResult, model: str, row_id: str, input_rate: float, output_rate: float
) -> None:
    """Per-token prices become exact $/1M rates, with no float noise."""
    row = rows_by_model(full)[model]
    assert row["id"] == row_id
    assert row["input_rate"] == input_rate  # exact equality on purpose
    assert row["output_rate"] == output_rate


def test_gpt_4o_mini_row_in_full(full: ImportResult) -> None:
    """A whole row: documented key order, unknowns null, ignored kinds noted."""
    row = rows_by_model(full)["gpt-4o-mini"]
    assert row == {
        "id": "gpt_4o_mini",
        "label": "gpt-4o-mini",
        "model": "gpt-4o-mini",
        "pricing": "per_token",
        "input_rate": 0.15,
        "output_rate": 0.6,
        "fixed_monthly": 0,
        "egress_monthly": 0,
        "quality_tier": None,
        "sla": None,
        "latency_ms": None,
        "source": "https://developers.openai.com/api/docs/pricing",
        "checked": PRICE_DATE,
        "note": "litellm_provider: openai; mode: chat; not imported: "
        "cache_read_input_token_cost, cache_read_input_token_cost_priority, "
        "fedramp_uplift_multiplier, input_cost_per_token_batches, "
        "input_cost_per_token_priority, output_cost_per_token_batches, "
        "output_cost_per_token_priority, search_context_cost_per_query",
    }
    assert tuple(row) == PROVIDER_KEYS


def test_entry_without_url_source_points_at_the_file(full: ImportResult) -> None:
    """A source that is not an http(s) URL is kept in the note, not as source."""
    row = rows_by_model(full)["ft:gpt-4-0613"]
    assert row["source"].startswith("LiteLLM model price map litellm_model_prices")
    assert "LiteLLM source says: OpenAI needs to add pricing" in row["note"]


def test_ignored_price_kinds_are_counted(full: ImportResult) -> None:
    """Price kinds beyond the base two are counted and summarised in a warning."""
    assert full.ignored_price_kinds["cache_read_input_token_cost"] == 1815
    noted = sum("not imported:" in row["note"] for row in full.document["providers"])
    assert any(w.startswith(f"{noted:,} of 3,445 rows") for w in full.warnings)


def test_ids_are_valid_and_unique_over_full_import(full: ImportResult) -> None:
    """Every id follows the format's id rule, and no two rows share one."""
    ids = [row["id"] for row in full.document["providers"]]
    bad = [i for i in ids if not ID_RE.match(i)]
    assert bad == []
    assert len(set(ids)) == len(ids)


def test_long_or_clashing_ids_get_a_hash_suffix(full: ImportResult) -> None:
    """A key over 40 characters, or one whose slug is taken, gets a hash suffix."""
    rows = rows_by_model(full)
    long_key = "fireworks_ai/accounts/fireworks/models/mistral-large-3-fp8"
    assert re.fullmatch(
        r"fireworks_ai_mistral_large_3_fp8_[0-9a-f]{6}", rows[long_key]["id"]
    )
    # zai.glm-4.7 (Bedrock) and zai/glm-4.7 (Z.AI) both slug to zai_glm_4_7: the
    # first in the file keeps it, the second gets the hash suffix.
    assert rows["zai.glm-4.7"]["id"] == "zai_glm_4_7"
    assert re.fullmatch(r"zai_glm_4_7_[0-9a-f]{6}", rows["zai/glm-4.7"]["id"])


def test_rows_keep_the_file_order(full: ImportResult) -> None:
    """Rows come in the order of the JSON file's keys."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    order = {key: i for i, key in enumerate(raw)}
    positions = [order[row["model"]] for row in full.document["providers"]]
    assert positions == sorted(positions)


def test_full_yaml_round_trips(full: ImportResult) -> None:
    """The dumped YAML of the full import loads back to the same document."""
    text = dump_pricebook_yaml(full.document)
    assert yaml.load(text, Loader=SafeLoader) == full.document
    assert text.startswith("# Generated by infercost")
    assert DATA_SHA256 in text.split("\n\n", 1)[0]  # the header names the file
    assert f"\n    checked: '{PRICE_DATE}'\n" in text  # a date stays text


# --------------------------------------------------------------------------
# Filters


def test_provider_filter_is_exact_and_case_insensitive(full: ImportResult) -> None:
    """providers=['OpenAI'] keeps entries whose litellm_provider is 'openai'."""
    result = import_litellm(DATA, providers=["OpenAI"], price_date=PRICE_DATE)
    notes = {row["note"].split(";")[0] for row in result.document["providers"]}
    assert notes == {"litellm_provider: openai"}
    assert result.imported == 125
    assert "gpt-4o-mini" in rows_by_model(result)
    # the skip counts cover only the selected entries
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    selected = sum(
        1
        for key, value in raw.items()
        if key != "sample_spec" and value.get("litellm_provider") == "openai"
    )
    assert result.imported + sum(result.skipped.values()) == selected
    assert "azure" not in {
        row["model"].split("/")[0] for row in result.document["providers"]
    }


def test_model_glob_filter(full: ImportResult) -> None:
    """models=['gpt-4o-mini*'] keeps matching keys only, ignoring case."""
    result = import_litellm(DATA, models=["GPT-4o-mini*"], price_date=PRICE_DATE)
    assert [row["model"] for row in result.document["providers"]] == [
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-mini-audio-preview-2024-12-17",
        "gpt-4o-mini-search-preview",
        "gpt-4o-mini-search-preview-2025-03-11",
    ]
    assert result.skipped == {
        "not a chat model (mode=audio_speech)": 3,
        "not a chat model (mode=audio_transcription)": 3,
        "not a chat model (mode=realtime)": 1,
    }


def test_filters_combine_and_keep_full_import_ids(full: ImportResult) -> None:
    """Both filters must pass; a row's id is the same as in the full import."""
    result = import_litellm(
        DATA, providers=["bedrock_converse"], models=["*claude*"], price_date=PRICE_DATE
    )
    assert result.imported > 0
    full_ids = {row["model"]: row["id"] for row in full.document["providers"]}
    for row in result.document["providers"]:
        assert "claude" in row["model"].lower()
        assert row["note"].startswith("litellm_provider: bedrock_converse;")
        assert row["id"] == full_ids[row["model"]]


def test_filters_that_match_nothing_warn_with_a_hint() -> None:
    """A misspelt provider is named in a warning with a 'did you mean'."""
    result = import_litellm(DATA, providers=["opneai"], price_date=PRICE_DATE)
    assert result.imported == 0
    assert result.skipped == {}
    assert "provider 'opneai' matches no entry (did you mean 'openai'?)" in (
        result.warnings
    )
    result = import_litellm(DATA, models=["no-such-model*"], price_date=PRICE_DATE)
    assert "model glob 'no-such-model*' matches no entry" in result.warnings


# --------------------------------------------------------------------------
# Rules on small files


def test_skip_rules_on_a_small_file(tmp_path: Path) -> None:
    """Each skip rule of the module docstring, and a warning for a bad price."""
    path = write_json(
        tmp_path,
        {
            "sample_spec": {"mode": "chat", "input_cost_per_token": 0.0},
            "alias-latest": {"alias_of": "good"},
            "good": {
                "litellm_provider": "acme",
                "mode": "chat",
                "input_cost_per_token": 1.5e-07,
                "output_cost_per_token": 6e-07,
                "cache_read_input_token_cost": 7.5e-08,
                "output_cost_per_reasoning_token": 0.0,
                "source": "https://acme.example/pricing",
            },
            "embed": {"litellm_provider": "acme", "mode": "embedding"},
            "nomode": {"litellm_provider": "acme", "input_cost_per_token": 1e-06},
            "free": {
                "litellm_provider": "acme",
                "mode": "chat",
                "input_cost_per_token": 0,
                "output_cost_per_token": 0.0,
            },
            "tiered": {
                "litellm_provider": "acme",
                "mode": "chat",
                "tiered_pricing": [{"input_cost_per_token": 1e-07, "range": [0, 9]}],
            },
            "unpriced": {"litellm_provider": "acme", "mode": "completion"},
            "text-price": {
                "litellm_provider": "acme",
                "mode": "chat",
                "input_cost_per_token": "0.1",
                "output_cost_per_token": 1e-06,
            },
            "negative": {
                "litellm_provider": "acme",
                "mode": "chat",
                "input_cost_per_token": 1e-06,
                "output_cost_per_token": -1e-06,
            },
            "rules": {"rules": []},
        },
    )
    result = import_litellm(path, price_date=PRICE_DATE)
    assert [row["model"] for row in result.document["providers"]] == ["good"]
    assert result.skipped == {
        "alias of another entry (alias_of)": 1,
        "invalid input/output token price": 2,
        "no input/output token price": 1,
        "not a chat model (mode missing)": 1,
        "not a chat model (mode=embedding)": 1,
        "not a model entry (no litellm_provider)": 1,
        "price kinds not expressible yet (tiered_pricing)": 1,
        SKIP_ZERO: 1,
    }
    row = result.document["providers"][0]
    # a zero-valued extra kind is not worth a mention
    assert row["note"] == (
        "litellm_provider: acme; mode: chat; not imported: cache_read_input_token_cost"
    )
    assert any(
        w.startswith("text-price: input_cost_per_token") for w in result.warnings
    )
    assert any(w.startswith("negative: output_cost_per_token") for w in result.warnings)
    assert result.ignored_price_kinds == {"cache_read_input_token_cost": 1}


def test_bad_prices_are_shown_as_the_file_writes_them(tmp_path: Path) -> None:
    """A warning shows a bad price as JSON has it: -0.000001, "0.1" (text)."""
    path = write_json(
        tmp_path,
        {
            "negative": {
                "litellm_provider": "acme",
                "mode": "chat",
                "input_cost_per_token": -1e-06,
                "output_cost_per_token": 1e-06,
            },
            "text-price": {
                "litellm_provider": "acme",
                "mode": "chat",
                "input_cost_per_token": "0.1",
                "output_cost_per_token": 1e-06,
            },
        },
    )
    warnings = import_litellm(path, price_date=PRICE_DATE).warnings
    assert (
        "negative: input_cost_per_token is not a number >= 0 (got -0.000001); "
        "entry skipped"
    ) in warnings
    assert (
        'text-price: input_cost_per_token is not a number >= 0 (got "0.1"); '
        "entry skipped"
    ) in warnings
    assert not any("Decimal" in w for w in warnings)


def test_a_rule_that_matches_nothing_is_a_warning() -> None:
    """apply_mapping collects 'matches no row' in the list it is given."""
    document = {"providers": [{"id": "a", "model": "gpt-4o"}]}
    rules = {"models": [{"match": "zzz*", "quality_tier": 3}]}
    warnings: list[str] = []
    apply_mapping(document, rules, warnings)
    assert warnings == ["mapping rule match 'zzz*' matches no row"]


@pytest.mark.parametrize(
    ("per_token", "per_million_tokens"),
    [
        ("1.5e-07", 0.15),
        ("3.3e-06", 3.3),
        ("8e-07", 0.8),
        ("2e-07", 0.2),
        ("0.00000125", 1.25),
        ("1e-09", 0.001),
        ("0", 0.0),
        ("0.00018", 180.0),
    ],
)
def test_rates_are_exact_decimal_products(
    tmp_path: Path, per_token: str, per_million_tokens: float
) -> None:
    """The rate is the decimal product of the JSON text, not a float product."""
    text = (
        '{"m": {"litellm_provider": "acme", "mode": "chat", '
        f'"input_cost_per_token": {per_token}, "output_cost_per_token": 1e-06}}}}'
    )
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    row = import_litellm(path, price_date=PRICE_DATE).document["providers"][0]
    assert row["input_rate"] == per_million_tokens
    assert per_million(float(per_token)) == per_million_tokens


def test_ids_from_awkward_keys(tmp_path: Path) -> None:
    """Keys starting with a digit or symbol, or made only of symbols, get ids."""
    priced = {
        "litellm_provider": "acme",
        "mode": "chat",
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 2e-06,
    }
    keys = ["1-model", "@cf/Model.V2", "Model.V2", "model-v2", "émodèle", "x" * 60]
    path = write_json(tmp_path, {key: priced for key in keys})
    ids = [row["id"] for row in import_litellm(path).document["providers"]]
    assert ids[:3] == ["m_1_model", "cf_model_v2", "model_v2"]
    assert re.fullmatch(r"model_v2_[0-9a-f]{6}", ids[3])
    assert ids[4] == "mod_le"
    assert re.fullmatch(r"x{33}_[0-9a-f]{6}", ids[5])
    assert all(ID_RE.match(i) for i in ids) and len(set(ids)) == len(ids)


def test_price_date_defaults_to_today_and_is_checked(tmp_path: Path) -> None:
    """price_date defaults to today's ISO date; anything else must be YYYY-MM-DD."""
    path = write_json(tmp_path, {})
    result = import_litellm(path)
    assert result.document["pricebook"]["price_date"] == dt.date.today().isoformat()
    for bad in ("2026-02-30", "20260221", "21/02/2026", "2026-2-1"):
        with pytest.raises(InputError, match="expected a date YYYY-MM-DD"):
            import_litellm(path, price_date=bad)


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    """A missing file, bad JSON or a JSON list is an InputError naming the file."""
    with pytest.raises(InputError, match="no such file"):
        import_litellm(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n}', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json:2:1: not a JSON price map"):
        import_litellm(bad)
    with pytest.raises(InputError, match="expected a JSON object"):
        import_litellm(write_json(tmp_path, [1, 2]))


# --------------------------------------------------------------------------
# YAML output


TRICKY = [
    "2026-02-21",
    "2026-02-21 10:00:00",
    "1e3",
    "1_000",
    "0o17",
    "0x1F",
    "+.inf",
    ".NaN",
    "12:30",
    "no",
    "Yes",
    "off",
    "y",
    "null",
    "~",
    "",
    "a: b",
    "- x",
    "# x",
    "x #y",
    "it's",
    '"quoted"',
    "multi\nline\n- item",
    "tab\there",
    "émodèle ✓",
    "@cf/meta",
    "[a, b]",
    "{a: 1}",
    "*ref",
    "&anchor",
    "!tag",
    "%dir",
    "|",
    ">",
    " padded ",
]


@pytest.mark.parametrize("text", TRICKY, ids=[repr(t) for t in TRICKY])
def test_text_that_looks_like_something_else_stays_text(text: str) -> None:
    """Strings resembling numbers, booleans, dates or YAML syntax round-trip."""
    document = {
        "format": 1,
        "pricebook": {"name": text, "price_date": text, "currency": "USD"},
        "providers": [{"id": "a", "label": text, "note": text}],
    }
    dumped = dump_pricebook_yaml(document)
    assert yaml.safe_load(dumped) == document


def test_number_like_text_is_quoted_for_other_readers() -> None:
    """Text a YAML 1.2 reader would take for a number is quoted, not plain."""
    document = {"format": 1, "providers": [{"id": "a", "label": "0o17", "note": "1e3"}]}
    dumped = dump_pricebook_yaml(document)
    assert "label: '0o17'" in dumped
    assert "note: '1e3'" in dumped


def test_dump_puts_keys_in_documented_order() -> None:
    """Keys come out in the documented order whatever order the dict has."""
    row = {key: None for key in reversed(PROVIDER_KEYS)}
    row.update(id="a", label="A", model="m", extra="kept last")
    document = {
        "providers": [row],
        "pricebook": {"notes": "text", "name": "x"},
        "format": 1,
    }
    dumped = dump_pricebook_yaml(document)
    body = [line for line in dumped.splitlines() if line and not line.startswith("#")]
    assert body[:4] == ["format: 1", "pricebook:", "  name: x", "  notes: text"]
    keys = [line.split(":")[0].strip(" -") for line in body[5:]]
    assert keys == [*PROVIDER_KEYS, "extra"]
    assert yaml.safe_load(dumped) == document


def test_key_order_matches_the_loader() -> None:
    """PROVIDER_KEYS are the loader's provider fields, in the same order."""
    from generator import pricebook

    assert tuple(pricebook.PROVIDER_SPEC) == PROVIDER_KEYS


def test_dumped_import_loads_as_a_pricebook(tmp_path: Path, full: ImportResult) -> None:
    """A dumped import plus a scenarios file is a valid pricebook for the loader."""
    from generator import pricebook

    result = import_litellm(DATA, models=["gpt-4o*", "o1-pro"], price_date=PRICE_DATE)
    book_path = tmp_path / "litellm.yaml"
    book_path.write_text(dump_pricebook_yaml(result.document), encoding="utf-8")
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(
        "format: 1\nscenarios:\n  - id: standard\n    label: Standard\n"
        "    base_tokens: 100000000\n    input_share: 0.75\n",
        encoding="utf-8",
    )
    book = pricebook.load_book([book_path, scenarios])
    assert len(book.providers) == result.imported
    assert book.price_date == dt.date(2026, 11, 20)
    mini = book.provider("gpt_4o_mini")
    assert (mini.input_rate, mini.output_rate) == (0.15, 0.6)


# --------------------------------------------------------------------------
# Mapping


MAPPING_YAML = """\
models:
  - match: "gpt-4o-mini"
    quality_tier: 3
    latency_ms: 400
  - match: "GPT-4O*"
    quality_tier: 4
    sla: 0.999
  - match: "*"
    sla: 0.99
"""


def test_mapping_file_first_match_wins(tmp_path: Path) -> None:
    """The first rule matching a row's model sets its fields; others are skipped."""
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING_YAML, encoding="utf-8")
    result = import_litellm(
        DATA, providers=["openai"], models=["gpt-4o*", "o1-pro"], price_date=PRICE_DATE
    )
    mapped = apply_mapping(result.document, load_mapping(path))
    rows = rows_by_model(mapped)
    mini = rows["gpt-4o-mini"]
    assert (mini["quality_tier"], mini["sla"], mini["latency_ms"]) == (3, None, 400)
    dated = rows["gpt-4o-2024-08-06"]
    assert (dated["quality_tier"], dated["sla"], dated["latency_ms"]) == (
        4,
        0.999,
        None,
    )
    pro = rows["o1-pro"]
    assert (pro["quality_tier"], pro["sla"], pro["latency_ms"]) == (None, 0.99, None)
    # the input document is left alone, and the notes say a mapping was applied
    assert all(row["quality_tier"] is None for row in result.document["providers"])
    assert "A mapping set quality_tier" in mapped["pricebook"]["notes"]
    assert yaml.safe_load(dump_pricebook_yaml(mapped)) == mapped


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "models:\n  - match: x\n    quality_tier: 7\n",
            r":3:5: models\[0\]\.quality_tier: expected a whole",
        ),
        ("models:\n  - match: x\n    quality_tier: 2.5\n", "whole-number tier"),
        ("models:\n  - match: x\n    sla: 99.9\n", "share from 0 to 1"),
        ("models:\n  - match: x\n    latency_ms: -1\n", "milliseconds >= 0"),
        ("models:\n  - match: x\n    latency: 5\n", "did you mean 'latency_ms'"),
        ("models:\n  - match: x\n", "at least one of"),
        ("models:\n  - sla: 0.9\n", "expected a model glob"),
        ("modles: []\n", "did you mean 'models'"),
        ("- match: x\n", "expected a mapping with a 'models' list"),
    ],
)
def test_bad_mapping_files_are_input_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    """A mapping that breaks a rule is an InputError naming file, line and field."""
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_mapping(path)


def test_apply_mapping_checks_a_plain_dict() -> None:
    """apply_mapping refuses a bad rule even without a file."""
    with pytest.raises(InputError, match=r"models\[0\]\.sla"):
        apply_mapping({"providers": []}, {"models": [{"match": "*", "sla": True}]})
