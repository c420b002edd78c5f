"""few_collections: a higher collection threshold inside, the old one after."""

from __future__ import annotations

import gc

import pytest

from generator.gctune import YOUNG_THRESHOLD, few_collections


def test_threshold_is_raised_inside_and_restored_after():
    before = gc.get_threshold()
    with few_collections():
        inside = gc.get_threshold()
        with few_collections():  # nested: unchanged, and restored to the outer
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside
    assert inside[0] == max(YOUNG_THRESHOLD, before[0])
    assert inside[1:] == before[1:]
    assert gc.get_threshold() == before


def test_threshold_is_restored_when_the_work_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), few_collections():
        raise RuntimeError("build failed")
    assert gc.get_threshold() == before
