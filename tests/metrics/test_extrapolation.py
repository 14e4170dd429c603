"""metrics/functional/extrapolation.py and fvd_inf's fit: a synthetic 1/N law with a known intercept, and FVD of
Gaussian samples extrapolated towards the true distance."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.functional.extrapolation import fit_inverse_n, subset_sizes, values_at_sizes
from metrics.functional.frechet import FrechetToReference, frechet_distance


def test_an_exact_inverse_n_law_gives_its_intercept_and_slope():
    sizes = [100, 150, 200, 300, 400]
    fit = fit_inverse_n(sizes, [7.0 + 300.0 / n for n in sizes])
    # a 2-parameter least-squares solve of exact data: float64 round-off only
    assert fit.intercept == pytest.approx(7.0, abs=1e-10)
    assert fit.slope == pytest.approx(300.0, rel=1e-10)
    assert fit.residual_rms < 1e-10


def test_noisy_law_intercept_stderr_matches_a_direct_regression():
    """The intercept's standard error equals the textbook OLS formula s^2 (X^T X)^-1 computed by hand."""
    rng = np.random.default_rng(0)
    sizes = np.array([50, 70, 100, 140, 200])
    values = 3.0 + 80.0 / sizes + rng.normal(0, 0.05, size=5)
    fit = fit_inverse_n(sizes, values)
    xs = 1.0 / sizes
    slope = np.sum((xs - xs.mean()) * (values - values.mean())) / np.sum((xs - xs.mean()) ** 2)
    intercept = values.mean() - slope * xs.mean()
    s2 = np.sum((values - intercept - slope * xs) ** 2) / 3
    stderr = np.sqrt(s2 * (1 / 5 + xs.mean() ** 2 / np.sum((xs - xs.mean()) ** 2)))
    assert (fit.intercept, fit.slope, fit.intercept_stderr) == pytest.approx((intercept, slope, stderr), rel=1e-9)
    assert abs(fit.intercept - 3.0) < 4 * fit.intercept_stderr  # the true intercept within 4 standard errors


def test_two_sizes_have_no_stderr_and_one_size_is_refused():
    assert np.isnan(fit_inverse_n([10, 20], [2.0, 1.0]).intercept_stderr)
    with pytest.raises(ValueError, match="two distinct"):
        fit_inverse_n([10, 10], [1.0, 1.0])


def test_subset_sizes_are_even_in_inverse_n_and_end_at_n():
    sizes = subset_sizes(1000, points=5, min_fraction=0.5)
    assert sizes[0] == 500 and sizes[-1] == 1000 and len(sizes) == 5
    steps = np.diff(1.0 / np.array(sizes))
    # Rounding a size to a whole clip moves 1/N by up to 0.5/N^2: at N=500..1000 and a step of 2.5e-4 in 1/N, up to
    # 2 x 0.5/500^2 / 2.5e-4 = 1.6% of a step.
    assert np.allclose(steps, steps[0], rtol=0.02)


def test_extrapolated_fvd_of_gaussians_removes_the_small_sample_bias():
    """Reference = the exact law N(0, I) in 8-d and samples from the same law: the true distance is 0, FVD at N=400
    is biased up (~d/N from the mean, more from the covariance: ~0.06 here). The 1/N fit must land within 0.02 of 0
    on average over 5 seeds (its spread is ~0.014 per seed, ~0.006 for the mean) and below a third of FVD_400."""
    d, n = 8, 400
    to_ref = FrechetToReference(np.zeros(d), np.eye(d))
    at_n, extrapolated = [], []
    for seed in range(5):
        x = np.random.default_rng(seed).normal(0.0, 1.0, size=(n, d))
        sizes = subset_sizes(n, points=5, min_fraction=0.25)
        fit = fit_inverse_n(sizes, values_at_sizes(x, to_ref.of_features, sizes, repeats=8, seed=seed))
        at_n.append(to_ref.of_features(x))
        extrapolated.append(fit.intercept)
    assert abs(np.mean(extrapolated)) < 0.02
    assert abs(np.mean(extrapolated)) < np.mean(at_n) / 3
    assert to_ref(np.full(d, 0.3), np.eye(d)) == pytest.approx(frechet_distance(np.full(d, 0.3), np.eye(d),
                                                                               np.zeros(d), np.eye(d)))
