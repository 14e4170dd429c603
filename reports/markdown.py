"""Markdown reports: number formatting, tables, and the run / comparison documents.

Markdown is text only (GitHub and CI job summaries do not show ``data:`` images); the charts and filmstrips live in
the HTML report next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from reports.leaderboard import dimension_column, leaderboard_metrics
from reports.tables import Run, dimension_table


def fmt_number(x: Any) -> str:
    """A compact, readable number: integers as they are (thousands separated from 10,000); floats with 3 significant
    digits below 0.001, 4 decimals below 10, 2 below 1000, 1 below 1e5, else 4 significant digits."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}" if abs(int(x)) >= 10_000 else str(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-" if x is None else str(x)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    a = abs(v)
    if a == 0:
        return "0"
    if a < 1e-3:
        return f"{v:.3g}"
    if a < 10:
        return f"{v:.4f}"
    if a < 1000:
        return f"{v:.2f}"
    if a < 1e5:
        return f"{v:.1f}"
    return f"{v:.4g}"


def fmt_rank(x: Any) -> str:
    """A rank as an integer, a mean rank with 2 decimals, ``-`` when missing."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(v):
        return "-"
    return str(int(v)) if v == int(v) else f"{v:.2f}"


def fmt_interval(value: Any, low: Any = None, high: Any = None) -> str:
    """``0.367 [0.196, 0.587]``, or the value alone when there is no interval."""
    text = fmt_number(value)
    try:
        lo, hi = float(low), float(high)
    except (TypeError, ValueError):
        return text
    if math.isnan(lo) or math.isnan(hi):
        return text
    return f"{text} [{fmt_number(lo)}, {fmt_number(hi)}]"


def md_text(text: Any) -> str:
    """User text (prompts, run names, errors) made inert in Markdown: one line, no raw HTML tags."""
    return " ".join(str(text).split()).replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    """Markdown-safe cell: one line, no raw HTML, escaped pipes."""
    return md_text(text).replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    """A GitHub table; ``align`` holds ``"l"`` or ``"r"`` per column (default: first left, the rest right)."""
    align = list(align or ["l"] + ["r"] * (len(header) - 1))
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def arrow(higher_is_better: bool | None) -> str:
    return "" if higher_is_better is None else ("↑" if higher_is_better else "↓")


# -- leaderboard --------------------------------------------------------------------------------------------------
def leaderboard_markdown(df: pd.DataFrame) -> str:
    """Rank, run and each metric as ``value [ci95]`` (the best value of each metric in bold)."""
    metrics = leaderboard_metrics(df)
    directions = df.attrs.get("higher_is_better", {})
    header = ["rank", "run", *[f"{m} {arrow(directions.get(m))}".strip() for m in metrics], "mean rank"]
    rows = []
    for _, r in df.iterrows():
        cells = [fmt_rank(r.get("rank")), r["run"]]
        for m in metrics:
            text = fmt_interval(r.get(m), r.get(f"{m}_ci95_low"), r.get(f"{m}_ci95_high"))
            best = r.get(f"{m}_rank") == 1 and pd.notna(r.get(m))
            cells.append(f"**{text}**" if best and len(df) > 1 else text)
        cells.append(fmt_rank(r.get("mean_rank")))
        rows.append(cells)
    return markdown_table(header, rows, ["r", "l", *["r"] * (len(header) - 2)])


def dimension_markdown(df: pd.DataFrame, metric: str) -> str | None:
    """Runs by dimensions of one metric (values only), or ``None`` when the metric has no dimensions."""
    dims = (df.attrs.get("dimensions") or {}).get(metric) or sorted(
        c[len(metric) + 1:-1] for c in df.columns if c.startswith(f"{metric}[") and c.endswith("]"))
    if not dims:
        return None
    rows = [[r["run"], *[fmt_number(r.get(dimension_column(metric, d))) for d in dims]] for _, r in df.iterrows()]
    return markdown_table(["run", *dims], rows)


# -- a single run ------------------------------------------------------------------------------------------------
def run_summary_lines(run: Run) -> list[str]:
    res = run.results
    suite = res.get("suite") or {}
    counts = res.get("counts") or {}
    prov = res.get("provenance") or {}
    lines = [f"- Generator: `{run.generator}`"]
    if suite:
        lines.append(f"- Suite: `{suite.get('name')}` {suite.get('version', '')} "
                     f"(sha256 `{str(suite.get('sha256', ''))[:16]}`, {suite.get('n_prompts', '?')} prompts)")
    if counts:
        lines.append(f"- Videos: {counts.get('scored_videos', '?')} scored of {counts.get('videos', '?')}, "
                     f"{counts.get('failed_videos', 0)} failed")
    when = prov.get("finished") or prov.get("started")
    if when:
        lines.append(f"- Scored: {when}, vbench-lite {(prov.get('packages') or {}).get('vbench-lite', '?')}, "
                     f"commit `{prov.get('git_commit') or 'unknown'}`, seed {prov.get('seed')}")
    for key, value in (prov.get("weights") or {}).items():
        lines.append(f"- Weights `{key}`: `{value}`")
    for key, value in (prov.get("protocols") or {}).items():
        lines.append(f"- Protocol `{key}`: `{value}`")
    if res.get("reference"):
        lines.append(f"- Reference: `{res['reference']}`")
    return lines


def run_markdown(run: Run) -> str:
    """The Markdown report of one run: summary, metrics, dimensions, categories, failures."""
    parts = [f"# vbench-lite report: {md_text(run.name)}", "", *run_summary_lines(run), "", "## Metrics", ""]
    rows = []
    for name, entry in run.metrics.items():
        ci = entry.get("ci95") or [None, None]
        rows.append([name, "higher" if entry.get("higher_is_better", True) else "lower",
                     fmt_number(entry.get("value")), f"[{fmt_number(ci[0])}, {fmt_number(ci[1])}]"
                     if entry.get("ci95") else "-", str(entry.get("n", ""))])
    parts += [markdown_table(["metric", "better", "value", "95% CI", "n"], rows, ["l", "l", "r", "r", "r"])
              if rows else "No metric was computed.", ""]
    for by, title in (("by_dimension", "By dimension"), ("by_category", "By category")):
        table = group_markdown(run, by)
        if table:
            parts += [f"## {title}", "", "Mean per-video value of the prompts tagged with each group "
                      "(n videos); set-level metrics such as FVD have none.", "", table, ""]
    parts += failures_markdown(run)
    parts += ["Per-video values: `per_video.csv`. Charts and filmstrips of every clip: `report.html`.", ""]
    return "\n".join(parts)


def group_markdown(run: Run, by: str) -> str | None:
    df = dimension_table([run], by)
    if df.empty:
        return None
    metrics = list(dict.fromkeys(df["metric"]))
    groups = sorted(dict.fromkeys(df["group"]))
    table = df.set_index(["group", "metric"])
    rows = []
    for g in groups:
        cells = [g]
        n = ""
        for m in metrics:
            if (g, m) in table.index:
                entry = table.loc[(g, m)]
                cells.append(fmt_number(entry["value"]))
                n = str(int(entry["n"]))
            else:
                cells.append("-")
        rows.append([*cells, n])
    return markdown_table([by.removeprefix("by_"), *metrics, "n"], rows)


def failures_markdown(run: Run, most: int = 50) -> list[str]:
    failures = run.results.get("failures") or []
    if not failures:
        return []
    rows = [[f.get("stage", ""), f.get("prompt_id") or "", f.get("error", "")] for f in failures[:most]]
    out = ["## Failures", "", markdown_table(["stage", "prompt", "error"], rows, ["l", "l", "l"]), ""]
    if len(failures) > most:
        out += [f"... and {len(failures) - most} more (see `results.json`).", ""]
    return out


# -- a comparison --------------------------------------------------------------------------------------------------
def comparison_markdown(runs: Sequence[Run], leaderboard: pd.DataFrame, *, title: str,
                        attention: pd.DataFrame | None = None, quality_cost: pd.DataFrame | None = None,
                        notes: Sequence[str] = ()) -> str:
    parts = [f"# {md_text(title)}", ""]
    for note in [*notes, *leaderboard.attrs.get("notes", [])]:
        parts.append(f"> note: {md_text(note)}")
    if notes or leaderboard.attrs.get("notes"):
        parts.append("")
    parts += ["## Leaderboard", "", "Each metric: mean [95% bootstrap CI]; ↑ higher is better, ↓ lower is better. "
              "Rank 1 is best; the overall rank orders the mean over metric families of each family's mean rank.", "",
              leaderboard_markdown(leaderboard), ""]
    for m in leaderboard_metrics(leaderboard):
        table = dimension_markdown(leaderboard, m)
        if table:
            parts += [f"### {m} by dimension", "", table, ""]
    if attention is not None and not attention.empty:
        parts += ["## Attention cost", "", attention_markdown(attention), ""]
    if quality_cost is not None and not quality_cost.empty:
        parts += ["## Quality versus cost", "", frame_markdown(quality_cost_flat(quality_cost)), ""]
    parts += ["## Runs", ""]
    for run in runs:
        parts += [f"### {md_text(run.name)}", "", f"- Folder: `{run.path}`", *run_summary_lines(run), ""]
    return "\n".join(parts)


def quality_cost_flat(df: pd.DataFrame) -> pd.DataFrame:
    """A quality-vs-cost table with its index as a column and the quality (metric) columns right after it, then the
    headline costs, then the rest."""
    flat = df.reset_index() if df.index.name or not isinstance(df.index, pd.RangeIndex) else df.copy()
    headline = ["gflops_per_clip", "latency_ms_per_clip", "params", "tokens"]
    try:
        from reference_models.compare_strategies import COST_COLUMNS as cost_columns
    except ImportError:
        cost_columns = (*headline, "config", "forward_flops", "attention_core_flops", "sampler_steps",
                        "flops_per_clip", "threads")
    key = list(flat.columns[:1])
    quality = [c for c in flat.columns[1:] if c not in cost_columns]
    costs = [c for c in headline if c in flat.columns] + [c for c in flat.columns[1:] if c in cost_columns
                                                          and c not in headline]
    return flat[key + quality + costs]


def frame_markdown(df: pd.DataFrame) -> str:
    """Any small DataFrame as a Markdown table with formatted numbers."""
    rows = [[fmt_number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else ("-" if v is None else v)
             for v in row] for row in df.itertuples(index=False)]
    return markdown_table([str(c) for c in df.columns], rows)


def attention_markdown(df: pd.DataFrame) -> str:
    """The attention sweep table, formatted by the attention lab's own formatter when it is available."""
    table = attention_cells(df)
    return markdown_table(*table) if table else frame_markdown(df)


def attention_cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]]] | None:
    """Header and cells from ``metrics.attention_measure.format_rows``; ``None`` when that cannot format ``df``."""
    try:
        from metrics.attention_measure import format_rows
    except ImportError:
        return None
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
               for r in df.to_dict(orient="records")]
    try:
        return format_rows(records)
    except (KeyError, TypeError, ValueError):
        return None


__all__ = [
    "arrow", "attention_cells", "attention_markdown", "comparison_markdown", "dimension_markdown", "fmt_interval",
    "fmt_number", "fmt_rank", "frame_markdown", "leaderboard_markdown", "markdown_table", "md_text",
    "quality_cost_flat", "run_markdown", "run_summary_lines",
]
