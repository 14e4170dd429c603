"""Extrapolation of a sample-size-biased distance to infinitely many samples (Chong & Forsyth, CVPR 2020,
"Effectively Unbiased FID and Inception Score and where to find them": FID_inf).

The Frechet distance of N samples against fixed reference statistics is, to first order, linear in 1/N:
``D_N = D_inf + k / N``. We evaluate D at several subset sizes of the generated set, fit the line by least squares
in ``1/N`` and report the intercept ``D_inf`` with the slope, the fit's residuals and the intercept's standard error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class InverseNFit:
    """``value(N) = intercept + slope / N`` fitted to the points ``(sizes, values)``."""

    intercept: float
    slope: float
    intercept_stderr: float  # NaN with two sizes (no residual degree of freedom)
    residual_rms: float
    sizes: tuple[int, ...]
    values: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"intercept": self.intercept, "slope": self.slope, "intercept_stderr": self.intercept_stderr,
                "residual_rms": self.residual_rms, "sizes": list(self.sizes), "values": list(self.values),
                "model": "value(N) = intercept + slope / N, least squares in 1/N"}


def fit_inverse_n(sizes: Sequence[int], values: Sequence[float]) -> InverseNFit:
    """Least-squares line of ``values`` against ``1 / sizes`` (at least two distinct sizes)."""
    n = np.asarray(sizes, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if n.ndim != 1 or n.shape != v.shape:
        raise ValueError(f"sizes and values must be 1-d of one length, got {n.shape} and {v.shape}")
    if len(np.unique(n)) < 2 or (n <= 0).any():
        raise ValueError(f"need at least two distinct positive subset sizes, got {list(sizes)}")
    if not np.isfinite(v).all():
        raise ValueError("values to fit hold non-finite numbers")
    design = np.stack([np.ones_like(n), 1.0 / n], axis=1)
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    resid = v - design @ coef
    dof = len(v) - 2
    if dof > 0:
        s2 = float(resid @ resid) / dof
        stderr = float(np.sqrt(s2 * np.linalg.inv(design.T @ design)[0, 0]))
    else:
        stderr = float("nan")
    return InverseNFit(float(coef[0]), float(coef[1]), stderr, float(np.sqrt(np.mean(resid ** 2))),
                       tuple(int(s) for s in n), tuple(float(x) for x in v))


def subset_sizes(n: int, *, points: int = 5, min_fraction: float = 0.5) -> list[int]:
    """``points`` sizes evenly spaced in 1/N between ``min_fraction * n`` and ``n`` (FID_inf spaces them so)."""
    if n < 4:
        raise ValueError(f"extrapolation needs at least 4 samples, got {n}")
    if not 0 < min_fraction < 1 or points < 2:
        raise ValueError(f"need 0 < min_fraction < 1 and points >= 2, got {min_fraction} and {points}")
    lo = max(2, int(np.ceil(min_fraction * n)))
    inv = np.linspace(1.0 / lo, 1.0 / n, points)
    return sorted({int(np.rint(1.0 / x)) for x in inv})


def values_at_sizes(features: np.ndarray, distance: Callable[[np.ndarray], float], sizes: Sequence[int], *,
                    repeats: int = 1, seed: int = 0) -> list[float]:
    """Mean of ``distance(subset)`` over ``repeats`` random subsets (without replacement) of each size."""
    x = np.asarray(features)
    rng = np.random.default_rng(seed)
    out = []
    for size in sizes:
        if not 2 <= size <= x.shape[0]:
            raise ValueError(f"subset size {size} is outside [2, {x.shape[0]}]")
        runs = 1 if size == x.shape[0] else repeats
        out.append(float(np.mean([distance(x[rng.choice(x.shape[0], size, replace=False)]) for _ in range(runs)])))
    return out
