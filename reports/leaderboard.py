"""The leaderboard: one row per run, each metric with its interval and rank, a mean rank overall.

Ranking rules:

- Each metric is ranked on its own, in its direction (``higher_is_better`` from ``results.json``): rank 1 is best.
- Ties share the best rank of their group ("1224" competition ranking: two runs tied for first are both 1, the
  next is 3).
- A run without a value for a metric (not computed, failed, NaN) ranks last on that metric, tied with the other
  runs that have none.
- Metrics come in families (``family`` in ``results.json``: text_alignment, temporal_consistency, dynamics,
  distribution...). ``family_rank[<family>]`` is the mean of a run's ranks on that family's metrics, and
  ``mean_rank`` is the mean of the family ranks, over the metrics that at least one run has a value for: shown so
  that per-metric ranks stay visible.
- The overall ``score`` (0-100, higher is better; :mod:`reports.overall_score`) measures how far a run falls short of
  an anchor run (``anchor=``: the reference videos scored like the runs) on each metric, in normalised gaps averaged
  within families then across them; consistency and dynamics count departures from the anchor on both sides, so a
  frozen clip is no longer rewarded. ``family_gap[<family>]`` holds each family's mean gap. ``rank`` ranks ``score``
  (ties share the better rank); the anchor's row takes no rank. Rows are sorted by ``rank``, then name. This rule
  passes ``vbench-lite calibrate``: on the synthetic suite the exact renderer is first, every defect at strength 1
  below it, and each defect's runs ordered by strength (``tests/reports/test_leaderboard.py``).

Runs are only ranked together when they are comparable: same prompt suite (name and sha256), same FVD protocol
(``provenance.protocols``), same weights (``provenance.weights``, compared on the keys both runs have: a run that
did not compute FVD has no I3D sha256 and does not conflict), same metric directions, and at least one scored prompt
in common between every two runs (the prompts a run scored: ``prompt_ids`` of ``results.json``, else the
``prompt_id`` column of its ``per_video.csv``; unknown for neither, and then not checked). Otherwise
:func:`check_comparable` raises a one-line :class:`VbenchError` naming the two runs and the field, unless
``allow_mixed`` is set, in which case the differences become notes of the leaderboard (``df.attrs["notes"]``).
Runs that share only some prompts are ranked, with a note saying how many prompts they share.

A metric computed with a toy model (``toy_model`` in its entry) gets a ``<metric>_toy_model`` column naming the model
per run; ``df.attrs["toy"]`` and ``df.attrs["toy_descriptions"]`` feed the reports' banner and markers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from reports.overall_score import NO_ANCHOR_NOTE, TWO_SIDED_FAMILIES, overall_score
from reports.tables import Run, metric_directions, metric_names
from vbench_lite.results import one_line
from vbench_lite.types import VbenchError

#: Families of metrics that predate the ``family`` field of results.json (or come from plug-ins that omit it).
KNOWN_FAMILIES = {
    "clip_similarity": "text_alignment", "clipscore": "text_alignment",
    "clip_consistency": "temporal_consistency", "temporal_flicker": "temporal_consistency",
    "motion_smoothness": "temporal_consistency", "warping_error": "temporal_consistency",
    "dynamic_degree": "dynamics", "fvd": "distribution", "kvd": "distribution",
}

#: Leaderboard columns before the per-metric ones.
INFO_COLUMNS = ["run", "rank", "score", "mean_rank", "generator", "suite", "suite_sha256", "videos", "failed_videos"]
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


def _label(run: Run) -> str:
    return f"{run.name!r} ({one_line(run.results_path)})"


def comparability_issues(runs: Sequence[Run]) -> list[str]:
    """Every difference between the first run and each other run, and every pair of runs that scored no prompt in
    common, as one line each."""
    issues = []
    first = runs[0]
    for other in runs[1:]:
        for diff in _differences(first, other):
            issues.append(f"runs {_label(first)} and {_label(other)} differ in {one_line(diff)}")
    known = [(run, ids) for run in runs if (ids := run.prompt_ids) is not None]
    for i, (a, ids_a) in enumerate(known):
        for b, ids_b in known[i + 1:]:
            if not ids_a & ids_b:
                issues.append(f"runs {_label(a)} and {_label(b)} share no prompts ({len(ids_a)} and {len(ids_b)} "
                              "prompts)")
    return issues


def prompt_overlap_note(runs: Sequence[Run]) -> str | None:
    """A one-line note when the runs scored partly different prompts (how many they share), ``None`` when they all
    scored the same prompts or fewer than two runs say which prompts they scored."""
    known = [(run, ids) for run in runs if (ids := run.prompt_ids) is not None]
    if len(known) < 2:
        return None
    common = frozenset.intersection(*(ids for _, ids in known))
    union = frozenset.union(*(ids for _, ids in known))
    if len(common) == len(union):
        return None
    sizes = ", ".join(f"{run.name!r} {len(ids)}" for run, ids in known)
    return (f"the runs share {len(common)} of {len(union)} prompts ({sizes}): each run's values are means over its "
            "own prompts")


def check_comparable(runs: Sequence[Run], allow_mixed: bool = False) -> list[str]:
    """Raise a one-line :class:`VbenchError` when the runs must not be ranked together; return the notes to show:
    the differences when ``allow_mixed``, and how many prompts the runs share when they share only some."""
    issues = comparability_issues(runs)
    if issues and not allow_mixed:
        more = f" (and {len(issues) - 1} more differences)" if len(issues) > 1 else ""
        raise VbenchError(f"{issues[0]}{more}; refusing to rank them together (use --allow-mixed to rank anyway)")
    overlap = prompt_overlap_note(runs)
    return issues + ([overlap] if overlap else [])


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
                      metrics: Sequence[str] | None = None, anchor: str | None = None) -> pd.DataFrame:
    """One row per run (see the module docstring for ranking and comparability rules).

    Columns: ``run, rank, mean_rank, generator, suite, suite_sha256, videos, failed_videos``; then for each metric
    ``<m>, <m>_ci95_low, <m>_ci95_high, <m>_n, <m>_rank``; then ``<m>[<dimension>]`` for each dimension of
    ``by_dimension``. ``df.attrs`` holds ``metrics`` (in order), ``higher_is_better``, ``notes`` and ``anchor``.
    ``anchor`` names the run (its name or folder) whose values the overall score measures the others against.
    """
    if not runs:
        raise VbenchError("leaderboard: no runs given")
    anchor = anchor_name(runs, anchor)
    notes = check_comparable(runs, allow_mixed)
    names = list(metrics) if metrics else metric_names(runs)
    unknown = [m for m in names if not any(m in r.metrics for r in runs)]
    if unknown:
        raise VbenchError(f"leaderboard: no run has metric(s) {one_line(', '.join(unknown))} "
                          f"(available: {one_line(', '.join(metric_names(runs))) or 'none'})")
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
            row[toy_column(m)] = one_line(entry.get("toy_model") or "")
            for dim, sub in (entry.get("by_dimension") or {}).items():
                if dim not in dims_by_metric[m]:
                    dims_by_metric[m].append(dim)
                row[dimension_column(m, dim)] = _float((sub or {}).get("value"))
        rows.append(row)
    df = pd.DataFrame(rows)
    in_ranking = df["run"] != anchor  # the anchor is shown, never ranked
    ranked = []
    for m in names:
        df[f"{m}_rank"] = math.nan
        df.loc[in_ranking, f"{m}_rank"] = rank_values(df.loc[in_ranking, m], directions.get(m, True))
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
    score, family_gap = overall_score(df, [c[: -len("_rank")] for c in ranked], directions, families, anchor)
    df["score"] = score
    gap_cols = []
    for family, gaps in family_gap.items():
        df[gap_column(family)] = gaps.where(in_ranking)
        gap_cols.append(gap_column(family))
    if df["score"].notna().any():
        df.loc[in_ranking, "rank"] = rank_values(df.loc[in_ranking, "score"], higher_is_better=True)
    columns = list(INFO_COLUMNS) + family_cols + gap_cols
    toy = {m: {r["run"]: r[toy_column(m)] for r in rows if r[toy_column(m)]} for m in names}
    for m in names:
        columns += [f"{m}{s}" for s in METRIC_SUFFIXES]
        columns += [toy_column(m)] if toy[m] else []  # only where a toy model was used: the CSV's marker
    for m in names:
        columns += [dimension_column(m, d) for d in sorted(dims_by_metric[m])]
    df = df.reindex(columns=columns)
    df = df.sort_values(["rank", "run"], kind="stable", na_position="last").reset_index(drop=True)
    two_sided = any(families[m] in TWO_SIDED_FAMILIES for m in names)
    score_note = NO_ANCHOR_NOTE if anchor is None and two_sided else None
    if anchor is not None:  # a metric the anchor lacks falls back to "best run, one-sided" (overall_score.py): say so
        anchor_row = df[df["run"] == anchor]
        lacking = [m for m in names if anchor_row.empty or pd.isna(anchor_row[m].iloc[0])]
        if lacking:
            score_note = (f"overall score: the anchor {anchor} has no value for {', '.join(lacking)}; those metrics "
                          "are measured against the best run, one-sided")
    rank_cols = ["rank"] + [f"{m}_rank" for m in names]
    for col in rank_cols:
        if df[col].notna().all():
            df[col] = df[col].astype("int64")
    df.attrs = {"metrics": names, "higher_is_better": {m: directions.get(m, True) for m in names},
                "dimensions": {m: sorted(dims_by_metric[m]) for m in names}, "notes": notes,
                "families": families, "toy": {m: runs_ for m, runs_ in toy.items() if runs_},
                "toy_descriptions": list(dict.fromkeys(t for run in runs for t in run.toy_descriptions)),
                "anchor": anchor, "score_note": score_note}
    return df


def anchor_name(runs: Sequence[Run], anchor: str | None) -> str | None:
    """The name of the anchor run, given by name or folder, or one line naming the runs there are."""
    if anchor is None:
        return None
    for run in runs:
        if anchor in (run.name, str(run.results_path), str(run.results_path.parent)):
            return run.name
    raise VbenchError(f"--anchor {anchor}: not one of the runs ({', '.join(r.name for r in runs)}); give it as a RUN "
                      "too")


def gap_column(family: str) -> str:
    return f"family_gap[{family}]"


def toy_column(metric: str) -> str:
    """The leaderboard column that names the toy model behind a run's value of ``metric`` (empty when none)."""
    return f"{metric}_toy_model"


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
    "anchor_name",
    "build_leaderboard",
    "check_comparable",
    "comparability_issues",
    "dimension_column",
    "family_column",
    "gap_column",
    "leaderboard_metrics",
    "metric_families",
    "prompt_overlap_note",
    "rank_values",
    "toy_column",
    "write_leaderboard_csv",
]
