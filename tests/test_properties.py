"""Property tests (hypothesis) of the loader and the build on any pricebook text.

The strategies write pricebook documents as YAML text, valid or broken in
the ways people break them: a wrong value (a YAML 1.1 surprise, text for a
number, NaN, out of range), a field left out or misspelt, a line deleted,
duplicated or cut, hostile text in labels. Whatever comes in:

- nothing but an InputError ever comes out of the loader;
- ``infercost build`` exits 0 or 2, never with a traceback, and a refusal is
  one line naming the file;
- every workbook it accepts verifies: its formulas, names and cached values
  agree with the model (``--engine cached``; Gnumeric too when installed).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.cli import main
from generator.engine import available_engines
from generator.errors import InputError
from generator.pricebook import load_book_text

# -- scalars, as written in YAML ---------------------------------------------

#: Raw scalars that are wrong for a number, each a mistake people make.
BAD_NUMBERS = (
    "no",
    "yes",
    "0123",
    "6:40",
    "0x1F",
    ".nan",
    ".inf",
    "-.inf",
    "-1",
    "1e400",
    "'$0.09'",
    "1,000",
    "75%",
    "2026-02-21",
    "~",
    "[]",
    "{a: 1}",
    '""',
    "1e-320",
    "9" * 30,
)
HOSTILE_TEXT = (
    '=HYPERLINK("http://example.invalid","x")',
    "@SUM(1)",
    "+1",
    "-1",
    "=1+1",
    "line\nbreak",
    "\U0001f680 \u05e1\u05e4\u05e7 \u0645\u0632\u0648\u062f",
    "no",
    "2026-02-21",
)


def number_text(low: float, high: float) -> st.SearchStrategy[str]:
    """A number from ``low`` to ``high``, written as YAML would be typed."""
    return st.one_of(
        # 1e-300 is refused as absurd (tested in test_bad_input): not drawn here.
        st.floats(low, high, allow_nan=False, allow_subnormal=False)
        .map(lambda x: 0.0 if abs(x) < 1e-9 else x)
        .map(repr),
        st.integers(int(low), int(high)).map(str),
    )


@st.composite
def text_scalar(draw: st.DrawFn, broken: bool = True) -> str:
    """Text, quoted as JSON (valid YAML double quotes) or left plain.

    Mostly printable (emoji, right-to-left script, formula-like text); one
    time in 40 a control character or an over-long label, which the loader
    must refuse clearly (a document has a dozen texts, so most still load).
    """
    roll = draw(st.integers(0 if broken else 2, 39))
    if roll == 0:
        value = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=8))
    elif roll == 1:
        value = "a" * draw(st.integers(90, 130))
    elif roll < 12:
        value = draw(st.sampled_from(HOSTILE_TEXT))
    elif roll < 30:
        printable = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
        value = draw(st.text(printable, min_size=1, max_size=24))
    else:
        return draw(st.from_regex(r"[A-Za-z][A-Za-z0-9 ._-]{0,20}", fullmatch=True))
    return json.dumps(value, ensure_ascii=False)


def maybe_bad(good: st.SearchStrategy[str], broken: bool) -> st.SearchStrategy[str]:
    return st.one_of(good, st.sampled_from(BAD_NUMBERS)) if broken else good


#: Ids with underscores, and scenario ids among them, so that two ids make
#: one defined name now and then (cost_standard_a_b of standard and a_b, or
#: of standard_a and b; multiplier_min_agent of min and agent, or of agent).
IDS = ("alpha", "beta", "gamma", "delta", "fy2024", "r1c1", "a_b", "a", "b_c", "b")
IDS += ("agent",)
SCENARIO_IDS = ("standard", "agent", "row_standard", "standard_a", "min")


@st.composite
def provider(draw: st.DrawFn, pid: str, broken: bool) -> dict[str, str]:
    fixed = draw(st.booleans())
    row = {
        "id": pid,
        "label": draw(text_scalar(broken)),
        "model": draw(text_scalar(broken)),
        "pricing": "fixed" if fixed else "per_token",
        "input_rate": "0" if fixed else draw(maybe_bad(number_text(0, 50), broken)),
        "output_rate": "0" if fixed else draw(maybe_bad(number_text(0, 80), broken)),
        "quality_tier": draw(st.sampled_from(["3", "4", "5", "null"])),
        "source": draw(
            st.sampled_from(
                ["https://example.com/p", "javascript:alert(1)", '"=cmd|x!A1"']
            )
        ),
        "checked": draw(
            maybe_bad(st.sampled_from(["2026-02-21", "2025-12-31"]), broken)
        ),
    }
    if fixed:
        row["fixed_monthly"] = draw(maybe_bad(number_text(1, 5000), broken))
    if draw(st.booleans()):
        row["sla"] = draw(maybe_bad(number_text(0.9, 1), broken))
    if draw(st.booleans()):
        row["latency_ms"] = draw(maybe_bad(number_text(50, 5000), broken))
    if draw(st.booleans()):
        row["note"] = draw(text_scalar(broken))
    return row


@st.composite
def scenario(draw: st.DrawFn, sid: str, broken: bool) -> dict[str, str]:
    row = {
        "id": sid,
        "label": draw(text_scalar(broken)),
        "base_tokens": draw(maybe_bad(number_text(1e3, 1e13), broken)),
        "input_share": draw(maybe_bad(number_text(0, 1), broken)),
        "retry_rate": draw(maybe_bad(number_text(0, 0.5), broken)),
        "cache_hit_rate": draw(
            maybe_bad(st.one_of(st.just("1"), number_text(0, 1)), broken)
        ),
        "growth_rate": draw(maybe_bad(number_text(-0.5, 1), broken)),
    }
    if draw(st.booleans()):
        row["min_quality_tier"] = draw(st.sampled_from(["3", "4", "null"]))
    return row


def mapping(rows: list[dict[str, str]]) -> str:
    out = ""
    for row in rows:
        lines = [f"{key}: {value}" for key, value in row.items()]
        out += "  - " + "\n    ".join(lines) + "\n"
    return out


@st.composite
def document(draw: st.DrawFn) -> str:
    """A pricebook as YAML text: valid, or broken in one of several ways."""
    how = draw(st.sampled_from(["valid"] * 3 + ["values", "text", "fields"]))
    broken = how == "values"
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True))
    providers = [draw(provider(pid, broken)) for pid in ids]
    sids = draw(
        st.lists(st.sampled_from(SCENARIO_IDS), min_size=1, max_size=3, unique=True)
    )
    scenarios = [draw(scenario(sid, broken)) for sid in sids]
    if how == "fields":
        row = draw(st.sampled_from(providers + scenarios))
        key = draw(st.sampled_from(sorted(row)))
        if draw(st.booleans()):
            del row[key]
        else:
            row[key[:-1] + "x"] = row.pop(key)
    text = (
        "format: 1\n"
        "pricebook:\n"
        f"  name: {draw(text_scalar(broken))}\n"
        "  price_date: 2026-02-21\n"
        "providers:\n" + mapping(providers)
    )
    fixed = [p.get("id") for p in providers if p.get("pricing") == "fixed"]
    tokens = [p.get("id") for p in providers if p.get("pricing") == "per_token"]
    if fixed and tokens and draw(st.booleans()):
        text += f"breakeven_pairs:\n  - [{fixed[0]}, {tokens[0]}]\n"
    text += "scenarios:\n" + mapping(scenarios)
    text += f"forecast:\n  months: {draw(st.integers(1, 24))}\n"
    if how == "text":
        lines = text.splitlines(keepends=True)
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "repeat", "cut", "insert"]))
        if edit == "delete":
            del lines[at]
        elif edit == "repeat":
            lines.insert(at, lines[at])
        elif edit == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        else:
            junk = draw(
                st.sampled_from(["\t", ":", "- ", "[", "'", "&a ", "*a ", "\x07"])
            )
            pos = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:pos] + junk + lines[at][pos:]
        text = "".join(lines)
    return text


# -- the properties ------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(document(), st.text(max_size=400)))
def test_loader_raises_only_input_errors(text: str) -> None:
    """Any text loads as a book or raises an InputError naming the file."""
    try:
        book = load_book_text(text, "prop.yaml")
    except InputError as exc:
        assert str(exc).startswith("prop.yaml"), str(exc)
        assert "\n" not in str(exc)
    else:
        assert book.providers and book.scenarios


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_defined_names_are_checked_at_load_as_the_layout_makes_them(
    text: str,
) -> None:
    """The loader refuses two ids making one defined name exactly when the
    layout would, and its list of names is the layout's."""
    from unittest import mock

    from generator.layout import build_plan
    from generator.pricebook import check_defined_names, defined_names

    with mock.patch("generator.pricebook.check_defined_names"):
        try:
            book = load_book_text(text, "prop.yaml")
        except InputError:
            return
    try:
        made = build_plan(book).names()
    except InputError as exc:
        assert "defined name" in str(exc), str(exc)
        made = None
    try:
        check_defined_names(book)
    except InputError as exc:
        event("clash")
        assert made is None, str(exc)
        assert str(exc).startswith("prop.yaml:"), str(exc)
    else:
        assert made is not None
        assert set(defined_names(book)) == set(made)


def test_product_names_never_meet() -> None:
    """No quantity named for a product of ids is another one followed by _,
    so check_defined_names may compare each product with itself only."""
    from generator.pricebook import PRODUCT_NAMES

    for a in PRODUCT_NAMES:
        for b in PRODUCT_NAMES:
            assert a == b or not b.startswith(a + "_"), (a, b)


ONE_LINE = re.compile(r"^Error: [^\n]+$")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document())
def test_build_accepts_or_refuses_cleanly(text: str) -> None:
    """Exit 0 and a workbook that verifies, or exit 2 and one line; no traceback."""
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "book.yaml"
        source.write_text(text, encoding="utf-8")
        out = Path(tmp) / "out" / "book.xlsx"
        result = runner.invoke(main, ["-q", "build", str(source), "-o", str(out)])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code in (0, 2), result.output
        event("accepted" if result.exit_code == 0 else "refused")
        if result.exit_code == 2:
            assert ONE_LINE.match(result.stderr.strip()), result.stderr
            assert result.stderr.startswith(f"Error: {source}"), result.stderr
            assert not out.parent.exists()
            return
        # Cached values always; Gnumeric too when installed (fast enough for
        # every example, and a real recalculation).
        engines = ["cached"]
        if "gnumeric" in available_engines():
            engines.append("gnumeric")
        for engine in engines:
            verdict = runner.invoke(main, ["verify", "--engine", engine, str(out)])
            assert verdict.exit_code == 0, (engine, verdict.output)


SINGLE = """\
format: 1
pricebook: {name: One row, price_date: 2026-02-21}
providers:
  - {id: alpha, label: Alpha, model: m, pricing: per_token, input_rate: 0.1,
     output_rate: 0.2, quality_tier: 3, source: https://example.com/,
     checked: 2026-02-21}
scenarios:
  - {id: standard, label: Standard, base_tokens: 1000000, input_share: 0.5}
"""


def test_single_provider_in_gnumeric(tmp_path: Path) -> None:
    """A one-provider book verifies with cached values and with Gnumeric.

    Gnumeric's INDEX over a one-cell range gives #REF! where Excel and
    LibreOffice give the cell; the layout reads one-row blocks with the blank
    row below them (layout.index_area).
    """
    from engines import require_engine

    source = tmp_path / "one.yaml"
    source.write_text(SINGLE)
    out = tmp_path / "one.xlsx"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source), "-o", str(out)]).exit_code == 0
    assert (
        runner.invoke(main, ["verify", "--engine", "cached", str(out)]).exit_code == 0
    )
    require_engine("gnumeric")
    result = runner.invoke(main, ["verify", "--engine", "gnumeric", str(out)])
    assert result.exit_code == 0, result.output


def test_tiny_cheapest_per_token_cost_is_the_cost_not_the_rank_key(tmp_path):
    """Found by the property test: a cost of $0.094 a month is shown as the
    cost, not as the key rounded to 1e-9 that ranks it; Gnumeric agrees."""
    from engines import require_engine

    source = Path(__file__).parent / "data" / "tiny-cost.yaml"
    out = tmp_path / "tiny.xlsx"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source), "-o", str(out)]).exit_code == 0
    require_engine("gnumeric")
    result = runner.invoke(main, ["verify", "--engine", "gnumeric", str(out)])
    assert result.exit_code == 0, result.output


def test_costs_either_side_of_a_decimal_half_tie_in_every_engine(tmp_path):
    """Found with the LiteLLM price map at an input share of 0.5: two costs
    either side of the half-way point of a rounding step ranked apart in
    Python and tied in LibreOffice, so a freshly built workbook failed verify.
    They tie in both now, and keep pricebook order."""
    from engines import require_engine

    source = Path(__file__).parent / "data" / "decimal-half-ties.yaml"
    out = tmp_path / "ties.xlsx"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source), "-o", str(out)]).exit_code == 0
    from workbook_tools import named_values

    values = named_values(out)
    for first, second in (("split", "split_twin"), ("half", "half_twin")):
        for scenario in ("standard", "agent"):
            a = values[f"rank_{scenario}_{first}"]
            b = values[f"rank_{scenario}_{second}"]
            assert b == a + 1, (scenario, first, a, b)
    for engine in ("libreoffice", "gnumeric"):
        require_engine(engine)
        result = runner.invoke(main, ["verify", "--engine", engine, str(out)])
        assert result.exit_code == 0, (engine, result.output)


NEAR_TIES = sorted((Path(__file__).parent / "data" / "near-ties").glob("*.yaml"))


@pytest.mark.parametrize("source", NEAR_TIES, ids=[p.stem for p in NEAR_TIES])
def test_near_equal_prices_verify_in_every_engine(source, tmp_path):
    """Books QA found where a freshly built workbook failed verify: prices
    equal but for their last binary digits (see each file's comment)."""
    from engines import require_engine

    out = tmp_path / "book.xlsx"
    runner = CliRunner()
    result = runner.invoke(main, ["build", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    for engine in ("libreoffice", "gnumeric"):
        require_engine(engine)
        result = runner.invoke(main, ["verify", "--engine", engine, str(out)])
        assert result.exit_code == 0, (engine, result.output)
