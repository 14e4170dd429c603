"""Typed metric settings: CLI strings become typed values in one place, with one error style."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from metrics.clip_similarity import ClipSettings, ClipSimilarity
from metrics.fvd import FrechetVideoDistance, FvdSettings
from metrics.temporal import TemporalConsistency
from vbench_lite.types import VbenchError, parse_settings


@dataclass(frozen=True)
class Inner:
    depth: int = 1


@dataclass(frozen=True)
class Example:
    count: int = 1
    scale: float = 1.0
    on: bool = False
    label: str = "a"
    limit: float | None = None
    mode: Literal["fast", "slow"] = "fast"
    inner: Inner = field(default_factory=Inner)


def test_strings_become_typed_values():
    got = parse_settings("ex", Example, {"count": "3", "scale": "0.5", "on": "yes", "label": 7, "limit": "",
                                         "mode": "slow", "depth": "4"}, aliases={"depth": "inner.depth"})
    assert got == Example(count=3, scale=0.5, on=True, label="7", limit=None, mode="slow", inner=Inner(4))
    assert parse_settings("ex", Example, {"limit": "2.5", "on": False}) == Example(limit=2.5)
    base = Example(count=9, inner=Inner(2))
    assert parse_settings("ex", Example, {"scale": 2}, base=base) == Example(count=9, scale=2.0, inner=Inner(2))


@pytest.mark.parametrize("values, message", [
    ({"count": "x"}, "ex: count must be an integer, got 'x'"),
    ({"count": 2.5}, "ex: count must be an integer, got 2.5"),
    ({"scale": "big"}, "ex: scale must be a number, got 'big'"),
    ({"on": "maybe"}, "ex: on must be true or false, got 'maybe'"),
    ({"limit": "lots"}, "ex: limit must be a number, got 'lots'"),
    ({"mode": "medium"}, "ex: mode must be one of fast, slow, got 'medium'"),
    ({"cuont": "1"}, "ex: unknown settings ['cuont'] (did you mean 'count'? known: count, label, limit, mode, on, "
                     "scale)"),
])
def test_one_error_style(values, message):
    with pytest.raises(VbenchError) as info:
        parse_settings("ex", Example, values)
    assert str(info.value) == message


def test_every_metric_declares_frozen_settings_and_checks_them_without_a_model():
    assert ClipSimilarity.Settings is ClipSettings and FrechetVideoDistance.Settings is FvdSettings
    for cls in (ClipSimilarity, FrechetVideoDistance, TemporalConsistency):
        with pytest.raises(Exception, match="cannot assign|frozen"):
            cls.parse_settings({}).__setattr__("x", 1)
    FrechetVideoDistance.check_settings({"num_frames": "16", "loop_short": "true"})  # no weights needed
    with pytest.raises(VbenchError, match="^fvd: num_frames must be an integer, got 'x'$"):
        FrechetVideoDistance.check_settings({"num_frames": "x"})
    with pytest.raises(VbenchError, match="^clip: frames must be >= 1, got 0$"):
        ClipSimilarity.check_settings({"frames": "0"})
