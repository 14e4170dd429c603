"""Scaling fits of the attention sweep: log-log exponents of latency against tokens, and a fixed cost per
(sequence, head) problem separated from a FLOP rate (see :mod:`vbench_lite.lab.attention_measure`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


# -- fits -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalingFit:
    exponent: float
    prefactor: float
    r2: float
    points: int


def fit_scaling_exponent(tokens: Sequence[float], values: Sequence[float]) -> ScalingFit | None:
    """Least squares ``log value = exponent * log tokens + log prefactor``; None with fewer than 2 token counts."""
    x = np.log(np.asarray(tokens, dtype=float))
    y = np.log(np.asarray(values, dtype=float))
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return ScalingFit(float(slope), float(math.exp(intercept)), r2, len(x))


@dataclass(frozen=True)
class OverheadFit:
    """``latency = fixed_s * problems + flops / flop_rate``: a fixed cost per (sequence, head) problem plus FLOPs."""

    fixed_s_per_problem: float
    flop_rate: float  # FLOP/s of the part that scales with FLOPs (inf when the fit finds none)
    r2: float


def fit_overhead(problems: Sequence[float], flops: Sequence[float], seconds: Sequence[float]) -> OverheadFit | None:
    """Non-negative least squares of latency on (problems, FLOPs); None when the two do not vary independently
    (e.g. spatial attention over a frames sweep, where both grow with T)."""
    from scipy.optimize import nnls

    design = np.column_stack([problems, flops]).astype(float)
    y = np.asarray(seconds, dtype=float)
    if len(y) < 2 or (design <= 0).any():
        return None
    scale = design.max(axis=0)
    normed = design / scale
    if np.linalg.matrix_rank(normed, tol=1e-3) < 2 or np.linalg.cond(normed) > 20:
        return None
    coef, _ = nnls(normed, y)
    fixed, per_flop = coef / scale
    residual = y - design @ (coef / scale)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return OverheadFit(float(fixed), float(1.0 / per_flop) if per_flop > 0 else math.inf, r2)


def scaling_fits(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per strategy: measured exponent of latency vs tokens, the analytic exponent of the timed FLOPs, and (where
    problems and FLOPs vary independently, core scope) the fixed cost per problem and the marginal FLOP rate."""
    out = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy and r.get("flops") is not None]
        analytic = fit_scaling_exponent([r["tokens"] for r in mine], [max(r["flops"], 1) for r in mine])
        timed = [r for r in mine if r.get("latency_median_s")]
        measured = fit_scaling_exponent([r["tokens"] for r in timed], [r["latency_median_s"] for r in timed])
        overhead = None
        if timed and all(r.get("scope", "core") == "core" and r.get("attention_problems") for r in timed):
            overhead = fit_overhead([r["attention_problems"] for r in timed], [r["flops"] for r in timed],
                                    [r["latency_median_s"] for r in timed])
        out.append({"strategy": strategy,
                    "analytic_exponent": None if analytic is None else round(analytic.exponent, 3),
                    "measured_exponent": None if measured is None else round(measured.exponent, 3),
                    "measured_r2": None if measured is None else round(measured.r2, 4),
                    "points": 0 if measured is None else measured.points,
                    "fixed_us_per_problem": None if overhead is None else round(overhead.fixed_s_per_problem * 1e6, 3),
                    "marginal_gflop_per_s": None if overhead is None or math.isinf(overhead.flop_rate)
                    else round(overhead.flop_rate / 1e9, 2),
                    "overhead_fit_r2": None if overhead is None else round(overhead.r2, 4)})
    return out


def add_overhead_shares(rows: list[dict[str, Any]], fits: Sequence[dict[str, Any]]) -> None:
    """``overhead_share``: the fitted fixed per-problem cost as a fraction of each measured latency."""
    fixed = {f["strategy"]: f["fixed_us_per_problem"] for f in fits if f.get("fixed_us_per_problem") is not None}
    for row in rows:
        if row.get("latency_median_s") and row["strategy"] in fixed:
            share = fixed[row["strategy"]] * 1e-6 * row["attention_problems"] / row["latency_median_s"]
            row["overhead_share"] = round(min(share, 1.0), 4)
