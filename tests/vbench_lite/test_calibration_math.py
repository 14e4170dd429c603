"""Calibration maths against hand computations (vbench_lite/calibration_math.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vbench_lite.calibration_math import (
    average_ranks,
    detected_at,
    direction,
    monotonicity,
    ranking_stability,
    smallest_stable_size,
    spearman,
    summarize_pair,
)


def test_average_ranks_share_ties():
    assert average_ranks([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_by_hand_and_against_scipy():
    # no ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1)); ranks of y = 1, 3, 2, 4 -> d = 0, 1, 1, 0 -> 1 - 12/60 = 0.8
    assert spearman([0, 1, 2, 3], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8, abs=1e-12)
    assert spearman([0, 1, 2], [3.0, 2.0, 1.0]) == pytest.approx(-1.0, abs=1e-12)
    assert math.isnan(spearman([0, 1, 2], [1.0, 1.0, 1.0]))
    assert math.isnan(spearman([0, 1], [1.0, 2.0]))  # fewer than 3 pairs
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 4, size=7).astype(float)
        y = rng.integers(0, 3, size=7).astype(float)
        want = scipy_stats.spearmanr(x, y).statistic
        got = spearman(x, y)
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-12)


def test_direction_and_monotonicity():
    # higher is better: 0.9 -> 0.8 -> 0.85 -> 0.7: worse, better, worse -> 2/3 of the steps get worse
    values = [0.9, 0.8, 0.85, 0.7]
    assert direction(values, True) == "worse" and monotonicity(values, True) == pytest.approx(2 / 3)
    assert direction(values, False) == "better" and monotonicity(values, False) == pytest.approx(1 / 3)
    assert direction([1.0, 1.0], True) == "flat" and monotonicity([1.0, 1.0], True) == 0.0


def test_detected_at_is_the_first_strength_beyond_the_clean_interval_on_the_worse_side():
    s = [0, 0.25, 0.5, 1.0]
    assert detected_at(s, [0.90, 0.89, 0.86, 0.5], (0.88, 0.92), True) == 0.5  # 0.89 is inside [0.88, 0.92]
    assert math.isnan(detected_at(s, [0.90, 0.95, 0.99, 1.0], (0.88, 0.92), True))  # better is not "detected"
    assert detected_at(s, [10, 11, 13, 20], (9, 12), False) == 0.5
    assert math.isnan(detected_at(s, [1, 2, 3, 4], None, True))


def test_summarize_pair_sorts_by_strength_and_needs_clean():
    out = summarize_pair([1.0, 0.0, 0.5], [0.5, 0.9, 0.7], (0.85, 0.95), True)
    assert out == {"direction": "worse", "spearman": pytest.approx(-1.0), "monotonicity": 1.0, "detected_at": 0.5}
    with pytest.raises(ValueError, match="strength 0"):
        summarize_pair([0.5, 1.0], [1.0, 2.0], None, True)


def test_ranking_stability_with_the_mean_as_distance():
    """Two sets whose means differ by far more than their spread: every subset orders them right."""
    a = np.linspace(0.0, 1.0, 32)
    b = a + 10.0
    rows = ranking_stability(a, b, lambda x: float(np.mean(x)), [4, 8, 32], n_boot=50, seed=1)
    assert [r["agreement"] for r in rows] == [1.0, 1.0, 1.0]
    assert rows[0]["full_diff"] == pytest.approx(-10.0)
    assert smallest_stable_size(rows) == 4.0
    # overlapping sets: small subsets disagree sometimes, the smallest stable size is larger
    rng = np.random.default_rng(3)
    c, d = rng.normal(0, 1, 64), rng.normal(0.5, 1, 64)
    rows = ranking_stability(c, d, lambda x: float(np.mean(x)), [2, 8, 64], n_boot=200, seed=2)
    assert rows[0]["agreement"] < rows[-1]["agreement"]
    assert smallest_stable_size([{"size": 2, "agreement": 0.6}, {"size": 8, "agreement": 0.97},
                                 {"size": 64, "agreement": 0.99}]) == 8.0
