"""Kernel distance (KID for images, KVD for videos): an unbiased squared MMD with a cubic polynomial kernel.

    k(x, y) = (x . y / d + 1)^3

    MMD_u^2(X, Y) = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
                    - 2/(m n) sum_{i, j} k(x_i, y_j)

Following KID (Binkowski et al. 2018), the estimate is averaged over ``num_subsets`` random subsets of
``subset_size`` samples drawn without replacement from each set (``subset_size`` is capped at the smaller set);
the standard deviation over subsets is returned with it. Unlike the Frechet distance it is unbiased, so it is usable
with few samples, and it can be slightly negative when the two sets come from the same distribution.
"""

from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray, *, degree: int = 3, coef0: float = 1.0,
                      gamma: float | None = None) -> np.ndarray:
    """``(x y^T * gamma + coef0) ** degree`` with ``gamma = 1 / d`` by default; ``(N, d), (M, d) -> (N, M)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, **kernel_args) -> float:
    """Unbiased squared MMD between samples ``x`` ``(m, d)`` and ``y`` ``(n, d)``, ``m, n >= 2``."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples per set, got {m} and {n}")
    k_xx = polynomial_kernel(x, x, **kernel_args)
    k_yy = polynomial_kernel(y, y, **kernel_args)
    k_xy = polynomial_kernel(x, y, **kernel_args)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_distance(features1: np.ndarray, features2: np.ndarray, *, num_subsets: int = 100,
                    subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """``(mean, std)`` of the unbiased MMD^2 over random subsets (the KID/KVD estimate)."""
    x = np.asarray(features1, dtype=np.float64)
    y = np.asarray(features2, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"features must be (N, d) with the same d, got {x.shape} and {y.shape}")
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ValueError(f"kernel distance needs at least 2 samples per set, got {len(x)} and {len(y)}")
    if size == len(x) == len(y):
        # Every subset would be the whole of both sets: one estimate, no spread to report.
        return mmd2_unbiased(x, y), 0.0
    rng = np.random.default_rng(seed)
    values = np.array([
        mmd2_unbiased(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
        for _ in range(num_subsets)
    ])
    return float(values.mean()), float(values.std())


def _kernel_sum(x: np.ndarray, y: np.ndarray, *, block: int = 2048, **kernel_args) -> np.ndarray:
    """Row sums of ``k(x, y)`` ``(N,)``, a block of rows at a time (a big reference set never needs N x M memory)."""
    return np.concatenate([polynomial_kernel(x[i:i + block], y, **kernel_args).sum(axis=1)
                           for i in range(0, len(x), block)])


def _kernel_diagonal(x: np.ndarray, *, degree: int = 3, coef0: float = 1.0, gamma: float | None = None
                     ) -> np.ndarray:
    """``k(x_i, x_i)`` ``(N,)`` without the ``N x N`` matrix (same defaults as :func:`polynomial_kernel`)."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (np.einsum("ij,ij->i", x, x) * gamma + coef0) ** degree


def bootstrap_mmd2_ci95(features1: np.ndarray, features2: np.ndarray, *, n_boot: int = 200, seed: int = 0,
                        **kernel_args) -> tuple[float, float] | None:
    """Bias-shifted percentile-bootstrap 95% interval of the unbiased MMD^2, resampling ``features1`` (the
    generated set); ``features2`` (the reference) stays fixed, as in ``bootstrap_frechet_ci95``.

    Each resample is the MMD^2 of the whole sets, ``mmd2_unbiased(x[idx], y)`` with ``idx`` drawn with replacement.
    A resample pairs repeated clips with themselves, which inflates the within-set term, so the distribution is
    shifted by its bias (median minus the estimate on the original sets) before taking the 2.5th and 97.5th
    percentiles. Not clipped at 0: the unbiased estimate can be negative. With resample counts ``w``, a resample's
    ``sum_{p != q} k(x_p, x_q) = w^T K w - w . diag(K)`` and its cross term ``w . rowsum(K_xy) / (m n)``, so kernel
    matrices are computed once and a resample costs ``O(m^2)``. ``None`` for fewer than 2 samples in either set.
    """
    x = np.asarray(features1, dtype=np.float64)
    y = np.asarray(features2, dtype=np.float64)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        return None
    k_xx = polynomial_kernel(x, x, **kernel_args)
    diag_x = np.diagonal(k_xx).copy()
    within_y = (_kernel_sum(y, y, **kernel_args).sum() - _kernel_diagonal(y, **kernel_args).sum()) / (n * (n - 1))
    cross_rows = _kernel_sum(x, y, **kernel_args)  # (m,)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, m, size=m), minlength=m).astype(np.float64)
        within_x = (w @ k_xx @ w - w @ diag_x) / (m * (m - 1))
        values[b] = within_x + within_y - 2.0 * (w @ cross_rows) / (m * n)
    estimate = (k_xx.sum() - diag_x.sum()) / (m * (m - 1)) + within_y - 2.0 * cross_rows.sum() / (m * n)
    bias = float(np.median(values)) - estimate
    lo, hi = np.percentile(values, [2.5, 97.5]) - bias
    return float(lo), float(hi)
