"""The leaderboard's overall score: how far each run falls short of an anchor, metric by metric, in effect sizes.

Averaging ranks hid magnitudes (a slightly blurred run and a shuffled one differ by one place) and rewarded
stillness (a frozen clip tops every consistency measure). The score instead measures, for every metric ``m``, how far
a run's value ``v`` is from the anchor's ``a`` (the reference videos scored like the runs: real clips, or in the demo
the exact renderer with other seeds), beyond sampling noise, in units of the anchor's per-clip spread:

``e = w (v - a)``   one-sided metrics (text alignment, distribution, quality): only worse than the anchor counts
                    (``w = +1`` lower is better, ``-1`` higher is better)
``e = |v - a|``     temporal_consistency and dynamics: any departure counts, so a clip stiller than real video is a
                    defect, not a reward (dynamics is a constraint: match the anchor's motion)
``d = max(0, e - h) / s``  with ``h = sqrt(h_v^2 + h_a^2)`` the 95% half-width of the difference of two independent
                    means (each ``ci95`` half-width) and ``s = h_a sqrt(n_a) / 1.96`` the anchor's per-clip standard
                    deviation recovered from its interval (floored at 1% of the metric's range over the runs, for
                    metrics every anchor clip agrees on): a standardised effect size, Cohen's d beyond noise
``g = d / (1 + d)``  in [0, 1): 0 for no detectable difference, 1/2 at one standard deviation, -> 1 for a total
                    failure; strictly increasing, so a stronger defect always scores lower

For set-level metrics (FVD, KVD, cd-FVD, JEDi) there are no per-clip values: ``s`` is then the interval's
half-width scaled the same way, a unit of sampling spread rather than a per-clip standard deviation.
A run without a value gets ``g = 1``. ``g`` is averaged within each family, families averaged, and
``score = 100 (1 - mean)``: 100 is indistinguishable from the anchor on every family.

Without an anchor the best run's value on each metric stands in for ``a`` (its own interval and clip count for
``h_a`` and ``n_a``) and every metric is one-sided (there is no reference to be close to): consistency then rewards
stillness again, which the leaderboard says (``attrs["score_note"]``). The anchor row takes no rank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Families where the anchor is a target to match from both sides.
TWO_SIDED_FAMILIES = frozenset({"temporal_consistency", "dynamics"})
NO_ANCHOR_NOTE = ("overall score without an anchor run: each metric is measured against the best run, so "
                  "consistency measures reward still clips; pass the reference videos' run as --anchor")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(np.nan, index=df.index)
    return pd.to_numeric(df[name], errors="coerce").astype("float64")


def half_widths(df: pd.DataFrame, metric: str) -> pd.Series:
    """Each run's 95% half-width ``(high - low) / 2`` of ``metric`` (0 where the interval is missing)."""
    return ((_col(df, f"{metric}_ci95_high") - _col(df, f"{metric}_ci95_low")) / 2.0).clip(lower=0.0).fillna(0.0)


def metric_gaps(df: pd.DataFrame, metric: str, higher_is_better: bool, two_sided: bool, anchor_index,
                ranked: pd.Series) -> pd.Series:
    """``g`` in [0, 1) of one metric for every row (see the module docstring); rows without a value get 1."""
    v = _col(df, metric)
    present = v[ranked & v.notna()]
    if present.empty:
        return pd.Series(np.nan, index=df.index)
    hv = half_widths(df, metric)
    n = _col(df, f"{metric}_n").fillna(0.0)
    if anchor_index is None or not np.isfinite(v.loc[anchor_index]):
        anchor_index = present.idxmax() if higher_is_better else present.idxmin()
        two_sided = False
    a, ha, na = v.loc[anchor_index], hv.loc[anchor_index], max(1.0, n.loc[anchor_index])
    w = -1.0 if higher_is_better else 1.0
    e = (v - a).abs() if two_sided else w * (v - a)
    beyond = (e - (hv ** 2 + ha ** 2) ** 0.5).clip(lower=0.0)
    spread = float(v[v.notna()].max() - v[v.notna()].min())
    s = max(ha * math.sqrt(na) / 1.96, 0.01 * spread, 1e-12)
    d = beyond / s
    return (d / (1.0 + d)).fillna(1.0)


def overall_score(df: pd.DataFrame, names: Sequence[str], directions: Mapping[str, bool],
                  families: Mapping[str, str], anchor: str | None = None) -> tuple[pd.Series, dict[str, pd.Series]]:
    """``(score per row, {family: mean normalised gap per row})`` of a leaderboard frame (one row per run, the
    metric columns and their ``_ci95_low/high``); ``anchor`` names the anchor run's row."""
    ranked = df["run"] != anchor if anchor is not None else pd.Series(True, index=df.index)
    anchor_index = df.index[~ranked][0] if anchor is not None and (~ranked).any() else None
    by_family: dict[str, list[pd.Series]] = {}
    for m in names:
        gaps = metric_gaps(df, m, directions.get(m, True), families.get(m, m) in TWO_SIDED_FAMILIES, anchor_index,
                           ranked)
        if gaps.notna().any():
            by_family.setdefault(families.get(m, m), []).append(gaps)
    family_gap = {f: pd.concat(cols, axis=1).mean(axis=1) for f, cols in by_family.items()}
    if not family_gap:
        return pd.Series(np.nan, index=df.index), {}
    mean_gap = pd.concat(list(family_gap.values()), axis=1).mean(axis=1)
    return 100.0 * (1.0 - mean_gap), family_gap


__all__ = ["NO_ANCHOR_NOTE", "TWO_SIDED_FAMILIES", "half_widths", "metric_gaps", "overall_score"]
