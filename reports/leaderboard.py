"""The leaderboard: one row per run, each metric with its interval and rank, a mean rank overall.

Ranking rules:

- Each metric is ranked on its own, in its direction (``higher_is_better`` from ``results.json``): rank 1 is best.
- Ties share the best rank of their group ("1224" competition ranking: two runs tied for first are both 1, the
  next is 3).
- A run without a value for a metric (not computed, failed, NaN) ranks last on that metric, tied with the other
  runs that have none.
- Metrics come in families (``family`` in ``results.json``: text_alignment, temporal_consistency, dynamics,
  distribution...). ``family_rank[<family>]`` is the mean of a run's ranks on that family's metrics, and
  ``mean_rank`` is the mean of the family ranks, over the metrics that at least one run has a value for. Averaging
  within a family first keeps four correlated temporal-consistency measures (which all reward a frozen clip) from
  outvoting text alignment, motion and FVD, the way VBench reports dimensions rather than raw measures.
  ``rank`` ranks ``mean_rank`` (ties share the better rank). Rows are sorted by ``rank``, then name.

Runs are only ranked together when they are comparable: same prompt suite (name and sha256), same FVD protocol
(``provenance.protocols``), same weights (``provenance.weights``, compared on the keys both runs have: a run that
did not compute FVD has no I3D sha256 and does not conflict) and same metric directions. Otherwise
:func:`check_comparable` raises a one-line :class:`VbenchError` naming the two runs and the field, unless
``allow_mixed`` is set, in which case the differences become notes of the leaderboard (``df.attrs["notes"]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from reports.tables import Run, metric_directions, metric_names
from vbench_lite.types import VbenchError

#: Families of metrics that predate the ``family`` field of results.json (or come from plug-ins that omit it).
KNOWN_FAMILIES = {
    "clip_similarity": "text_alignment", "clipscore": "text_alignment",
    "clip_consistency": "temporal_consistency", "temporal_flicker": "temporal_consistency",
    "motion_smoothness": "temporal_consistency", "warping_error": "temporal_consistency",
    "dynamic_degree": "dynamics", "fvd": "distribution", "kvd": "distribution",
}

#: Leaderboard columns before the per-metric ones.
INFO_COLUMNS = ["run", "rank", "mean_rank", "generator", "suite", "suite_sha256", "videos", "failed_videos"]
#: Per-metric column suffixes: ``<metric>`` is the value, then ``<metric>_ci95_low`` and so on.
METRIC_SUFFIXES = ("", "_ci95_low", "_ci95_high", "_n", "_rank")


def dimension_column(metric: str, dimension: str) -> str:
    """The leaderboard column of one metric on one prompt-suite dimension: ``clip_similarity[color]``."""
    return f"{metric}[{dimension}]"


def _short(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def _differences(a: Run, b: Run) -> list[str]:
    """What makes ``b`` not comparable with ``a``, one phrase per differing field."""
    out: list[str] = []
    suite_a, suite_b = a.results.get("suite") or {}, b.results.get("suite") or {}
    for key in ("name", "sha256"):
        if suite_a.get(key) != suite_b.get(key):
            out.append(f"suite {key} ({_short(suite_a.get(key))} vs {_short(suite_b.get(key))})")
    prov_a, prov_b = a.results.get("provenance") or {}, b.results.get("provenance") or {}
    for bucket, label in (("protocols", "FVD protocol"), ("weights", "weights")):
        da, db = prov_a.get(bucket) or {}, prov_b.get(bucket) or {}
        for key in sorted(set(da) & set(db)):
            if da[key] != db[key]:
                out.append(f"{label} provenance.{bucket}.{key} ({_short(da[key])} vs {_short(db[key])})")
    for name in sorted(set(a.metrics) & set(b.metrics)):
        ha, hb = a.metrics[name].get("higher_is_better"), b.metrics[name].get("higher_is_better")
        if ha is not None and hb is not None and bool(ha) != bool(hb):
            out.append(f"direction of {name} (higher_is_better {ha} vs {hb})")
    return out


def comparability_issues(runs: Sequence[Run]) -> list[str]:
    """Every difference between the first run and each other run, as one line each."""
    issues = []
    first = runs[0]
    for other in runs[1:]:
        for diff in _differences(first, other):
            issues.append(f"runs {first.name!r} ({first.results_path}) and {other.name!r} ({other.results_path}) "
                          f"differ in {diff}")
    return issues


def check_comparable(runs: Sequence[Run], allow_mixed: bool = False) -> list[str]:
    """Raise a one-line :class:`VbenchError` when the runs must not be ranked together; return the differences
    (empty when comparable, the notes to show when ``allow_mixed``)."""
    issues = comparability_issues(runs)
    if issues and not allow_mixed:
        more = f" (and {len(issues) - 1} more differences)" if len(issues) > 1 else ""
        raise VbenchError(f"{issues[0]}{more}; refusing to rank them together (use --allow-mixed to rank anyway)")
    return issues


def metric_families(runs: Sequence[Run], names: Sequence[str]) -> dict[str, str]:
    """The family of each metric: as the first run that records one says, else :data:`KNOWN_FAMILIES`, else the
    metric is a family of its own."""
    out: dict[str, str] = {}
    for m in names:
        recorded = next((r.metrics[m].get("family") for r in runs
                         if isinstance(r.metrics.get(m), dict) and r.metrics[m].get("family")), None)
        out[m] = recorded or KNOWN_FAMILIES.get(m, m)
    return out


def family_column(family: str) -> str:
    return f"family_rank[{family}]"


def rank_values(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Competition ranks (1 = best, ties share the better rank, missing values tied last) as floats."""
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    ranks = numeric.rank(method="min", ascending=not higher_is_better, na_option="bottom")
    missing = numeric.isna()
    if missing.any():
        ranks[missing] = float((~missing).sum() + 1)  # all missing values tie for the last place
    return ranks


def build_leaderboard(runs: Sequence[Run], *, allow_mixed: bool = False,
                      metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run (see the module docstring for ranking and comparability rules).

    Columns: ``run, rank, mean_rank, generator, suite, suite_sha256, videos, failed_videos``; then for each metric
    ``<m>, <m>_ci95_low, <m>_ci95_high, <m>_n, <m>_rank``; then ``<m>[<dimension>]`` for each dimension of
    ``by_dimension``. ``df.attrs`` holds ``metrics`` (in order), ``higher_is_better`` and ``notes``.
    """
    if not runs:
        raise VbenchError("leaderboard: no runs given")
    notes = check_comparable(runs, allow_mixed)
    names = list(metrics) if metrics else metric_names(runs)
    unknown = [m for m in names if not any(m in r.metrics for r in runs)]
    if unknown:
        raise VbenchError(f"leaderboard: no run has metric(s) {', '.join(unknown)} "
                          f"(available: {', '.join(metric_names(runs)) or 'none'})")
    directions = metric_directions(runs)
    rows: list[dict[str, Any]] = []
    dims_by_metric: dict[str, list[str]] = {m: [] for m in names}
    for run in runs:
        suite = run.results.get("suite") or {}
        counts = run.results.get("counts") or {}
        row: dict[str, Any] = {"run": run.name, "rank": math.nan, "mean_rank": math.nan,
                               "generator": run.generator, "suite": suite.get("name"),
                               "suite_sha256": suite.get("sha256"), "videos": counts.get("videos"),
                               "failed_videos": counts.get("failed_videos")}
        for m in names:
            entry = run.metrics.get(m) or {}
            ci = entry.get("ci95") if isinstance(entry.get("ci95"), (list, tuple)) else [None, None]
            row[m] = _float(entry.get("value"))
            row[f"{m}_ci95_low"], row[f"{m}_ci95_high"] = _float(ci[0]), _float(ci[1])
            row[f"{m}_n"] = int(entry.get("n") or 0)
            for dim, sub in (entry.get("by_dimension") or {}).items():
                if dim not in dims_by_metric[m]:
                    dims_by_metric[m].append(dim)
                row[dimension_column(m, dim)] = _float((sub or {}).get("value"))
        rows.append(row)
    df = pd.DataFrame(rows)
    ranked = []
    for m in names:
        df[f"{m}_rank"] = rank_values(df[m], directions.get(m, True))
        if df[m].notna().any():
            ranked.append(f"{m}_rank")
    families = metric_families(runs, names)
    family_cols: list[str] = []
    for family in dict.fromkeys(families[c[: -len("_rank")]] for c in ranked):
        col = family_column(family)
        df[col] = df[[c for c in ranked if families[c[: -len("_rank")]] == family]].mean(axis=1)
        family_cols.append(col)
    if family_cols:
        df["mean_rank"] = df[family_cols].mean(axis=1)
        df["rank"] = rank_values(df["mean_rank"], higher_is_better=False)
    columns = list(INFO_COLUMNS) + family_cols
    for m in names:
        columns += [f"{m}{s}" for s in METRIC_SUFFIXES]
    for m in names:
        columns += [dimension_column(m, d) for d in sorted(dims_by_metric[m])]
    df = df.reindex(columns=columns)
    df = df.sort_values(["rank", "run"], kind="stable", na_position="last").reset_index(drop=True)
    rank_cols = ["rank"] + [f"{m}_rank" for m in names]
    for col in rank_cols:
        if df[col].notna().all():
            df[col] = df[col].astype("int64")
    df.attrs = {"metrics": names, "higher_is_better": {m: directions.get(m, True) for m in names},
                "dimensions": {m: sorted(dims_by_metric[m]) for m in names}, "notes": notes,
                "families": families}
    return df


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def leaderboard_metrics(df: pd.DataFrame) -> list[str]:
    """The metric names of a leaderboard frame (from ``attrs``, else recovered from its ``_rank`` columns)."""
    if df.attrs.get("metrics"):
        return list(df.attrs["metrics"])
    return [c[: -len("_rank")] for c in df.columns if c.endswith("_rank") and c[: -len("_rank")] in df.columns]


def write_leaderboard_csv(df: pd.DataFrame, path) -> None:
    from vbench_lite.results import atomic_write_text

    atomic_write_text(path, df.to_csv(index=False))


__all__ = [
    "INFO_COLUMNS",
    "KNOWN_FAMILIES",
    "METRIC_SUFFIXES",
    "build_leaderboard",
    "check_comparable",
    "comparability_issues",
    "dimension_column",
    "family_column",
    "leaderboard_metrics",
    "metric_families",
    "rank_values",
    "write_leaderboard_csv",
]
