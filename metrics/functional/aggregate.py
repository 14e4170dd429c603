"""Aggregation of per-video values: the mean with a percentile-bootstrap 95% interval.

Every per-video metric is summarised the same way: summary = mean of per-video values, interval = the 2.5th and
97.5th percentiles of the means of ``n_boot`` resamples (with replacement) of the per-video values. The resampling
uses a fixed seed so that two runs on the same values give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bootstrap_mean_ci95(values: Sequence[float], n_boot: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """Percentile-bootstrap 95% interval of the mean; ``None`` for fewer than 2 finite values."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def finite_mean(values: Sequence[float]) -> float:
    """Mean of the finite values (NaN and None left out); NaN when there is none. The one definition of a
    metric's overall value, shared by ``compute()`` and :func:`summarize`."""
    x = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(x)) if x else float("nan")


def summarize(values: Sequence[float], n_boot: int = 1000, seed: int = 0) -> dict:
    """``{"value", "ci95", "n"}`` of finite values (NaN and None are left out and not counted)."""
    x = [float(v) for v in values if v is not None and np.isfinite(v)]
    return {
        "value": finite_mean(x),
        "ci95": bootstrap_mean_ci95(x, n_boot=n_boot, seed=seed),
        "n": len(x),
    }
