"""Sample efficiency of set metrics (FVD, KVD and any metric with ``needs_reference``): how many clips rank two runs
the way all their clips do.

For a pair of calibration runs (the clean clips against a defect) and subset sizes ``m``, ``B`` bootstrap draws of
``m`` clips from each run are scored against the same reference
(:func:`vbench_lite.calibration_math.ranking_stability`); the ``agreement`` is the fraction of draws that order the
two runs as the full sets do, and the smallest stable size is the first ``m`` from which agreement stays >= 95%. This
turns the "below 2048 clips" warning into a measured statement for the user's own data and defect size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vbench_lite.calibration_math import ranking_stability, smallest_stable_size


def subset_sizes(n: int) -> list[int]:
    """4, 8, 16, ... below ``n``, then ``n`` itself."""
    sizes = [m for m in (2 ** k for k in range(2, 20)) if m < n]
    return [*sizes, n] if n >= 2 else []


def run_features(run_dir: Path, metric, items, score_settings) -> list[dict[str, np.ndarray]]:
    """The cached per-clip features of ``metric`` for a scored run, in item order (missing clips left out)."""
    from vbench_lite.scoring import feature_dir

    folder = feature_dir(run_dir, metric, score_settings)
    out = []
    for it in items:
        path = folder / it.prompt.id / f"{it.sample}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                out.append({k: data[k] for k in data.files if not k.startswith("__")})
    return out


def sample_efficiency(runs, metrics, reference: str, score_settings, pairs: Sequence[tuple[str, str]], *,
                      n_boot: int = 100, seed: int = 0):
    """Rows ``metric, label, size, agreement, diff_p05, diff_median, diff_p95, full_diff, stable_from`` for every set
    metric's first output and every pair of run names."""
    import pandas as pd

    rows = []
    for metric in metrics:
        if not getattr(metric, "needs_reference", False):
            continue
        output = next(iter(metric.outputs))
        metric.set_reference(reference)

        def distance(features, metric=metric, output=output):
            metric.reset()
            metric.update(list(features))
            return float(metric.compute()[output])

        for first, second in pairs:
            fa = run_features(runs[first].run_dir, metric, runs[first].items, score_settings)
            fb = run_features(runs[second].run_dir, metric, runs[second].items, score_settings)
            n = min(len(fa), len(fb))
            if n < 4:
                continue
            a, b = np.array(fa, dtype=object), np.array(fb, dtype=object)
            found = ranking_stability(a, b, distance, subset_sizes(n), n_boot=n_boot, seed=seed)
            stable = smallest_stable_size(found)
            for r in found:
                rows.append({"metric": output, "label": f"{output}: {first} vs {second}", **r,
                             "stable_from": stable if math.isfinite(stable) else math.nan})
    return pd.DataFrame(rows)


__all__ = ["run_features", "sample_efficiency", "subset_sizes"]
