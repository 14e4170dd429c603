"""Quality versus cost of the reference DiT's attention strategies: the joined table and its chart.

Quality comes from each strategy's run (``results.json``: FVD, CLIP similarity, temporal metrics); cost rows come
from the attention lab (:func:`vbench_lite.lab.strategy_cost.strategy_cost_table`, columns :data:`COST_COLUMNS`).
:func:`quality_cost_table` joins the two and :func:`plot_quality_vs_cost` draws the trade-off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Display order of the strategies (those of ``reference_models.attention``); other labels follow, sorted.
STRATEGIES = ("full", "divided", "spatial", "temporal", "window")
#: Cost columns of a strategy cost row, in order (every other column of the joined table is a metric).
COST_COLUMNS = ("config", "params", "tokens", "forward_flops", "attention_core_flops", "sampler_steps",
                "flops_per_clip", "gflops_per_clip", "latency_ms_per_clip", "threads")
#: Metrics drawn by :func:`plot_quality_vs_cost` by default (those present), one row of panels each.
DEFAULT_CHART_METRICS = ("fvd", "clip_similarity", "temporal_flicker")


def metric_values(results: Mapping[str, Any]) -> dict[str, float | None]:
    """Flat ``{metric: value}`` from a ``results.json`` dict (``{"metrics": {name: {"value": ...}}}``) or an already
    flat mapping of metric names to numbers."""
    metrics = results.get("metrics", results)
    out: dict[str, float | None] = {}
    for name, entry in metrics.items():
        value = entry.get("value") if isinstance(entry, Mapping) else entry
        out[name] = None if value is None else float(value)
    return out


def metric_directions(results: Mapping[str, Any]) -> dict[str, bool]:
    """``{metric: higher_is_better}`` of the metrics of a ``results.json`` dict that say (a flat mapping says none)."""
    metrics = results.get("metrics", results)
    return {name: bool(entry["higher_is_better"]) for name, entry in metrics.items()
            if isinstance(entry, Mapping) and entry.get("higher_is_better") is not None}


def quality_cost_table(results_by_strategy: Mapping[str, Mapping[str, Any]], costs: Iterable[Mapping[str, Any]]):
    """A ``pandas.DataFrame`` indexed by strategy: the cost columns plus one column per metric of the runs.

    ``results_by_strategy``: strategy -> ``results.json`` dict (or a flat ``{metric: value}``); ``costs``: rows of
    ``vbench_lite.lab.strategy_cost.strategy_cost_table``.
    Strategies missing on either side are kept with empty cells, so a failed run shows.
    ``df.attrs["higher_is_better"]`` holds each metric's direction as the runs state it (as the leaderboard does).
    """
    import pandas as pd

    cost_df = pd.DataFrame(list(costs))
    if cost_df.empty:
        cost_df = pd.DataFrame(columns=["strategy", *COST_COLUMNS])
    cost_df = cost_df.set_index("strategy")
    quality = pd.DataFrame.from_dict({s: metric_values(r) for s, r in results_by_strategy.items()}, orient="index")
    df = cost_df.join(quality, how="outer")
    df.index.name = "strategy"
    order = [s for s in STRATEGIES if s in df.index] + sorted(s for s in df.index if s not in STRATEGIES)
    df = df.loc[order]
    df.attrs["higher_is_better"] = {m: h for r in results_by_strategy.values() for m, h in metric_directions(r).items()}
    return df


def plot_quality_vs_cost(df, path: str | Path, *, quality: str | Sequence[str] | None = None,
                         costs: Sequence[str] = ("gflops_per_clip", "latency_ms_per_clip")) -> Path:
    """Scatter each strategy's quality metrics against each cost column (a row of panels per metric); PNG or SVG.

    ``quality``: one metric column or several; by default those of ``fvd``, ``clip_similarity`` and
    ``temporal_flicker`` that are present, else the first metric column. Returns ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric_cols = [c for c in df.columns if c not in COST_COLUMNS]
    directions = df.attrs.get("higher_is_better", {})
    if quality is None:
        qualities = [c for c in DEFAULT_CHART_METRICS if c in df.columns] or metric_cols[:1]
    else:
        qualities = [quality] if isinstance(quality, str) else list(quality)
    missing = [q for q in qualities if q not in df.columns]
    if not qualities or missing:
        raise ValueError(f"no quality column {(missing or [None])[0]!r} to plot "
                         f"(columns: {', '.join(map(str, df.columns))})")
    panels = [c for c in costs if c in df.columns and df[c].notna().any()]
    if not panels:
        raise ValueError(f"none of the cost columns {list(costs)} has values")
    fig, axes = plt.subplots(len(qualities), len(panels), figsize=(4.2 * len(panels), 3.2 * len(qualities)),
                             squeeze=False)
    labels = {"gflops_per_clip": "GFLOPs per clip (measured)", "latency_ms_per_clip": "ms per clip (median)"}
    for row_axes, metric in zip(axes, qualities):
        for ax, cost in zip(row_axes, panels):
            sub = df[[cost, metric]].dropna()
            ax.scatter(sub[cost], sub[metric], color="tab:blue")
            for strategy, row in sub.iterrows():
                ax.annotate(str(strategy), (row[cost], row[metric]), textcoords="offset points", xytext=(4, 4),
                            fontsize=8)
            ax.set_xlabel(labels.get(cost, cost))
            better = {True: " (higher is better)", False: " (lower is better)"}.get(directions.get(metric), "")
            ax.set_ylabel(metric + better)
            ax.grid(True, alpha=0.3)
    fig.suptitle(f"Reference video DiT: {', '.join(qualities)} versus cost by attention strategy", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
