"""Properties of the cost model (hypothesis): ranks, break-evens, switch shares."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from generator import model as m
from generator.pricebook import FIXED, PER_TOKEN, Provider, Scenario

# Real rates are 0 or at least a millionth of a dollar per million tokens.
rates = st.one_of(st.just(0.0), st.floats(1e-6, 50))
amounts = st.floats(0, 5000, allow_nan=False)
# Shares as people write them: 0, 1, or at least a millionth.
shares = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-6, 1))


def provider(
    pid: str,
    pricing: str,
    input_rate: float,
    output_rate: float,
    fixed: float = 0.0,
    egress: float = 0.0,
) -> Provider:
    return Provider(pid, pid, pid, pricing, input_rate, output_rate, fixed, egress, 4)


scenarios = st.builds(
    lambda volume, share, retry, guard, cache: Scenario(
        "s", "s", volume, share, retry, guard, cache, None, None, None, 0.0
    ),
    st.floats(1e3, 1e12),
    shares,
    st.floats(0, 0.5),
    st.floats(0, 0.5),
    st.floats(0, 0.99),
)


def brute_ranks(costs, eligible):
    out = []
    for i, (cost, ok) in enumerate(zip(costs, eligible, strict=True)):
        if not ok:
            out.append(None)
            continue
        below = sum(1 for c, e in zip(costs, eligible, strict=True) if e and c < cost)
        ties = sum(
            1 for c, e in zip(costs[:i], eligible[:i], strict=True) if e and c == cost
        )
        out.append(1 + below + ties)
    return out


@given(
    st.lists(
        st.tuples(st.sampled_from([1.0, 2.0, 2.5, 3.0, 10.0]), st.booleans()),
        max_size=30,
    )
)
def test_ranks_follow_cost_then_pricebook_order(rows):
    """Eligible rows rank by cost; ties keep pricebook order; others unranked."""
    costs = [c for c, _ in rows]
    ok = [e for _, e in rows]
    assert m.ranks(costs, ok) == brute_ranks(costs, ok)
    order = m.order(costs, ok)
    assert sorted(order) == list(range(len(rows)))


@given(scenarios, rates, rates, amounts, amounts)
def test_breakeven_is_where_the_cost_lines_cross(s, in_rate, out_rate, fixed, egress):
    """At the break-even volume the fixed row and the per-token row cost the same."""
    f = provider("f", FIXED, 0, 0, fixed, egress)
    t = provider("t", PER_TOKEN, in_rate, out_rate)
    be = m.breakeven(f, t, s)
    if be.status == m.CROSSES:
        assert be.volume > 0
        a = m.monthly_cost(f, s, be.volume)
        b = m.monthly_cost(t, s, be.volume)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        # Below it pay-per-token is cheaper, above it the fixed row is.
        assert m.monthly_cost(t, s, be.volume / 2) <= m.monthly_cost(
            f, s, be.volume / 2
        )
        assert m.monthly_cost(t, s, be.volume * 2) >= m.monthly_cost(
            f, s, be.volume * 2
        )
    elif be.status == m.NO_CROSSOVER:
        assert m.monthly_cost(t, s, 1e15) <= m.monthly_cost(f, s, 1e15) + 1e-6
    else:
        assert m.monthly_cost(f, s, 1.0) <= m.monthly_cost(t, s, 1.0) + 1e-6


@given(scenarios, rates, rates, rates, rates, amounts)
def test_switch_share_equalises_costs(s, a_in, a_out, b_in, b_out, fixed):
    """At the switch share two rows cost the same at the scenario's volume,
    to the millionth that the snapped differences (m.SNAP) leave out: of
    their costs at share 0 (A) and of their slopes over the share (B)."""
    a = provider("a", PER_TOKEN, a_in, a_out, fixed)
    b = provider("b", PER_TOKEN, b_in, b_out)
    x = m.switch_share(a, b, s)
    if x is not None:
        assert 0 <= x <= 1
        ca = m.monthly_cost(a, s, s.base_tokens, x)
        cb = m.monthly_cost(b, s, s.base_tokens, x)
        k = s.base_tokens * m.overhead(s) / m.TOKENS_PER_MILLION
        a_size = max(k * a_out + fixed, k * b_out)
        b_size = k * max(abs(a_in - a_out), abs(b_in - b_out), a_in, a_out, b_in, b_out)
        snapped_out = 2 * m.SNAP * (a_size + b_size)
        assert math.isclose(ca, cb, rel_tol=1e-7, abs_tol=1e-6 + snapped_out)


@given(scenarios, rates, rates)
def test_forecast_month_zero_is_base_cost(s, in_rate, out_rate):
    """Month 0 of the forecast costs what the base volume costs."""
    p = provider("p", PER_TOKEN, in_rate, out_rate)
    assert math.isclose(
        m.forecast_costs(p, s, 1)[0],
        m.monthly_cost(p, s, s.base_tokens),
        rel_tol=1e-12,
        abs_tol=1e-12,
    )


def test_multiplier_is_none_when_baseline_costs_nothing():
    """A cache hit rate of 1 makes the baseline free: no ratio, no division by 0."""
    free = Scenario("s", "s", 1e6, 0.5, 0, 0, 1.0, None, None, None, 0)
    other = Scenario("t", "t", 1e6, 0.5, 0, 0, 0, None, None, None, 0)
    p = provider("p", PER_TOKEN, 1, 2)
    assert m.multiplier(p, other, free) is None


def test_costs_equal_but_for_the_last_binary_digit_tie_in_pricebook_order():
    """Near-equal costs rank by pricebook order, as every engine will see them."""
    assert 137.89124999999999 != 137.89125
    assert m.ranks([137.89125, 137.89124999999999], [True, True]) == [1, 2]
    assert m.ranks([137.89124999999999, 137.89125], [True, True]) == [1, 2]
    rows = [provider("a", PER_TOKEN, 1, 1), provider("b", PER_TOKEN, 1, 1)]
    assert m.cheapest_per_token(rows, [2.0000000000000004, 2.0], [True, True]) == 0


def test_costs_either_side_of_a_decimal_half_tie():
    """Found on the LiteLLM price map: 827.3479596375 and 827.3479596374999
    (input rates 2.9999900000000004 and 2.99999) lie either side of the
    half-way point of a rounding step. Python's round() split them, while
    LibreOffice's ROUND, reading 15 digits, made both the same: the ranks
    differed. The shifted key ties them, in Python as in the workbook."""
    below, above = 827.3479596374999, 827.3479596375
    assert math.nextafter(below, math.inf) == above
    assert m.rank_key(below) == m.rank_key(above)
    assert m.ranks([above, below], [True, True]) == [1, 2]
    # The same at a half-way point of the step the key rounds to now.
    half = 12.3456785
    step = 10.0**-m.RANK_DECIMALS
    assert math.isclose(half * 10**m.RANK_DECIMALS % 1, 0.5, abs_tol=1e-6)
    near = [math.nextafter(half, -math.inf), half, math.nextafter(half, math.inf)]
    assert len({m.rank_key(c) for c in near}) == 1
    assert abs(m.rank_key(half) - half) < step


@given(
    st.integers(0, 10**4 * 10**11),
    st.integers(m.RANK_DECIMALS + 1, 11),
)
def test_a_decimal_cost_and_its_neighbouring_doubles_share_a_rank_key(n, places):
    """A cost that is a decimal of at most 11 places under $10,000 (a price
    times a volume) is far from where the shifted key's rounding breaks, in
    binary digits: every double within 8 steps of it ranks the same. Engines
    that compute the cost a few binary digits differently rank it the same."""
    cost = n / 10**11
    cost = round(cost, places)
    key = m.rank_key(cost)
    low = high = cost
    for _ in range(8):
        low, high = math.nextafter(low, -math.inf), math.nextafter(high, math.inf)
        assert m.rank_key(low) == key == m.rank_key(high), (cost, low, high)
