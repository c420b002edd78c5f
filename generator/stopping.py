"""Stopping on SIGTERM even where Python cannot raise.

The CLI turns SIGTERM into SystemExit so that ``finally`` blocks clean up.
An exception raised by a signal handler is lost when the handler happens to
run inside a finalizer (``ZipFile.__del__``, say): Python prints "Exception
ignored" and carries on, and a verify waiting for its engine would wait for
the engine's timeout. So the handler also calls :func:`stop`, which cancels
every engine run registered here; the waiting code then sees :data:`STOP`
and exits. Pinned by
tests/test_verify.py::test_sigterm_during_verify_stops_the_engine_and_cleans_up.
"""

from __future__ import annotations

import threading

#: Set once the process was asked to stop.
STOP = threading.Event()
#: The cancel events of the engine runs in progress.
_CANCELS: set[threading.Event] = set()


def register(cancel: threading.Event) -> None:
    """Have :func:`stop` set ``cancel``."""
    _CANCELS.add(cancel)
    if STOP.is_set():
        cancel.set()


def unregister(cancel: threading.Event) -> None:
    _CANCELS.discard(cancel)


def stop() -> None:
    """Mark the process as stopping and cancel every registered run."""
    STOP.set()
    for cancel in list(_CANCELS):
        cancel.set()
