"""Shared fixtures: the default workbook, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.build import build_workbook
from generator.layout import build_plan
from generator.pricebook import load_book

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOOK = ROOT / "pricebooks" / "2026-02-21.yaml"


@pytest.fixture(scope="session")
def default_book():
    """The February 2026 pricebook, loaded."""
    return load_book([DEFAULT_BOOK])


@pytest.fixture(scope="session")
def default_plan(default_book):
    return build_plan(default_book)


@pytest.fixture(scope="session")
def built_workbook(tmp_path_factory) -> Path:
    """The default workbook as `infercost build` writes it (do not modify)."""
    path = tmp_path_factory.mktemp("built") / "2026-02-21.xlsx"
    build_workbook([DEFAULT_BOOK], path)
    return path


@pytest.fixture
def workbook_copy(built_workbook, tmp_path) -> Path:
    """A private copy of the default workbook that a test may edit."""
    path = tmp_path / "copy.xlsx"
    shutil.copyfile(built_workbook, path)
    return path
