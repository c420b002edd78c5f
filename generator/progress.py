"""Progress on stderr for long work: a bar when stderr is a terminal.

The library reports progress through :func:`bar`; nothing is shown unless
the command line turned it on (:func:`enable`: stderr is a terminal and
``-q`` was not given) and the work is big enough to take a while (the
caller says so with ``show``). The bar is click's, which draws nothing when
its stream is not a terminal, so redirected stderr and logs stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

#: Books with at least this many providers show their layout as a bar.
LAYOUT_MIN_PROVIDERS = 100
#: Plans with at least this many cells show their writing as a bar.
WRITE_MIN_CELLS = 20_000
#: Workbooks of at least this many bytes show verify's steps as a bar.
VERIFY_MIN_BYTES = 1_000_000

_enabled = False
_active = False  # a bar is drawn now: bars inside it stay hidden


def enable(on: bool) -> None:
    """Turn progress bars on or off for this process (the CLI decides)."""
    global _enabled
    _enabled = on


def wanted() -> bool:
    """True when stderr is a terminal and the CLI asked for progress."""
    return _enabled and sys.stderr.isatty()


class Bar:
    """Counts work done; draws a bar only when it was asked to show."""

    def __init__(self, bar: Any | None, total: int = 0) -> None:
        self._bar = bar
        self._left = total

    def advance(self, steps: int = 1, item: str | None = None) -> None:
        """``steps`` more done; ``item`` names what is being done now."""
        if self._bar is None:
            return
        steps = max(0, min(steps, self._left))
        self._left -= steps
        if steps:
            self._bar.update(steps, item)
        elif item is not None:  # click draws only on a step: draw the new name
            self._bar.current_item = item
            self._bar.render_progress()

    def finish(self, item: str = "done") -> None:
        """All steps done (work that skipped some still ends at 100%)."""
        self.advance(self._left, item)


@contextmanager
def bar(label: str, total: int, show: bool = True, eta: bool = True) -> Iterator[Bar]:
    """A progress bar of ``total`` steps, drawn when ``show`` and :func:`wanted`.

    ``eta``: show the time left (for steps of like size, not uneven phases).

    The bar ends (and its line is finished) when the block exits, also on an
    error. A bar opened while another is drawn stays hidden: the outer one
    speaks for the whole work.
    """
    global _active
    if _active or not (show and wanted() and total > 0):
        yield Bar(None)
        return
    _active = True
    try:
        with click.progressbar(
            length=total,
            label=label,
            file=sys.stderr,
            show_eta=eta,
            show_percent=True,
            item_show_func=lambda item: item,
            width=30,
        ) as drawn:
            yield Bar(drawn, total)
    finally:
        _active = False
