"""The numbers of a calibration, pure numpy: how a metric's value moves as a defect gets stronger.

For one (metric, defect) pair the input is the metric's summary at each strength ``s_0 = 0 < s_1 < ... < s_k``
(``values[i]`` and, at strength 0, the clean clips' 95% interval ``[lo, hi]`` that ``results.json`` reports). With
``w = -1`` when higher is better and ``+1`` when lower is better, a metric *degrades* when ``w * value`` grows:

``spearman``      Spearman's rho between strength and value: the Pearson correlation of their ranks, ties given the
                  mean of their ranks (as ``scipy.stats.spearmanr``); NaN when either side is constant.
``direction``     ``"worse"`` when the strongest defect scores worse than clean, ``"better"`` when it scores better
                  (the metric rewards the defect), ``"flat"`` when equal.
``monotonicity``  the fraction of the ``k`` steps ``s_{i-1} -> s_i`` on which the value gets strictly worse: 1.0 is a
                  metric that degrades at every step.
``detected_at``   the smallest strength whose value lies outside the clean interval on the worse side (the defect is
                  detected beyond the metric's 95% interval); NaN when none does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def average_ranks(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, ties sharing the mean of the ranks they span."""
    a = np.asarray(x, dtype=np.float64)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a), dtype=np.float64)
    sorted_a = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho over the pairs where both are finite (NaN with fewer than 3 such pairs or a constant side)."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    if len(xa) < 3:
        return math.nan
    rx, ry = average_ranks(xa), average_ranks(ya)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return math.nan if denom == 0 else float((rx * ry).sum() / denom)


def worse_sign(higher_is_better: bool) -> float:
    return -1.0 if higher_is_better else 1.0


def direction(values: Sequence[float], higher_is_better: bool) -> str:
    """``worse``/``better``/``flat``: the strongest defect against clean (``values[0]``), in the metric's direction."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2 or not (math.isfinite(v[0]) and math.isfinite(v[-1])):
        return "n/a"
    d = worse_sign(higher_is_better) * (v[-1] - v[0])
    return "worse" if d > 0 else "better" if d < 0 else "flat"


def monotonicity(values: Sequence[float], higher_is_better: bool) -> float:
    """The fraction of consecutive strength steps on which the value gets strictly worse (NaN steps count as not)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return math.nan
    steps = worse_sign(higher_is_better) * np.diff(v)
    return float(np.sum(np.nan_to_num(steps, nan=0.0) > 0) / len(steps))


def detected_at(strengths: Sequence[float], values: Sequence[float], clean_ci95: Sequence[float] | None,
                higher_is_better: bool) -> float:
    """The smallest strength > 0 whose value is outside the clean interval on the worse side (NaN if none is)."""
    if clean_ci95 is None or len(clean_ci95) != 2 or not all(c is not None and math.isfinite(c) for c in clean_ci95):
        return math.nan
    lo, hi = float(clean_ci95[0]), float(clean_ci95[1])
    for s, v in sorted(zip(strengths, values)):
        if s <= 0 or v is None or not math.isfinite(v):
            continue
        if (v < lo) if higher_is_better else (v > hi):
            return float(s)
    return math.nan


def summarize_pair(strengths: Sequence[float], values: Sequence[float], clean_ci95: Sequence[float] | None,
                   higher_is_better: bool) -> dict[str, float | str]:
    """The four numbers of one (metric, defect) pair; ``strengths[0]`` must be 0 (the clean clips)."""
    order = np.argsort(np.asarray(strengths, dtype=np.float64), kind="mergesort")
    s = [float(strengths[i]) for i in order]
    v = [float(values[i]) if values[i] is not None else math.nan for i in order]
    if not s or s[0] != 0:
        raise ValueError("a calibration needs the clean clips (strength 0)")
    return {"direction": direction(v, higher_is_better), "spearman": spearman(s, v),
            "monotonicity": monotonicity(v, higher_is_better),
            "detected_at": detected_at(s, v, clean_ci95, higher_is_better)}


def ranking_stability(a: np.ndarray, b: np.ndarray, distance, sizes: Sequence[int], *, n_boot: int = 200,
                      seed: int = 0) -> list[dict[str, float]]:
    """Sample efficiency of a set metric: for each subset size ``m``, how often ``distance`` on ``m`` clips drawn with
    replacement from each of two runs' features ``a`` and ``b`` orders the runs as it does on all their clips.

    ``distance(features) -> float`` scores one set (lower is better, e.g. FVD against a fixed reference). Returns
    one row per size: ``size``, ``agreement`` (the fraction of the ``n_boot`` draws with the full-set order), and the
    5/50/95th percentiles of the score difference ``d(a_m) - d(b_m)``.
    """
    rng = np.random.default_rng(seed)
    full = distance(a) - distance(b)
    rows = []
    for m in sizes:
        diffs = np.empty(n_boot)
        for i in range(n_boot):
            ia = rng.integers(0, len(a), size=m)
            ib = rng.integers(0, len(b), size=m)
            diffs[i] = distance(a[ia]) - distance(b[ib])
        agree = float(np.mean(np.sign(diffs) == np.sign(full))) if full != 0 else math.nan
        q05, q50, q95 = np.percentile(diffs, [5, 50, 95])
        rows.append({"size": int(m), "agreement": agree, "diff_p05": float(q05), "diff_median": float(q50),
                     "diff_p95": float(q95), "full_diff": float(full)})
    return rows


def smallest_stable_size(rows: Sequence[dict[str, float]], level: float = 0.95) -> float:
    """The smallest subset size from which every larger size tested orders the runs right in >= ``level`` of draws."""
    best = math.nan
    for row in sorted(rows, key=lambda r: -r["size"]):
        if not (row["agreement"] >= level):
            break
        best = float(row["size"])
    return best


__all__ = ["average_ranks", "detected_at", "direction", "monotonicity", "ranking_stability", "smallest_stable_size",
           "spearman", "summarize_pair", "worse_sign"]
