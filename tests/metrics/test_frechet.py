"""metrics/functional/frechet.py: closed forms, the two methods against each other, statistics from sums."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.functional.frechet import (
    FrechetToReference,
    bootstrap_frechet_ci95,
    covariance_from_sums,
    frechet_distance,
    frechet_distance_from_features,
    gaussian_statistics,
    sqrt_psd,
    trace_sqrt_product,
)

METHODS = ("eigh", "sqrtm")


def random_spd(d: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or 2 * d))
    return a @ a.T / a.shape[1]


@pytest.mark.parametrize("method", METHODS)
def test_equal_covariances_give_the_squared_mean_distance(method):
    rng = np.random.default_rng(0)
    sigma = random_spd(32, rng)
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    expected = float(np.sum((mu1 - mu2) ** 2))
    assert frechet_distance(mu1, sigma, mu2, sigma, method=method) == pytest.approx(expected, rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_diagonal_covariances_match_the_closed_form(method):
    # For commuting (here diagonal) covariances tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt(a_i) - sqrt(b_i))^2.
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 5.0, size=50), rng.uniform(0.1, 5.0, size=50)
    mu1, mu2 = rng.normal(size=50), rng.normal(size=50)
    expected = float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    got = frechet_distance(mu1, np.diag(a), mu2, np.diag(b), method=method)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_rotated_diagonal_covariances_match_the_closed_form(method):
    # The distance is invariant under a common rotation of both Gaussians: same closed form, dense matrices.
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    a, b = rng.uniform(0.1, 3.0, size=40), rng.uniform(0.1, 3.0, size=40)
    expected = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    got = frechet_distance(np.zeros(40), q @ np.diag(a) @ q.T, np.zeros(40), q @ np.diag(b) @ q.T, method=method)
    assert got == pytest.approx(expected, rel=1e-8)


def test_one_dimensional_gaussians():
    # d^2 = (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2.
    for method in METHODS:
        got = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[9.0]]), method=method)
        assert got == pytest.approx(9.0 + 1.0, rel=1e-12)


@pytest.mark.parametrize("d,n", [(16, 200), (64, 500), (400, 1000)])
def test_both_methods_agree_on_random_features(d, n):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3
    y = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3 + 0.1
    fast = frechet_distance_from_features(x, y, method="eigh")
    ref = frechet_distance_from_features(x, y, method="sqrtm")
    assert fast == pytest.approx(ref, rel=1e-6)
    assert fast > 0


def test_rank_deficient_covariances_are_handled():
    # n <= d: both covariances singular. Identical sets are at distance 0; S with itself gives tr sqrt(S^2) = tr S.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 60))
    mu, sigma = gaussian_statistics(x)
    assert np.linalg.matrix_rank(sigma) < 60
    assert trace_sqrt_product(sigma, sigma) == pytest.approx(np.trace(sigma), rel=1e-9)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8 * np.trace(sigma)


def test_sqrt_psd_is_a_symmetric_root():
    rng = np.random.default_rng(4)
    s = random_spd(30, rng, rank=10)  # singular: eigenvalue round-off may be slightly negative
    root = sqrt_psd(s)
    np.testing.assert_allclose(root, root.T, atol=1e-12)
    np.testing.assert_allclose(root @ root, s, atol=1e-10)


def test_statistics_from_sums_match_direct_and_numpy():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 20)) * 3 + 5
    n, s, o = len(x), x.sum(axis=0), x.T @ x
    for unbiased, ddof in ((False, 0), (True, 1)):
        mu_a, cov_a = covariance_from_sums(n, s, o, unbiased=unbiased)
        mu_b, cov_b = gaussian_statistics(x, unbiased=unbiased)
        np.testing.assert_allclose(mu_a, x.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(cov_a, np.cov(x, rowvar=False, ddof=ddof), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(cov_b, np.cov(x, rowvar=False, ddof=ddof), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(mu_a, mu_b, rtol=1e-12)


def test_biased_is_the_default():
    x = np.random.default_rng(6).normal(size=(10, 3))
    _, cov = gaussian_statistics(x)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False, ddof=0), rtol=1e-12)
    with pytest.raises(ValueError):
        gaussian_statistics(x[:1], unbiased=True)


def test_to_reference_matches_the_plain_distance():
    rng = np.random.default_rng(7)
    ref = rng.normal(size=(200, 25))
    mu_r, s_r = gaussian_statistics(ref)
    to_ref = FrechetToReference(mu_r, s_r)
    for shift in (0.0, 0.5, 2.0):
        mu, s = gaussian_statistics(rng.normal(size=(150, 25)) + shift)
        assert to_ref(mu, s) == pytest.approx(frechet_distance(mu, s, mu_r, s_r), rel=1e-10)
    for n in (5, 24, 25, 60):  # fewer samples than dimensions go through the n x n Gram matrix
        x = rng.normal(size=(n, 25)) * 2 + 0.3
        for unbiased in (False, True):
            mu, s = gaussian_statistics(x, unbiased=unbiased)
            expected = frechet_distance(mu, s, mu_r, s_r, method="sqrtm")
            assert to_ref.of_features(x, unbiased=unbiased) == pytest.approx(expected, rel=1e-8)


def test_bootstrap_interval_is_reproducible_and_shrinks_with_more_samples():
    rng = np.random.default_rng(8)
    ref = rng.normal(size=(2000, 8))
    mu_r, s_r = gaussian_statistics(ref)
    small, large = rng.normal(size=(60, 8)) + 0.3, rng.normal(size=(2000, 8)) + 0.3
    ci_small = bootstrap_frechet_ci95(small, mu_r, s_r, n_boot=100, seed=1)
    assert ci_small == bootstrap_frechet_ci95(small, mu_r, s_r, n_boot=100, seed=1)
    ci_large = bootstrap_frechet_ci95(large, mu_r, s_r, n_boot=100, seed=1)
    assert ci_small[0] <= ci_small[1] and ci_large[0] <= ci_large[1]
    assert ci_large[1] - ci_large[0] < ci_small[1] - ci_small[0]
    value = frechet_distance_from_features(large, ref)
    assert ci_large[0] <= value * 1.2 and value * 0.8 <= ci_large[1]
    assert bootstrap_frechet_ci95(large[:1], mu_r, s_r) is None


def test_bootstrap_interval_contains_the_estimate_even_when_resampling_inflates_it():
    """With fewer clips than dimensions every resample (duplicated rows, lower rank) lands above the estimate;
    the bias shift must bring the interval back around it."""
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(300, 40))
    mu_r, s_r = gaussian_statistics(ref)
    for n in (12, 30, 200):
        x = rng.normal(size=(n, 40)) * 1.1 + 0.2
        value = FrechetToReference(mu_r, s_r).of_features(x)
        lo, hi = bootstrap_frechet_ci95(x, mu_r, s_r, n_boot=100, seed=0)
        assert 0.0 <= lo <= value <= hi, (n, lo, value, hi)


def test_bad_arguments():
    eye = np.eye(3)
    with pytest.raises(ValueError, match="unknown Frechet method"):
        trace_sqrt_product(eye, eye, method="magic")
    with pytest.raises(ValueError, match="shape mismatch"):
        frechet_distance(np.zeros(3), eye, np.zeros(4), np.eye(4))


def test_cholesky_root_path_agrees_with_scipy_sqrtm_at_d400():
    # The fast path (Cholesky root, one values-only eigensolve) against scipy's Schur sqrtm, the pytorch-fid
    # formula: 1e-6 relative (float64 eigensolvers agree to ~1e-13 here; 1e-6 is the acceptance bound).
    from metrics.functional.frechet import psd_root

    rng = np.random.default_rng(7)
    s1, s2 = random_spd(400, rng), random_spd(400, rng)
    root = psd_root(s1)
    assert np.allclose(np.triu(root, 1), 0) and np.allclose(root @ root.T, s1, atol=1e-12)  # Cholesky was used
    fast = trace_sqrt_product(s1, s2)
    assert fast == pytest.approx(trace_sqrt_product(s1, s2, method="sqrtm"), rel=1e-6)
    assert fast == pytest.approx(trace_sqrt_product(s1, s2, sqrt_sigma1=sqrt_psd(s1)), rel=1e-10)
    # rank-deficient: the symmetric root, whose round-off eigenvalues are cut off
    low = random_spd(400, rng, rank=100)
    assert not np.allclose(np.triu(psd_root(low), 1), 0)
    assert trace_sqrt_product(low, s2) == pytest.approx(trace_sqrt_product(s2, low), rel=1e-8)


def test_bootstrap_reuses_a_given_point_estimate():
    rng = np.random.default_rng(8)
    x, ref = rng.normal(size=(50, 6)), random_spd(6, rng)
    point = FrechetToReference(np.zeros(6), ref).of_features(x)
    assert bootstrap_frechet_ci95(x, np.zeros(6), ref, n_boot=30, point=point) == \
        bootstrap_frechet_ci95(x, np.zeros(6), ref, n_boot=30)


def test_blas_threads_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from metrics.functional.frechet import blas_threads

    before = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    with blas_threads(1):
        assert all(p["num_threads"] == 1 for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"] == before
