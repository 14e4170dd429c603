"""Maximum mean discrepancy with a polynomial kernel, as JEDi computes it (Luo et al. 2024, "Beyond FVD").

JEDi (``videojedi/JEDi.py`` and ``videojedi/mmd_polynomial.py`` of oooolga/JEDi at c03d1785) scores two feature sets
with the *biased* (V-statistic) MMD^2 of the polynomial kernel ``k(x, y) = (gamma <x, y> + coef0)^degree`` with
``degree=2, coef0=0`` and scikit-learn's default ``gamma = 1/d``, times 100:

    JEDi = 100 * ( mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) - 2 mean_ij k(x_i, y_j) )

(every mean over all pairs, diagonals included). The unbiased U-statistic (diagonals left out of the within-set
means) is here too: its expectation is 0 for equal distributions at any set size, where the V-statistic carries a
positive small-sample bias of order 1/n.
"""

from __future__ import annotations

import numpy as np

#: JEDi's kernel and scale (JEDi.compute_metric: ``mmd_poly(..., degree=2, coef0=0) * 100``).
JEDI_DEGREE = 2
JEDI_COEF0 = 0.0
JEDI_SCALE = 100.0


def _checked(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sets must be (n, d) and (m, d), got {x.shape} and {y.shape}")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"MMD needs at least 2 rows in each set, got {x.shape[0]} and {y.shape[0]}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("feature sets hold non-finite values")
    return x, y


def poly_kernel(x: np.ndarray, y: np.ndarray, *, degree: int = JEDI_DEGREE, gamma: float | None = None,
                coef0: float = JEDI_COEF0) -> np.ndarray:
    """``(gamma x y^T + coef0)^degree``; ``gamma`` None means ``1 / d`` (scikit-learn's default, JEDi's)."""
    g = 1.0 / x.shape[1] if gamma is None else float(gamma)
    return (g * (x @ y.T) + coef0) ** degree


def mmd2_poly(x: np.ndarray, y: np.ndarray, *, unbiased: bool = False, degree: int = JEDI_DEGREE,
              gamma: float | None = None, coef0: float = JEDI_COEF0) -> float:
    """MMD^2 of two feature sets under the polynomial kernel: the V-statistic (JEDi's) or the U-statistic."""
    x, y = _checked(x, y)
    kw = {"degree": degree, "gamma": gamma, "coef0": coef0}
    kxx, kyy, kxy = poly_kernel(x, x, **kw), poly_kernel(y, y, **kw), poly_kernel(x, y, **kw)
    if not unbiased:
        return float(kxx.mean() + kyy.mean() - 2.0 * kxy.mean())
    n, m = x.shape[0], y.shape[0]
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def jedi_distance(generated: np.ndarray, reference: np.ndarray, *, unbiased: bool = False) -> float:
    """JEDi: 100 x MMD^2 with the degree-2, coef0 0, gamma 1/d polynomial kernel (symmetric in its arguments)."""
    return JEDI_SCALE * mmd2_poly(generated, reference, unbiased=unbiased)


def bootstrap_jedi_ci95(generated: np.ndarray, reference: np.ndarray, *, n_boot: int = 200, seed: int = 0,
                        unbiased: bool = False) -> tuple[float, float] | None:
    """95% interval of JEDi over bootstrap resamples of the generated set (reference fixed), made as the FVD
    interval is: resampling repeats rows, which the kernel means count as pairs of equal clips and which inflates
    the distance, so the bootstrap distribution is shifted by its bias (median minus the estimate) before its 2.5th
    and 97.5th percentiles are taken. None for ``n_boot`` 0."""
    x, y = _checked(generated, reference)
    if n_boot <= 0:
        return None
    rng = np.random.default_rng(seed)
    kw = {"degree": JEDI_DEGREE, "gamma": None, "coef0": JEDI_COEF0}
    # The kernel blocks are computed once; a resample only re-indexes them.
    kxx, kyy, kxy = poly_kernel(x, x, **kw), poly_kernel(y, y, **kw), poly_kernel(x, y, **kw)
    m = y.shape[0]
    yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) if unbiased else kyy.mean()
    values = np.empty(n_boot)
    n = x.shape[0]
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        sub = kxx[np.ix_(idx, idx)]
        xx = (sub.sum() - np.trace(sub)) / (n * (n - 1)) if unbiased else sub.mean()
        values[b] = JEDI_SCALE * (xx + yy - 2.0 * kxy[idx].mean())
    estimate = JEDI_SCALE * (((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) if unbiased else kxx.mean())
                             + yy - 2.0 * kxy.mean())
    lo, hi = np.percentile(values, [2.5, 97.5]) - (float(np.median(values)) - estimate)
    return float(lo), float(hi)
