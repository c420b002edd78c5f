"""The default workbook reproduces the February 2026 reference analysis.

Published figures are typed here, in the tests, and nowhere in the code: the
workbook must compute them from the pricebook.
"""

from __future__ import annotations

import math

import pytest

from generator import model as m
from tests.workbook_tools import named_values

STANDARD = [
    ("bedrock_gemma3_4b", 4.5964),
    ("vertex_gpt_oss", 10.5717),
    ("bedrock_gemma3_12b", 12.8698),
    ("vertex_mistral", 13.7891),
]
AGENT = [
    ("io_net", 210.00),
    ("vertex_gpt_oss", 359.5636),
    ("bedrock_gemma3_12b", 423.0160),
    ("hf_dedicated", 547.00),
    ("openai_4o_mini", 850.8390),
]
SIX_MONTH_AGENT = {
    "io_net": 1260.00,
    "vertex_gpt_oss": 2445.72,
    "bedrock_gemma3_12b": 2877.32,
    "claude_sonnet_45": 141250.15,
}
BREAKEVEN = {
    ("standard", "io_net"): 1_631_720_649,
    ("standard", "hf_dedicated"): 4_250_243_787,
    ("agent", "io_net"): 794_296_197,
    ("agent", "hf_dedicated"): 2_068_952_475,
}


def close(actual: float, expected: float, places: int) -> bool:
    """Equal once rounded as the reference rounds (``places`` decimals)."""
    return round(actual, places) == pytest.approx(expected, abs=10**-places / 2)


@pytest.fixture(scope="module")
def names(built_workbook):
    return named_values(built_workbook)


@pytest.mark.parametrize(
    "scenario,expected", [("standard", STANDARD), ("agent", AGENT)]
)
def test_rankings_in_order_with_costs(names, scenario, expected):
    """The top of each ranking is the published order with the published costs."""
    for position, (pid, cost) in enumerate(expected, start=1):
        assert names[f"rank_{scenario}_{pid}"] == position
        assert names[f"cost_{scenario}_{pid}"] == pytest.approx(
            cost, rel=1e-6, abs=5e-5
        )


def test_agent_ranking_excludes_tier_3_rows(names):
    """Tier-3 rows are unranked in the agent scenario (quality gate >= 4)."""
    assert names["rank_agent_bedrock_gemma3_4b"] in (None, "")
    assert names["rank_agent_vertex_mistral"] in (None, "")


def test_six_month_agent_totals(names):
    """Six months at +5 % a month, fixed rows flat, as published."""
    for pid, total in SIX_MONTH_AGENT.items():
        assert close(names[f"forecast_total_agent_{pid}"], total, 2)


def test_multipliers_span_published_range(names):
    """Per-token multipliers run from 27.61x (Gemma 3 4B) to 37.65x; fixed = 1."""
    assert close(names["multiplier_min_agent"], 27.61, 2)
    assert close(names["multiplier_max_agent"], 37.65, 2)
    assert close(names["multiplier_agent_bedrock_gemma3_4b"], 27.61, 2)
    assert close(names["multiplier_agent_claude_sonnet_45"], 37.65, 2)
    assert names["multiplier_agent_io_net"] == pytest.approx(1.0)
    assert names["multiplier_agent_hf_dedicated"] == pytest.approx(1.0)


@pytest.mark.parametrize("scenario,fixed", sorted(BREAKEVEN))
def test_breakevens_round_to_published_integers(names, scenario, fixed):
    """Break-even against Bedrock 12B, per scenario profile, to the token."""
    value = names[f"breakeven_{scenario}_{fixed}_bedrock_gemma3_12b"]
    assert round(value) == BREAKEVEN[(scenario, fixed)]


def test_sensitivity_switch_share(names):
    """In the agent scenario io.net stays cheapest up to an input share of ~0.78."""
    assert names["cheapest_agent"] == "io_net"
    assert names["switch_provider_above_agent"] == "vertex_gpt_oss"
    assert round(names["switch_share_above_agent"], 2) == 0.78
    assert names["switch_share_above_standard"] in (None, "")
    assert names["switch_share_below_standard"] in (None, "")


def test_recommendations(names):
    """Standard stays on pay-per-token; agent evaluates fixed-cost now."""
    assert "pay-per-token" in names["recommendation_standard"]
    assert "evaluate fixed-cost" in names["recommendation_agent"]
    assert names["master_check"] is True


def test_python_model_gives_the_same_figures(default_book):
    """The Python model alone reproduces the published figures."""
    scen = {s.id: s for s in default_book.scenarios}
    for sid, expected in (("standard", STANDARD), ("agent", AGENT)):
        s = scen[sid]
        costs = [m.monthly_cost(p, s, s.base_tokens) for p in default_book.providers]
        ok = [m.eligibility(p, s)[0] for p in default_book.providers]
        order = m.order(costs, ok)
        ids = [default_book.providers[i].id for i in order[: len(expected)]]
        assert ids == [pid for pid, _ in expected]
        for pid, cost in expected:
            p = default_book.provider(pid)
            assert m.monthly_cost(p, s, s.base_tokens) == pytest.approx(
                cost, rel=1e-6, abs=5e-5
            )
    agent = scen["agent"]
    for pid, total in SIX_MONTH_AGENT.items():
        got = sum(m.forecast_costs(default_book.provider(pid), agent, 6))
        assert close(got, total, 2)
    bedrock = default_book.provider("bedrock_gemma3_12b")
    for (sid, fixed), expected in BREAKEVEN.items():
        be = m.breakeven(default_book.provider(fixed), bedrock, scen[sid])
        assert be.status == m.CROSSES
        assert round(be.volume) == expected
    assert math.isclose(m.overhead(scen["standard"]), 0.919275)
    assert math.isclose(m.overhead(agent), 1.20175)
