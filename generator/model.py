"""The cost model, in Python: the reference the workbook's formulas must match.

Per provider p and scenario s at base volume V tokens a month::

    overhead(s)  = (1 + retry) * (1 + guardrail) * (1 - cache_hit)
    blended(p,s) = share * input_rate + (1 - share) * output_rate   # $ per 1M
    cost(p,s,V)  = V / 1e6 * overhead(s) * blended(p,s) + fixed + egress

Cost is computed the way the methodology states it (input tokens and output
tokens priced separately); the blended rate is the same line's slope. Nothing
here reads the workbook: :mod:`generator.verify` feeds it the workbook's inputs
and compares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .pricebook import FIXED, PER_TOKEN, Book, Provider, Scenario  # noqa: F401

TOKENS_PER_MILLION = 1_000_000
#: Costs are ranked after rounding to this many decimals of a dollar, so that
#: two rows whose costs differ only in the last binary digits (827.3479596375
#: and 827.3479596374999) tie, in Python and in every spreadsheet engine
#: alike, and keep pricebook order. A millionth of a dollar a month: coarse
#: enough that a cost of $1M a month still spans thousands of binary digits
#: per step, fine enough that no two costs a user could tell apart tie.
#: Pinned by tests/test_model.py.
RANK_DECIMALS = 6
#: Added to a cost before it is rounded for ranking: a third of a rounding
#: step. Without it, the rounding's half-way points are exact decimals
#: (827.3479595 at 6 decimals), which prices times volumes often give, and
#: engines break such a half differently (Python by the binary value,
#: LibreOffice and Excel by 15 decimal digits). With it, a cost must sit a
#: sixth of a step past a multiple of the step, a number no decimal with
#: fewer than 12 places is within 1e-12 of. The same division in Python and
#: in the workbook (``rank_shift`` on the Inputs sheet), so both add the same
#: double.
RANK_SHIFT_DENOMINATOR = 3 * 10**RANK_DECIMALS
RANK_SHIFT = 1 / RANK_SHIFT_DENOMINATOR

ELIGIBLE = "eligible"
NO_CROSSOVER = "never crosses"
FIXED_ALWAYS_CHEAPER = "fixed always cheaper"
CROSSES = "crosses"

# The recommendation per scenario, in the reference analysis' terms.
STAY = "stay on pay-per-token"
EVALUATE = "evaluate fixed-cost infrastructure now"
NO_FIXED = "stay on pay-per-token (no fixed-cost row breaks even)"
NO_FIXED_ELIGIBLE = "stay on pay-per-token (no eligible fixed-cost row)"
FIXED_ONLY = "evaluate fixed-cost infrastructure now (no eligible per-token row)"
NO_ELIGIBLE = "none: no provider passes the gates"


def overhead(s: Scenario) -> float:
    """Net token multiplier of retries, guardrail calls and cache hits."""
    return (1 + s.retry_rate) * (1 + s.guardrail_rate) * (1 - s.cache_hit_rate)


def blended_rate(p: Provider, share: float) -> float:
    """$ per 1M effective tokens at input share ``share``."""
    return share * p.input_rate + (1 - share) * p.output_rate


def effective_tokens(s: Scenario, volume: float) -> float:
    return volume * overhead(s)


def monthly_cost(
    p: Provider, s: Scenario, volume: float, share: float | None = None
) -> float:
    """Monthly cost in $ of ``volume`` base tokens (input share ``share``)."""
    share = s.input_share if share is None else share
    effective = effective_tokens(s, volume)
    input_tokens = effective * share
    output_tokens = effective * (1 - share)
    return (
        input_tokens / TOKENS_PER_MILLION * p.input_rate
        + output_tokens / TOKENS_PER_MILLION * p.output_rate
        + p.fixed_monthly
        + p.egress_monthly
    )


def fixed_part(p: Provider) -> float:
    return p.fixed_monthly + p.egress_monthly


#: A difference of two amounts smaller than this share of the larger is 0:
#: the two are one price (or one volume), to a millionth. Engines treat
#: near-equal numbers differently (LibreOffice's subtraction gives 0 within
#: 2^-48, Gnumeric computes with more than double precision), and a
#: break-even or a switch share divides by such a difference, which
#: magnifies the last binary digits of its operands: snapped at a millionth,
#: a difference that is kept is precise to 1e-10, inside verify's tolerance.
#: The workbook snaps explicitly (:func:`snap_formula`), the model alike
#: (:func:`snapped`).
SNAP = 1e-6
#: :data:`SNAP` as formulas spell it: every engine reads plain decimals.
SNAP_TEXT = "0.000001"
#: A switch share this close to 0 or 1 is at it: the lines of two rows with
#: one input rate cross at 1, give or take the last binary digits, which
#: engines and the model would put either side of 1. Much smaller than
#: SNAP: costs move fast with the share, so the share must stay precise.
SHARE_EDGE = 1e-12
SHARE_EDGE_TEXT = "0.000000000001"


def snapped(x: float, y: float) -> float:
    """``x - y``, or 0 when it is within :data:`SNAP` of the larger of the two."""
    difference = x - y
    if abs(difference) <= SNAP * max(abs(x), abs(y)):
        return 0.0
    return difference


def snap_formula(x: str, y: str) -> str:
    """The formula of :func:`snapped` for the formulas ``x`` and ``y``."""
    return f"IF(ABS({x}-{y})<={SNAP_TEXT}*MAX(ABS({x}),ABS({y})),0,{x}-{y})"


def at_lowest(value: float, lowest: float) -> bool:
    """Whether ``value`` is the lowest of its column: at most ``lowest`` plus
    :data:`SNAP` of it (``IF(v<=low+snap*ABS(low),1,0)`` in the workbook). A
    lookup by this flag finds the first such row in every engine, where an
    exact MATCH would find a row within 2^-48 in LibreOffice and only an
    equal one in Gnumeric."""
    return value <= lowest + SNAP * abs(lowest)


def at_lowest_formula(value: str, lowest: str) -> str:
    """The flag of :func:`at_lowest` (1 or 0) for the cell ``value`` (empty:
    0) and the formula ``lowest``."""
    return (
        f"IF(ISNUMBER({value}),IF({value}<={lowest}+{SNAP_TEXT}*ABS({lowest}),1,0),0)"
    )


def eligibility(p: Provider, s: Scenario) -> tuple[bool, str]:
    """Whether ``p`` passes the gates of ``s``, and the reason when it does not.

    A gate that is set fails a row whose value is unknown.
    """
    reasons: list[str] = []
    if s.min_quality_tier is not None:
        if p.quality_tier is None:
            reasons.append("quality tier unknown")
        elif p.quality_tier < s.min_quality_tier:
            reasons.append("quality tier below minimum")
    if s.min_sla is not None:
        if p.sla is None:
            reasons.append("SLA unknown")
        elif p.sla < s.min_sla:
            reasons.append("SLA below minimum")
    if s.max_latency_ms is not None:
        if p.latency_ms is None:
            reasons.append("latency unknown")
        elif p.latency_ms > s.max_latency_ms:
            reasons.append("latency above maximum")
    if reasons:
        return False, "; ".join(reasons)
    return True, ELIGIBLE


def ranks(costs: list[float], eligible: list[bool]) -> list[int | None]:
    """Rank eligible rows by ascending cost (1 = cheapest); ties keep order.

    The rank of row i is 1 + the eligible rows that cost less + the eligible
    rows before it that cost the same, which is its place when the eligible
    rows are sorted by (cost, position). Costs compare by :func:`rank_key`.
    """
    out: list[int | None] = [None] * len(costs)
    ranked = sorted(
        (rank_key(c), i)
        for i, (c, ok) in enumerate(zip(costs, eligible, strict=True))
        if ok
    )
    for place, (_, i) in enumerate(ranked, start=1):
        out[i] = place
    return out


def rank_key(cost: float) -> float:
    """The cost as ranked: shifted by :data:`RANK_SHIFT`, then rounded to
    :data:`RANK_DECIMALS` decimals, as ``ROUND(cost+rank_shift,rank_decimals)``
    gives it in the workbook."""
    return round(cost + RANK_SHIFT, RANK_DECIMALS)


def cheapest_per_token(
    providers: list[Provider], costs: list[float], eligible: list[bool]
) -> int | None:
    """Index of the cheapest eligible per-token row (first on a tie), or None."""
    best: tuple[float, int] | None = None
    for i, (p, cost, ok) in enumerate(zip(providers, costs, eligible, strict=True)):
        if ok and not p.is_fixed and (best is None or rank_key(cost) < best[0]):
            best = (rank_key(cost), i)
    return best[1] if best else None


def order(costs: list[float], eligible: list[bool]) -> list[int]:
    """Row indexes in ranking order: eligible by rank, then ineligible rows."""
    rank = ranks(costs, eligible)
    ranked = sorted((r, i) for i, r in enumerate(rank) if r is not None)
    return [i for _, i in ranked] + [i for i, r in enumerate(rank) if r is None]


@dataclass(frozen=True)
class Breakeven:
    """Where the cost lines of a fixed row and a per-token row cross."""

    status: str  # CROSSES, NO_CROSSOVER or FIXED_ALWAYS_CHEAPER
    volume: float | None  # base tokens a month; None unless status is CROSSES


def breakeven(fixed: Provider, token: Provider, s: Scenario) -> Breakeven:
    """Closed-form crossing of two cost lines under the profile of ``s``.

    cost = V * slope + intercept for each row; they cross at
    V = (intercept_f - intercept_t) / (slope_t - slope_f). When the per-token
    line is not steeper, the lines never cross at a positive volume; when the
    fixed row is not dearer at zero volume, it is cheaper at every volume.
    Both gaps are snapped (:data:`SNAP`), as the workbook computes them.
    """
    gap = breakeven_gap(fixed, token)
    steeper = breakeven_slope(fixed, token, s)
    if steeper <= 0:
        if gap <= 0:
            return Breakeven(FIXED_ALWAYS_CHEAPER, None)
        return Breakeven(NO_CROSSOVER, None)
    if gap <= 0:
        return Breakeven(FIXED_ALWAYS_CHEAPER, None)
    volume = gap / steeper * TOKENS_PER_MILLION
    if not math.isfinite(volume):  # a slope gap below the smallest float
        return Breakeven(NO_CROSSOVER, None)
    return Breakeven(CROSSES, volume)


def breakeven_gap(fixed: Provider, token: Provider) -> float:
    """$ a month the fixed row costs more at zero volume (snapped)."""
    return snapped(fixed_part(fixed), fixed_part(token))


def breakeven_slope(fixed: Provider, token: Provider, s: Scenario) -> float:
    """$ per 1M base tokens the per-token row's line is steeper (snapped)."""
    share = s.input_share
    return overhead(s) * snapped(blended_rate(token, share), blended_rate(fixed, share))


def switch_line(p: Provider, s: Scenario) -> tuple[float, float]:
    """(A, B) of ``p``'s cost at base volume as a line in the input share x,
    A + B * x: A = K * output_rate + fixed, B = K * (input_rate - output_rate)
    (snapped), K = base_tokens * overhead / 1e6."""
    k = s.base_tokens * overhead(s) / TOKENS_PER_MILLION
    return (
        k * p.output_rate + fixed_part(p),
        k * snapped(p.input_rate, p.output_rate),
    )


def switch_crossing(current: Provider, other: Provider, s: Scenario) -> float | None:
    """Input share, any, at which the lines of ``current`` and ``other`` cross
    (differences snapped); None when they are parallel."""
    a_c, b_c = switch_line(current, s)
    a_o, b_o = switch_line(other, s)
    run = snapped(b_o, b_c)
    if run == 0:
        return None
    return snapped(a_c, a_o) / run


def switch_share(current: Provider, other: Provider, s: Scenario) -> float | None:
    """Input share at which ``other`` costs the same as ``current``, or None:
    the crossing (:func:`switch_crossing`) when it is within 0-1, a crossing
    within :data:`SHARE_EDGE` of 0 or 1 taken as at it."""
    x = switch_crossing(current, other, s)
    if x is None or not -SHARE_EDGE <= x <= 1 + SHARE_EDGE:
        return None
    return min(1.0, max(0.0, x))


def forecast_volume(s: Scenario, month: int) -> float:
    """Base tokens in month ``month`` (0-based) with compound growth."""
    return s.base_tokens * (1 + s.growth_rate) ** month


def forecast_costs(p: Provider, s: Scenario, months: int) -> list[float]:
    return [monthly_cost(p, s, forecast_volume(s, k)) for k in range(months)]


def crossover_volumes(book: Book) -> list[float]:
    """Log-spaced volumes from crossover_min_tokens to crossover_max_tokens."""
    lo, hi, n = (
        book.crossover_min_tokens,
        book.crossover_max_tokens,
        book.crossover_points,
    )
    ratio = hi / lo
    return [lo * ratio ** (i / (n - 1)) for i in range(n)]


def multiplier(p: Provider, s: Scenario, base: Scenario) -> float | None:
    """Cost in ``s`` over cost in the baseline; None when the baseline is 0."""
    denominator = monthly_cost(p, base, base.base_tokens)
    if denominator == 0:
        return None
    return monthly_cost(p, s, s.base_tokens) / denominator


def is_close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def lowest_breakeven(providers: list[Provider], s: Scenario) -> float | None:
    """Lowest break-even of an eligible fixed row against the cheapest eligible
    per-token row (0 when the fixed row is always cheaper), or None."""
    costs = [monthly_cost(p, s, s.base_tokens) for p in providers]
    ok = [eligibility(p, s)[0] for p in providers]
    best_index = cheapest_per_token(providers, costs, ok)
    if best_index is None:
        return None
    best = providers[best_index]
    values: list[float] = []
    for p, eligible in zip(providers, ok, strict=True):
        if not (p.is_fixed and eligible):
            continue
        be = breakeven(p, best, s)
        if be.status == FIXED_ALWAYS_CHEAPER:
            values.append(0.0)
        elif be.status == CROSSES and be.volume is not None:
            values.append(be.volume)
    return min(values) if values else None


def recommendation(providers: list[Provider], s: Scenario) -> str:
    """Pay per token below the lowest break-even; evaluate fixed-cost at or above.

    When the gates leave no row, no fixed-cost row or no per-token row, the
    recommendation says so instead of comparing volumes.
    """
    ok = [eligibility(p, s)[0] for p in providers]
    if not any(ok):
        return NO_ELIGIBLE
    if not any(e for p, e in zip(providers, ok, strict=True) if p.is_fixed):
        return NO_FIXED_ELIGIBLE
    if not any(e for p, e in zip(providers, ok, strict=True) if not p.is_fixed):
        return FIXED_ONLY
    lowest = lowest_breakeven(providers, s)
    if lowest is None:
        return NO_FIXED
    # At the break-even within SNAP is at it: "at or above" evaluates.
    return STAY if snapped(s.base_tokens, lowest) < 0 else EVALUATE


def evaluates_fixed_cost(recommendation_text: str) -> bool:
    """Whether a recommendation says to evaluate fixed-cost infrastructure."""
    return recommendation_text.startswith(EVALUATE)
