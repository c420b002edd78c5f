"""Test helper: decide what a test does when a spreadsheet engine is missing.

Rule: on CI (``CI=true`` in the environment) a missing engine fails the test,
so a broken CI image cannot pass by skipping every engine test; elsewhere
the test is skipped with the reason.
"""

from __future__ import annotations

import os

import pytest

from generator.engine import available_engines


def on_ci() -> bool:
    """True when running on CI, where every engine must be installed."""
    return os.environ.get("CI") == "true"


def require_engine(engine: str) -> None:
    """Skip the calling test if ``engine`` is not installed; fail on CI."""
    if engine in available_engines():
        return
    message = f"spreadsheet engine {engine!r} is not installed"
    if on_ci():
        pytest.fail(f"{message} (CI=true: engines are required)")
    pytest.skip(message)
