"""What changed between two snapshots, and what the change does to the model.

Each side is a pricebook (YAML, loaded like ``infercost build`` loads it) or a
built workbook (its inputs as they stand, read like ``infercost verify`` reads
them). :func:`diff_books` compares:

- the snapshots: name, price date, files;
- providers added and removed; every price, tier, SLA, latency and pricing
  change of a provider on both sides, with old, new and percent;
- scenario assumptions and settings (forecast months, grids, crossover
  range) that differ (a workbook side may carry an analyst's edits);
- per scenario on both sides: the cheapest eligible row, rank moves, cost at
  the base volume and forecast total per provider, break-evens (every fixed
  row against every per-token row) that moved, appeared or vanished, the
  lowest eligible break-even and the recommendation, flagged when it flipped.

:func:`render_diff` gives terminal text, :meth:`Diff.to_json` data for
scripts, :func:`changes_sheet` the "Changes" sheet of ``build --previous``.
All three show the same :func:`sections`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import model as m
from .plan import SheetPlan
from .pricebook import PROVIDER_NAMES, Book, Scenario, load_book
from .report import snapshot_line, text_table

#: Provider fields compared, in the order they are reported.
PROVIDER_FIELDS = ("pricing", *PROVIDER_NAMES)
#: The provider fields a workbook holds as inputs (all but the pricing kind).
PROVIDER_INPUTS = PROVIDER_FIELDS[1:]
SCENARIO_FIELDS = (
    "base_tokens",
    "input_share",
    "retry_rate",
    "guardrail_rate",
    "cache_hit_rate",
    "min_quality_tier",
    "min_sla",
    "max_latency_ms",
    "growth_rate",
)
SETTINGS = (
    "forecast_months",
    "input_shares",
    "volume_factors",
    "crossover_min_tokens",
    "crossover_max_tokens",
)
MOVED = "moved"
APPEARED = "appeared"
VANISHED = "vanished"
STATUS_CHANGED = "status changed"
REL = 1e-9  # relative tolerance below which two figures are the same


@dataclass
class Snapshot:
    """One side of a diff: where it came from and the book it gives."""

    path: str
    kind: str  # "pricebook" or "workbook"
    name: str
    price_date: str | None
    files: list[str]
    book: Book = field(repr=False, compare=False)
    #: Analyst overrides on this side: (provider id, field) -> the pricebook's
    #: value it replaces (a workbook value that differs from what the workbook
    #: was built with, or one ``--keep-inputs`` kept).
    overrides: dict[tuple[str, str], Any] = field(default_factory=dict)

    def title(self, shown: Callable[[str], str] = str) -> str:
        """Name, price date and file (``shown`` turns the path into text)."""
        date = self.price_date or "undated"
        return f"{self.name}, prices of {date} ({self.kind} {shown(self.path)})"


def load_side(path: Path, scenarios: Sequence[Path] = ()) -> Snapshot:
    """Load one side: a workbook (.xlsx) or a pricebook file plus ``scenarios``.

    Raises InputError for a file that cannot be read, or a workbook with an
    input cell that cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from .keep import read_current, same

        current = read_current(path)
        current.require_clean()
        built = {p.id: p for p in current.built.providers}
        overrides = {
            (p.id, name): getattr(built[p.id], name)
            for p in current.book.providers
            for name in PROVIDER_INPUTS
            if not same(getattr(p, name), getattr(built[p.id], name))
        }
        return snapshot(current.book, str(path), "workbook", overrides)
    return snapshot(load_book([path, *scenarios]), str(path), "pricebook")


def snapshot(
    book: Book,
    path: str,
    kind: str,
    overrides: dict[tuple[str, str], Any] | None = None,
) -> Snapshot:
    """A side made of a book already loaded (``path`` names it).

    ``overrides`` default to the ones the book carries (``--keep-inputs``).
    """
    date = book.price_date.isoformat() if book.price_date else None
    kept = dict(book.overrides) if overrides is None else overrides
    return Snapshot(path, kind, book.name, date, list(book.files), book, kept)


# ---------------------------------------------------------------------------
# The diff as data


@dataclass
class Change:
    """A field of a provider, a scenario or the book that differs.

    For a provider, ``old_override`` / ``new_override`` say that the side's
    value is an analyst override, and ``old_pricebook`` / ``new_pricebook``
    give the pricebook value it replaces (None otherwise).
    """

    id: str  # provider id, scenario id, or "book"
    field: str
    old: Any
    new: Any
    percent: float | None = None
    old_override: bool = False
    old_pricebook: Any = None
    new_override: bool = False
    new_pricebook: Any = None


@dataclass
class RankMove:
    provider: str
    old: int | None  # None: not eligible, or not in the old book ("added")
    new: int | None  # None: not eligible, or not in the new book ("removed")
    old_status: str
    new_status: str


@dataclass
class CostChange:
    """Monthly cost at the base volume and the forecast total of a provider.

    A provider on one side only has the figures of that side; the others,
    and the deltas, are None.
    """

    provider: str
    old: float | None
    new: float | None
    delta: float | None
    percent: float | None
    old_total: float | None
    new_total: float | None
    total_delta: float | None
    total_percent: float | None


@dataclass
class BreakevenChange:
    fixed: str
    token: str
    kind: str  # MOVED, APPEARED, VANISHED or STATUS_CHANGED
    old_status: str  # a model status, or "absent" when a row is missing
    old_volume: float | None
    new_status: str
    new_volume: float | None
    percent: float | None
    headline: bool


@dataclass
class Headline:
    """The Summary row of a scenario, as the workbook computes it."""

    cheapest: str | None
    cheapest_cost: float | None
    lowest_breakeven: float | None
    recommendation: str


@dataclass
class ScenarioEffect:
    scenario: str
    label: str
    old: Headline
    new: Headline
    months_old: int
    months_new: int
    ranks: list[RankMove] = field(default_factory=list)
    costs: list[CostChange] = field(default_factory=list)
    breakevens: list[BreakevenChange] = field(default_factory=list)

    @property
    def flipped(self) -> bool:
        """The decision changed: to or from evaluating fixed-cost hosting.

        "Stay on pay-per-token" and its variant "(no fixed-cost row breaks
        even)" are the same decision: a change between them is no flip.
        """
        return m.evaluates_fixed_cost(self.old.recommendation) != (
            m.evaluates_fixed_cost(self.new.recommendation)
        )

    @property
    def changed(self) -> bool:
        return bool(
            self.flipped
            or self.ranks
            or self.costs
            or self.breakevens
            or self.old != self.new
        )


@dataclass
class Diff:
    old: Snapshot
    new: Snapshot
    providers_added: list[str] = field(default_factory=list)
    providers_removed: list[str] = field(default_factory=list)
    provider_changes: list[Change] = field(default_factory=list)
    scenarios_added: list[str] = field(default_factory=list)
    scenarios_removed: list[str] = field(default_factory=list)
    scenario_changes: list[Change] = field(default_factory=list)
    settings_changes: list[Change] = field(default_factory=list)
    effects: list[ScenarioEffect] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.providers_added
            or self.providers_removed
            or self.provider_changes
            or self.scenarios_added
            or self.scenarios_removed
            or self.scenario_changes
            or self.settings_changes
            or any(e.changed for e in self.effects)
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``; floats that are not finite become text."""

        def side(snap: Snapshot) -> dict[str, Any]:
            checked = sorted({p.checked for p in snap.book.providers if p.checked})
            return {
                "path": snap.path,
                "kind": snap.kind,
                "name": snap.name,
                "price_date": snap.price_date,
                "files": snap.files,
                # The range of the rows' checked dates; null when none is dated.
                "rows_checked": (
                    {"first": checked[0].isoformat(), "last": checked[-1].isoformat()}
                    if checked
                    else None
                ),
            }

        new_rows = {p.id: p for p in self.new.book.providers}

        def provider_change(change: Change) -> dict[str, Any]:
            checked = new_rows[change.id].checked
            return {**asdict(change), "checked": _iso(checked)}

        effects = []
        for effect in self.effects:
            data = asdict(effect)
            data["flipped"] = effect.flipped
            effects.append(data)
        out = {
            "old": side(self.old),
            "new": side(self.new),
            "changed": self.changed,
            "providers_added": self.providers_added,
            "providers_removed": self.providers_removed,
            "provider_changes": [provider_change(c) for c in self.provider_changes],
            "scenarios_added": self.scenarios_added,
            "scenarios_removed": self.scenarios_removed,
            "scenario_changes": [_plain_change(c) for c in self.scenario_changes],
            "settings_changes": [_plain_change(c) for c in self.settings_changes],
            "scenarios": effects,
        }
        return _jsonable(out)


def _plain_change(change: Change) -> dict[str, Any]:
    """A scenario or settings change as JSON: no override fields."""
    provider_only = ("old_override", "old_pricebook", "new_override", "new_pricebook")
    return {k: v for k, v in asdict(change).items() if k not in provider_only}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ---------------------------------------------------------------------------
# Computing it


def diff_books(old: Snapshot, new: Snapshot) -> Diff:
    """Compare two snapshots (see the module docstring)."""
    a, b = old.book, new.book
    out = Diff(old, new)
    old_ids = {p.id: p for p in a.providers}
    new_ids = {p.id: p for p in b.providers}
    out.providers_removed = [pid for pid in old_ids if pid not in new_ids]
    out.providers_added = [pid for pid in new_ids if pid not in old_ids]
    for pid, p in old_ids.items():
        if pid in new_ids:
            out.provider_changes += _changes(pid, p, new_ids[pid], PROVIDER_FIELDS)
    for change in out.provider_changes:
        key = (change.id, change.field)
        if key in old.overrides:
            change.old_override, change.old_pricebook = True, old.overrides[key]
        if key in new.overrides:
            change.new_override, change.new_pricebook = True, new.overrides[key]
    old_scen = {s.id: s for s in a.scenarios}
    new_scen = {s.id: s for s in b.scenarios}
    out.scenarios_removed = [sid for sid in old_scen if sid not in new_scen]
    out.scenarios_added = [sid for sid in new_scen if sid not in old_scen]
    for sid, s in old_scen.items():
        if sid in new_scen:
            out.scenario_changes += _changes(sid, s, new_scen[sid], SCENARIO_FIELDS)
    out.settings_changes = _changes("book", a, b, SETTINGS)
    for sid, s in new_scen.items():
        if sid in old_scen:
            out.effects.append(_effect(a, old_scen[sid], b, s))
    return out


def _changes(what: str, old: Any, new: Any, fields: Sequence[str]) -> list[Change]:
    out = []
    for name in fields:
        x, y = getattr(old, name), getattr(new, name)
        if _same(x, y):
            continue
        out.append(Change(what, name, x, y, percent(x, y)))
    return out


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return m.is_close(float(x), float(y), REL)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(u, v) for u, v in zip(x, y, strict=True))
    return bool(x == y)


def percent(old: Any, new: Any) -> float | None:
    """Change from ``old`` to ``new`` in percent; None when not a number or 0."""
    numbers = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        return None
    if not isinstance(old, numbers) or not isinstance(new, numbers) or old == 0:
        return None
    return (new - old) / abs(old) * 100


def headline(book: Book, s: Scenario) -> Headline:
    """Cheapest eligible row, lowest eligible break-even and recommendation.

    The same rules as the workbook's Summary and Breakeven sheets: the lowest
    break-even of an eligible fixed row against the cheapest eligible per-token
    row (0 when the fixed row is always cheaper); pay per token below it.
    """
    costs = [m.monthly_cost(p, s, s.base_tokens) for p in book.providers]
    ok = [m.eligibility(p, s)[0] for p in book.providers]
    rank = m.ranks(costs, ok)
    top = rank.index(1) if 1 in rank else None
    lowest = m.lowest_breakeven(book.providers, s)
    rec = m.recommendation(book.providers, s)
    return Headline(
        book.providers[top].id if top is not None else None,
        costs[top] if top is not None else None,
        lowest,
        rec,
    )


def _standing(
    book: Book, s: Scenario
) -> dict[str, tuple[int | None, str, float, float]]:
    """provider id -> (rank, status, cost at base volume, forecast total)."""
    costs = [m.monthly_cost(p, s, s.base_tokens) for p in book.providers]
    elig = [m.eligibility(p, s) for p in book.providers]
    rank = m.ranks(costs, [e for e, _ in elig])
    months = book.forecast_months
    out = {}
    for i, p in enumerate(book.providers):
        total = sum(m.forecast_costs(p, s, months))
        out[p.id] = (rank[i], elig[i][1], costs[i], total)
    return out


def _pairs(book: Book, s: Scenario) -> dict[tuple[str, str], m.Breakeven]:
    fixed = [p for p in book.providers if p.is_fixed]
    tokens = [p for p in book.providers if not p.is_fixed]
    return {(f.id, t.id): m.breakeven(f, t, s) for f in fixed for t in tokens}


def _effect(a: Book, sa: Scenario, b: Book, sb: Scenario) -> ScenarioEffect:
    effect = ScenarioEffect(
        sb.id,
        sb.label,
        headline(a, sa),
        headline(b, sb),
        a.forecast_months,
        b.forecast_months,
    )
    old, new = _standing(a, sa), _standing(b, sb)
    for pid, (rank_a, status_a, cost_a, total_a) in old.items():
        if pid in new:
            continue
        if rank_a is not None:
            effect.ranks.append(RankMove(pid, rank_a, None, status_a, "removed"))
        effect.costs.append(
            CostChange(pid, cost_a, None, None, None, total_a, None, None, None)
        )
    for pid, (rank_b, status_b, cost_b, total_b) in new.items():
        if pid not in old:
            if rank_b is not None:
                effect.ranks.append(RankMove(pid, None, rank_b, "added", status_b))
            effect.costs.append(
                CostChange(pid, None, cost_b, None, None, None, total_b, None, None)
            )
            continue
        rank_a, status_a, cost_a, total_a = old[pid]
        if rank_a != rank_b:
            effect.ranks.append(RankMove(pid, rank_a, rank_b, status_a, status_b))
        if not (_same(cost_a, cost_b) and _same(total_a, total_b)):
            effect.costs.append(
                CostChange(
                    pid,
                    cost_a,
                    cost_b,
                    cost_b - cost_a,
                    percent(cost_a, cost_b),
                    total_a,
                    total_b,
                    total_b - total_a,
                    percent(total_a, total_b),
                )
            )
    pairs_a, pairs_b = _pairs(a, sa), _pairs(b, sb)
    headlines = set(a.breakeven_pairs) | set(b.breakeven_pairs)
    for pair in [*pairs_a, *(p for p in pairs_b if p not in pairs_a)]:
        change = _breakeven_change(pair, pairs_a.get(pair), pairs_b.get(pair))
        if change is not None:
            change.headline = pair in headlines
            effect.breakevens.append(change)
    effect.breakevens.sort(key=lambda c: not c.headline)
    return effect


def _breakeven_change(
    pair: tuple[str, str], x: m.Breakeven | None, y: m.Breakeven | None
) -> BreakevenChange | None:
    crosses_x = x is not None and x.status == m.CROSSES
    crosses_y = y is not None and y.status == m.CROSSES
    if crosses_x and crosses_y:
        assert x is not None and y is not None  # for mypy
        if _same(x.volume, y.volume):
            return None
        kind = MOVED
    elif crosses_x:
        kind = VANISHED
    elif crosses_y:
        kind = APPEARED
    elif x is not None and y is not None and x.status != y.status:
        kind = STATUS_CHANGED
    else:
        return None
    vx = x.volume if x is not None else None
    vy = y.volume if y is not None else None
    return BreakevenChange(
        pair[0],
        pair[1],
        kind,
        x.status if x is not None else "absent",
        vx,
        y.status if y is not None else "absent",
        vy,
        percent(vx, vy) if kind == MOVED else None,
        False,
    )


# ---------------------------------------------------------------------------
# Showing it

Table = tuple[str, list[str], list[list[str]], set[int]]


def money(value: float | None) -> str:
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}${value:,.4f}" if value < 100 else f"{sign}${value:,.2f}"


def signed_money(value: float | None) -> str:
    if value is None:
        return "-"
    return ("+" if value >= 0 else "") + money(value)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def tokens(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def plain(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.10g}"
    return str(value)


def field_value(name: str, value: Any) -> str:
    if name in ("input_rate", "output_rate", "fixed_monthly", "egress_monthly"):
        return money(value) if isinstance(value, (int, float)) else plain(value)
    return plain(value)


def _side_value(name: str, value: Any, override: bool, pricebook: Any) -> str:
    """A provider value; an override says so and names the pricebook's value."""
    shown = field_value(name, value)
    if override:
        shown += f" (override; pricebook {field_value(name, pricebook)})"
    return shown


def _checked(value: Any) -> str:
    return value.isoformat() if value else "-"


def _volume(status: str, volume: float | None, absent: str) -> str:
    if status == "absent":
        return absent
    return tokens(volume) if status == m.CROSSES else status


def _cost_change(change: CostChange) -> str:
    if change.old is None:
        return "added"
    if change.new is None:
        return "removed"
    return pct(change.percent)


def _rank(value: int | None) -> str:
    return "-" if value is None else str(value)


def sections(diff: Diff) -> list[Table]:
    """The diff as titled tables: (title, headings, rows, right-aligned columns)."""
    out: list[Table] = []
    old_ids = {p.id: p for p in diff.old.book.providers}
    new_ids = {p.id: p for p in diff.new.book.providers}
    rows = [["removed", pid, old_ids[pid].label] for pid in diff.providers_removed]
    rows += [["added", pid, new_ids[pid].label] for pid in diff.providers_added]
    if rows:
        out.append(("Providers added and removed", ["", "id", "provider"], rows, set()))
    if diff.provider_changes:
        out.append(
            (
                "Price and tier changes",
                ["id", "field", "old", "new", "change", "checked (new)"],
                [
                    [
                        c.id,
                        c.field,
                        _side_value(c.field, c.old, c.old_override, c.old_pricebook),
                        _side_value(c.field, c.new, c.new_override, c.new_pricebook),
                        pct(c.percent),
                        _checked(new_ids[c.id].checked),
                    ]
                    for c in diff.provider_changes
                ],
                {2, 3, 4},
            )
        )
    rows = [["removed", sid, "", "", ""] for sid in diff.scenarios_removed]
    rows += [["added", sid, "", "", ""] for sid in diff.scenarios_added]
    rows += [
        ["changed", c.id, c.field, plain(c.old), plain(c.new)]
        for c in diff.scenario_changes
    ]
    rows += [
        ["changed", "settings", c.field, plain(c.old), plain(c.new)]
        for c in diff.settings_changes
    ]
    if rows:
        out.append(
            (
                "Scenario assumptions and settings",
                ["", "scenario", "field", "old", "new"],
                rows,
                set(),
            )
        )
    for e in diff.effects:
        title = f"Scenario {e.label} ({e.scenario})"
        if e.flipped:
            flip = "FLIPPED"
        elif e.old.recommendation != e.new.recommendation:
            flip = "same decision"
        else:
            flip = "unchanged"
        rows = [
            ["cheapest eligible", e.old.cheapest or "none", e.new.cheapest or "none"],
            [
                "its cost ($ / month)",
                money(e.old.cheapest_cost),
                money(e.new.cheapest_cost),
            ],
            [
                "lowest eligible break-even (tokens / month)",
                tokens(e.old.lowest_breakeven),
                tokens(e.new.lowest_breakeven),
            ],
            [f"recommendation ({flip})", e.old.recommendation, e.new.recommendation],
        ]
        out.append((f"{title}: headline", ["figure", "old", "new"], rows, set()))
        if e.ranks:
            out.append(
                (
                    f"{title}: rank moves",
                    ["id", "old rank", "new rank", "new status"],
                    [
                        [r.provider, _rank(r.old), _rank(r.new), r.new_status]
                        for r in e.ranks
                    ],
                    {1, 2},
                )
            )
        if e.costs:
            months = (
                f"{e.months_new}"
                if e.months_old == e.months_new
                else f"{e.months_old} -> {e.months_new}"
            )
            out.append(
                (
                    f"{title}: monthly cost at base volume and {months}-month total",
                    [
                        "id",
                        "old $ / month",
                        "new $ / month",
                        "delta",
                        "change",
                        "old total",
                        "new total",
                        "total delta",
                    ],
                    [
                        [
                            c.provider,
                            money(c.old),
                            money(c.new),
                            signed_money(c.delta),
                            _cost_change(c),
                            money(c.old_total),
                            money(c.new_total),
                            signed_money(c.total_delta),
                        ]
                        for c in e.costs
                    ],
                    set(range(1, 8)),
                )
            )
        if e.breakevens:
            out.append(
                (
                    f"{title}: break-evens (tokens / month)",
                    ["fixed row", "per-token row", "", "old", "new", "change"],
                    [
                        [
                            b.fixed + (" *" if b.headline else ""),
                            b.token,
                            b.kind,
                            _volume(b.old_status, b.old_volume, "(new row)"),
                            _volume(b.new_status, b.new_volume, "(row removed)"),
                            pct(b.percent),
                        ]
                        for b in e.breakevens
                    ],
                    {3, 4, 5},
                )
            )
    return out


def render_diff(diff: Diff, limit: int = 40) -> str:
    """The diff as terminal text; each table shows at most ``limit`` rows."""
    lines = [
        f"old: {diff.old.title()}",
        f"     {snapshot_line(diff.old.book)}",
        f"new: {diff.new.title()}",
        f"     {snapshot_line(diff.new.book)}",
    ]
    if not diff.changed:
        lines.append("\nNo changes: same providers, prices, assumptions and results.")
        return "\n".join(lines)
    for title, headings, rows, right in sections(diff):
        shown = rows[:limit]
        lines.append(f"\n{title}")
        lines.append(text_table(headings, shown, right))
        if len(rows) > limit:
            lines.append(f"... and {len(rows) - limit:,} more (--json lists them all)")
    if any(b.headline for e in diff.effects for b in e.breakevens):
        lines.append("\n* a headline pair (breakeven_pairs)")
    return "\n".join(lines)


def changes_sheet(diff: Diff, title: str = "Changes", limit: int = 2000) -> SheetPlan:
    """The diff as a sheet of labels (not formulas: it documents the rebuild)."""
    sh = SheetPlan(title)
    sh.label(0, 0, "Changes since the previous snapshot", "title")
    from .layout import shown_path  # files without local folders, as elsewhere

    old, new = diff.old, diff.new
    for row, what, side in ((1, "Previous", old), (2, "This workbook", new)):
        text = f"{side.title(shown_path)}; {snapshot_line(side.book, shown_path)}"
        sh.label(row, 0, f"{what}: {text}", "note")
    sh.label(
        3,
        0,
        "Text, not formulas: what changed when this workbook was built. "
        "Edits to the inputs do not update this sheet.",
        "note",
    )
    row = 5
    if not diff.changed:
        sh.label(row, 0, "No changes: same providers, prices, assumptions and results.")
    width = 1
    for heading, headings, rows, _ in sections(diff):
        sh.label(row, 0, heading, "subtitle")
        row += 1
        for col, text in enumerate(headings):
            sh.label(row, col, text, "header")
        row += 1
        for cells in rows[:limit]:
            for col, text in enumerate(cells):
                sh.label(row, col, text, "text")
            row += 1
        if len(rows) > limit:
            sh.label(row, 0, f"... and {len(rows) - limit:,} more", "note")
            row += 1
        width = max(width, len(headings))
        row += 1
    sh.widths = {0: 34, **{c: 20 for c in range(1, width)}}
    return sh
