"""metrics/functional/mmd.py: JEDi's polynomial-kernel MMD against hand double loops and JEDi's own worked example."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.functional.mmd import bootstrap_jedi_ci95, jedi_distance, mmd2_poly

# Sums of a few hundred float64 products: agreement to 1e-12 relative (round-off is ~1e-15 per term).
RTOL = 1e-12


def hand_mmd2(x, y, *, degree, gamma, coef0, unbiased):
    """Every pair, one at a time, straight from the definitions (V-statistic: all pairs; U: i != j within a set)."""
    def k(a, b):
        return (gamma * float(np.dot(a, b)) + coef0) ** degree

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if not (unbiased and i == j))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if not (unbiased and i == j))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m))
    return xx / (n * (n - 1) if unbiased else n * n) + yy / (m * (m - 1) if unbiased else m * m) - 2 * xy / (n * m)


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize(("degree", "coef0"), [(2, 0.0), (3, 1.0)])
def test_mmd2_equals_the_hand_double_loop(unbiased, degree, coef0):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 5)), rng.normal(0.3, 1.2, size=(7, 5))
    expected = hand_mmd2(x, y, degree=degree, gamma=1 / 5, coef0=coef0, unbiased=unbiased)
    assert mmd2_poly(x, y, unbiased=unbiased, degree=degree, coef0=coef0) == pytest.approx(expected, rel=RTOL)


def test_jedi_is_100_times_the_biased_degree2_mmd_and_matches_the_repos_worked_example():
    """videojedi/mmd_polynomial.py (oooolga/JEDi c03d1785) comments ``mmd_poly(a, b, degree=2, coef0=0)  # 270.7``
    for its 3-d example sets (sklearn's gamma = 1/d): JEDi's kernel. (Its other comment, 2436.5 beside degree=3,
    coef0=1, is the degree-2 value with gamma=1, left from the code it adapted: checked here so the reading is
    recorded.) JEDi.compute_metric is 100 x the degree-2, coef0-0 value."""
    a = np.arange(1, 10, dtype=float).reshape(3, 3)
    b = np.array([[7, 6, 5], [4, 3, 2], [1, 1, 8], [0, 2, 5]], dtype=float)
    assert mmd2_poly(a, b, degree=2, coef0=0) == pytest.approx(270.7, abs=0.05)  # printed to one decimal
    assert mmd2_poly(a, b, degree=2, coef0=0, gamma=1.0) == pytest.approx(2436.5, abs=0.05)
    assert jedi_distance(a, b) == pytest.approx(100 * mmd2_poly(a, b), rel=RTOL)
    assert jedi_distance(a, b) == pytest.approx(jedi_distance(b, a), rel=RTOL)  # symmetric


def test_unbiased_estimate_centres_on_zero_for_equal_distributions_where_jedis_is_positive():
    """Same law for both sets: the U-statistic averages to ~0 (its expectation), the V-statistic is positive (bias
    ~1/n). 200 draws: the U mean's standard error is ~1/14 of one draw's spread, so 4 standard errors bound it."""
    rng = np.random.default_rng(1)
    u, v = [], []
    for _ in range(200):
        x, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 4))
        u.append(mmd2_poly(x, y, unbiased=True))
        v.append(mmd2_poly(x, y))
    assert abs(np.mean(u)) < 4 * np.std(u) / np.sqrt(len(u))
    assert min(v) > 0


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(2)
    x, y = rng.normal(0.5, 1, size=(30, 6)), rng.normal(size=(40, 6))
    lo, hi = bootstrap_jedi_ci95(x, y, n_boot=100, seed=3)
    assert lo <= jedi_distance(x, y) <= hi
    assert bootstrap_jedi_ci95(x, y, n_boot=100, seed=3) == (lo, hi)
    assert bootstrap_jedi_ci95(x, y, n_boot=0) is None


@pytest.mark.parametrize(("x", "y", "match"), [
    (np.zeros((3, 4)), np.zeros((3, 5)), "must be"), (np.zeros((1, 4)), np.zeros((3, 4)), "at least 2"),
    (np.full((3, 4), np.nan), np.zeros((3, 4)), "non-finite")])
def test_bad_feature_sets_are_value_errors(x, y, match):
    with pytest.raises(ValueError, match=match):
        jedi_distance(x, y)
