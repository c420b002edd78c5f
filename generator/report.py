"""Terminal tables of the model's results (``infercost show``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from . import model as m
from .pricebook import Book


def text_table(headings: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [len(h) for h in headings]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headings), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    return "\n".join(out)


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` with its noun: "1 provider", "3 providers", "1 entry", "2 entries"."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def money(value: float) -> str:
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def render_show(book: Book) -> str:
    """Rankings per scenario, multipliers and break-evens as plain text."""
    date = book.price_date.isoformat() if book.price_date else "undated"
    parts = [f"{book.name} (prices of {date}; {len(book.providers)} providers)"]
    parts.append(snapshot_line(book))
    base = book.baseline
    for s in book.scenarios:
        costs = [m.monthly_cost(p, s, s.base_tokens) for p in book.providers]
        elig = [m.eligibility(p, s) for p in book.providers]
        ok = [e for e, _ in elig]
        rank = m.ranks(costs, ok)
        rows = []
        for i in m.order(costs, ok):
            p = book.providers[i]
            rows.append(
                [
                    str(rank[i]) if rank[i] else "-",
                    p.id,
                    p.label,
                    p.pricing,
                    money(costs[i]),
                    elig[i][1],
                ]
            )
        parts.append(
            f"\n{s.label} ({s.id}): {s.base_tokens:,.0f} tokens / month, input share "
            f"{s.input_share:g}, overhead {m.overhead(s):.6f}\n"
            + text_table(
                ["rank", "id", "provider", "pricing", "$ / month", "status"],
                rows,
                {0, 4},
            )
        )
    if len(book.scenarios) > 1:
        rows = []
        for p in book.providers:
            row = [p.id]
            for s in book.scenarios[1:]:
                mult = m.multiplier(p, s, base)
                row.append("n/a" if mult is None else f"{mult:.2f}x")
            rows.append(row)
        parts.append(
            f"\nMultipliers (cost / cost in {base.id})\n"
            + text_table(
                ["id"] + [s.id for s in book.scenarios[1:]],
                rows,
                set(range(1, len(book.scenarios))),
            )
        )
    fixed = [p for p in book.providers if p.is_fixed]
    tokens = [p for p in book.providers if not p.is_fixed]
    # Every pair grows as fixed rows x per-token rows: past the workbook's
    # limit, the first PAIRS_SHOWN and a count of the rest.
    more = 0
    if book.breakeven_pairs:
        pairs = [(book.provider(f), book.provider(t)) for f, t in book.breakeven_pairs]
    else:
        more = max(0, len(fixed) * len(tokens) - PAIRS_SHOWN)
        pairs = list(itertools.islice(itertools.product(fixed, tokens), PAIRS_SHOWN))
    if pairs:
        rows = []
        for f, t in pairs:
            row = [f.id, t.id]
            for s in book.scenarios:
                be = m.breakeven(f, t, s)
                row.append(f"{be.volume:,.0f}" if be.volume is not None else be.status)
            rows.append(row)
        parts.append(
            "\nBreak-even volumes (base tokens / month, under each scenario's "
            "profile)\n"
            + text_table(
                ["fixed row", "per-token row"] + [s.id for s in book.scenarios],
                rows,
                set(range(2, 2 + len(book.scenarios))),
            )
        )
        if more:
            parts.append(
                f"... and {more:,} more pairs (the workbook's Breakeven sheet has "
                "each fixed-cost row against the cheapest per-token row)"
            )
    else:
        parts.append("\nNo fixed-cost rows: no break-even to show.")
    parts.append("\nRecommendation (at each scenario's volume)")
    for s in book.scenarios:
        lowest = m.lowest_breakeven(book.providers, s)
        at = "" if lowest is None else f"lowest break-even {lowest:,.0f} tokens; "
        parts.append(f"{s.id}: {at}{m.recommendation(book.providers, s)}")
    return "\n".join(parts)


#: Break-even pairs ``show`` lists when the pricebook names none.
PAIRS_SHOWN = 200


def snapshot_line(book: Book, shown: Callable[[str], str] = str) -> str:
    """Where a snapshot came from and when its rows were checked.

    ``shown`` turns each file name into the text shown (the workbook names
    files without local folders).
    """
    checked = sorted({p.checked for p in book.providers if p.checked})
    if not checked:
        when = "rows not dated"
    elif checked[0] == checked[-1]:
        when = f"rows checked {checked[0].isoformat()}"
    else:
        when = f"rows checked {checked[0].isoformat()} to {checked[-1].isoformat()}"
    source = f"; source {book.source}" if book.source else ""
    return f"from {', '.join(shown(f) for f in book.files)}; {when}{source}"
