"""Markdown reports: the leaderboard, run and comparison documents (text primitives: :mod:`reports.text`).

Markdown is text only (GitHub and CI job summaries do not show ``data:`` images); the charts and filmstrips live in
the HTML report next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from reports.attention_report import format_rows
from reports.leaderboard import dimension_column, leaderboard_metrics
from reports.quality_cost import COST_COLUMNS
from reports.tables import Run, dimension_table
from reports.text import (
    TOY_MARK,
    arrow,
    clip_middle,
    clip_text,
    display_width,
    fmt_interval,
    fmt_number,
    fmt_rank,
    markdown_table,
    md_text,
    table_width,
    toy_banner_lines,
)

# -- leaderboard --------------------------------------------------------------------------------------------------
#: Short column names for the leaderboard table, so that it fits a laptop terminal (each table says what they mean).
METRIC_ABBREVIATIONS = {
    "clip_similarity": "clip_sim", "clip_consistency": "clip_cons", "temporal_flicker": "flicker",
    "motion_smoothness": "smoothness", "warping_error": "warp_err", "dynamic_degree": "dynamic",
    "subject_consistency": "subject", "background_consistency": "background", "aesthetic_quality": "aesthetic",
    "imaging_quality": "imaging", "multiple_objects": "multi_obj", "spatial_relationship": "spatial",
    "appearance_style": "app_style", "temporal_style": "temp_style", "overall_consistency": "overall",
}
#: Widest metric name and run name shown as they are in the leaderboard table.
NAME_WIDTH, RUN_WIDTH = 12, 24


def run_labels(names: Sequence[Any]) -> list[str]:
    """Run names fit for a table column of :data:`RUN_WIDTH`; all in full when cutting would make two alike."""
    cut = [clip_middle(n, RUN_WIDTH) for n in names]
    return cut if len(set(cut)) == len(set(map(str, names))) else [" ".join(str(n).split()) for n in names]


def short_metric_names(metrics: Sequence[str]) -> dict[str, str]:
    """A short, unique column name for each metric: itself when short enough, else its abbreviation, else cut."""
    short = {m: m if len(m) <= NAME_WIDTH else METRIC_ABBREVIATIONS.get(m, clip_text(m, NAME_WIDTH))
             for m in metrics}
    clashes = {v for v in short.values() if list(short.values()).count(v) > 1}
    return {m: (m if v in clashes else v) for m, v in short.items()}


def _toy_marks(df: pd.DataFrame, metric: str) -> tuple[bool, set[str]]:
    """Whether the column of ``metric`` is marked toy, and the runs whose own cell must say so (when only some runs
    used a toy model for it)."""
    toy_runs = set((df.attrs.get("toy") or {}).get(metric) or {})
    if not toy_runs:
        return False, set()
    with_value = {str(r["run"]) for _, r in df.iterrows() if pd.notna(r.get(metric))}
    return True, (toy_runs if with_value - toy_runs else set())


def leaderboard_markdown(df: pd.DataFrame, *, intervals: bool = True, width: int = 120) -> str:
    """Rank, run, mean rank and each metric (``value [ci95]``, or the value alone without ``intervals``; the best
    value of each metric in bold), folded into several tables when one would be wider than ``width`` columns.
    Long metric names are abbreviated (a line under the tables spells them out), long run names cut; metrics
    computed with a toy model are marked ``(toy)``."""
    metrics = leaderboard_metrics(df)
    directions = df.attrs.get("higher_is_better", {})
    short = short_metric_names(metrics)
    columns: list[tuple[str, list[str]]] = []  # (header, one cell per row) of each metric
    for m in metrics:
        column_toy, toy_cells = _toy_marks(df, m)
        header = " ".join(t for t in (short[m], arrow(directions.get(m)), TOY_MARK if column_toy else "") if t)
        cells = []
        for _, r in df.iterrows():
            text = fmt_interval(r.get(m), r.get(f"{m}_ci95_low"), r.get(f"{m}_ci95_high")) if intervals else \
                fmt_number(r.get(m))
            best = r.get(f"{m}_rank") == 1 and pd.notna(r.get(m)) and len(df) > 1
            text = f"**{text}**" if best else text
            cells.append(f"{text} {TOY_MARK}" if str(r["run"]) in toy_cells else text)
        columns.append((header, cells))
    scored = _has_score(df)  # the overall score orders the ranking: show it beside the mean rank
    fixed_header = ["rank", "run", *(["score"] if scored else []), "mean rank"]
    labels = run_labels(list(df["run"]))
    fixed = [[fmt_rank(r.get("rank")), labels[i], *([fmt_score(r.get("score"))] if scored else []),
              fmt_rank(r.get("mean_rank"))] for i, (_, r) in enumerate(df.iterrows())]
    fixed_align = ["r", "l", *(["r"] if scored else []), "r"]

    def table(chunk: list[tuple[str, list[str]]]) -> str:
        rows = [[*f, *(cells[i] for _, cells in chunk)] for i, f in enumerate(fixed)]
        return markdown_table([*fixed_header, *(h for h, _ in chunk)], rows, [*fixed_align, *["r"] * len(chunk)],
                              pad=True)

    tables: list[str] = []
    chunk: list[tuple[str, list[str]]] = []
    for column in columns:
        if chunk and table_width(table([*chunk, column])) > width:
            tables.append(table(chunk))
            chunk = []
        chunk.append(column)
    tables.append(table(chunk))
    legend = [f"{v} = {m}" for m, v in short.items() if v != m]
    if legend:
        tables.append(_wrap_pairs("Columns:", legend, width))
    return "\n\n".join(tables)


def _wrap_pairs(lead: str, items: Sequence[str], width: int) -> str:
    """``lead item, item, ...`` wrapped at ``width`` between items, never inside one (``a = b`` stays whole)."""
    lines, line = [], lead
    for i, item in enumerate(items):
        piece = item + ("." if i == len(items) - 1 else ",")
        if display_width(line) + 1 + display_width(piece) > width and line != lead:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}"
    return "\n".join([*lines, line])


#: Shorter family names in the final ranking, so that every family fits in a terminal's 120 columns.
RANKING_LABELS = {"text_alignment": "text", "temporal_consistency": "temporal"}


def ranking_markdown(df: pd.DataFrame, width: int = 120) -> str:
    """The short final ranking: rank, run, mean rank and each metric family's mean rank (what the rank orders)."""
    families = [c for c in df.columns if c.startswith("family_rank[")]
    scored = _has_score(df)
    lead = ["rank", "run", *(["score"] if scored else []), "mean rank"]
    names = [c[len("family_rank["):-1] for c in families]
    header = [*lead, *[RANKING_LABELS.get(n, n) for n in names]]
    labels = run_labels(list(df["run"]))
    rows = [[fmt_rank(r.get("rank")), labels[i], *([fmt_score(r.get("score"))] if scored else []),
             fmt_rank(r.get("mean_rank")), *[fmt_rank(r.get(c)) for c in families]]
            for i, (_, r) in enumerate(df.iterrows())]
    # Too wide for the terminal: drop family columns from the right, never the rank, run, score or mean rank.
    for n in range(len(header), len(lead) - 1, -1):
        text = markdown_table(header[:n], [r[:n] for r in rows], ["r", "l", *["r"] * (n - 2)], pad=True)
        if table_width(text) <= width:
            break
    return text


def _has_score(df: pd.DataFrame) -> bool:
    return "score" in df.columns and bool(df["score"].notna().any())


def fmt_score(value: Any) -> str:
    """The overall score (0-100, higher is better) to one decimal; an empty cell when there is none."""
    return "" if value is None or pd.isna(value) else f"{float(value):.1f}"


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
    """Generator, suite, counts, provenance of a run as Markdown list items; every value read from results.json is
    user text (a shared file may hold anything), so it goes out escaped or as a code span."""
    res = run.results
    suite = res.get("suite") or {}
    counts = res.get("counts") or {}
    prov = res.get("provenance") or {}
    lines = [f"- Generator: {md_text(run.generator)}"]
    if suite:
        lines.append(f"- Suite: {md_text(suite.get('name'))} {md_text(suite.get('version', ''))} "
                     f"(sha256 {md_text(str(suite.get('sha256', ''))[:16])}, "
                     f"{md_text(suite.get('n_prompts', '?'))} prompts)")
    if counts:
        lines.append(f"- Videos: {md_text(counts.get('scored_videos', '?'))} scored of "
                     f"{md_text(counts.get('videos', '?'))}, {md_text(counts.get('failed_videos', 0))} failed")
    when = prov.get("finished") or prov.get("started")
    if when:
        lines.append(f"- Scored: {md_text(when)}, vbench-lite "
                     f"{md_text((prov.get('packages') or {}).get('vbench-lite', '?'))}, "
                     f"commit {md_text(prov.get('git_commit') or 'unknown')}, seed {md_text(prov.get('seed'))}")
    for key, value in (prov.get("weights") or {}).items():
        lines.append(f"- Weights {md_text(key)}: {md_text(value)}")
    for key, value in (prov.get("protocols") or {}).items():
        lines.append(f"- Protocol {md_text(key)}: {md_text(value)}")
    if res.get("reference"):
        lines.append(f"- Reference: {md_text(res['reference'])}")
    return lines


def run_markdown(run: Run) -> str:
    """The Markdown report of one run: summary, toy-model banner, metrics, dimensions, categories, failures."""
    parts = [f"# vbench-lite report: {md_text(run.name)}", "", *toy_banner_lines(run.toy_descriptions),
             *run_summary_lines(run), "", "## Metrics", ""]
    rows = []
    toy = run.toy_models
    for name, entry in run.metrics.items():
        ci = entry.get("ci95") or [None, None]
        rows.append([f"{name} {TOY_MARK}" if name in toy else name,
                     "higher" if entry.get("higher_is_better", True) else "lower",
                     fmt_number(entry.get("value")), f"[{fmt_number(ci[0])}, {fmt_number(ci[1])}]"
                     if entry.get("ci95") else "-", str(entry.get("n", ""))])
    parts += [markdown_table(["metric", "better", "value", "95% CI", "n"], rows, ["l", "l", "r", "r", "r"])
              if rows else "No metric was computed.", ""]
    for by, title in (("by_dimension", "By dimension"), ("by_category", "By category")):
        table = group_markdown(run, by)
        if table:
            parts += [f"## {title}", "", "Mean per-video value of the prompts tagged with each group "
                      "(n videos); set-level metrics such as FVD have none.", "", table, ""]
    if run.metric_notes:
        parts += ["## Notes", "", *[f"- {md_text(note)}" for note in run.metric_notes], ""]
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
    parts = [f"# {md_text(title)}", "", *toy_banner_lines(leaderboard.attrs.get("toy_descriptions") or [])]
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
            parts += [f"### {md_text(m)} by dimension", "", table, ""]
    if attention is not None and not attention.empty:
        parts += ["## Attention cost", "", attention_markdown(attention), ""]
    if quality_cost is not None and not quality_cost.empty:
        parts += ["## Quality versus cost", "", frame_markdown(quality_cost_flat(quality_cost)), ""]
    parts += ["## Runs", ""]
    for run in runs:
        parts += [f"### {md_text(run.name)}", "", f"- Folder: {md_text(run.path)}", *run_summary_lines(run), ""]
    return "\n".join(parts)


def quality_cost_flat(df: pd.DataFrame) -> pd.DataFrame:
    """A quality-vs-cost table with its index as a column and the quality (metric) columns right after it, then the
    headline costs, then the rest."""
    flat = df.reset_index() if df.index.name or not isinstance(df.index, pd.RangeIndex) else df.copy()
    headline = ["gflops_per_clip", "latency_ms_per_clip", "params", "tokens"]
    key = list(flat.columns[:1])
    quality = [c for c in flat.columns[1:] if c not in COST_COLUMNS]
    costs = [c for c in headline if c in flat.columns] + [c for c in flat.columns[1:] if c in COST_COLUMNS
                                                          and c not in headline]
    return flat[key + quality + costs]


def frame_markdown(df: pd.DataFrame) -> str:
    """Any small DataFrame as a Markdown table with formatted numbers."""
    rows = [[fmt_number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else ("-" if v is None else v)
             for v in row] for row in df.itertuples(index=False)]
    return markdown_table([str(c) for c in df.columns], rows)


def attention_markdown(df: pd.DataFrame) -> str:
    """The attention sweep table, formatted like the sweep's own report when its columns allow."""
    table = attention_cells(df)
    return markdown_table(*table) if table else frame_markdown(df)


def attention_cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]]] | None:
    """Header and cells from :func:`reports.attention_report.format_rows`; ``None`` when that cannot format ``df``."""
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
               for r in df.to_dict(orient="records")]
    try:
        return format_rows(records)
    except (KeyError, TypeError, ValueError):
        return None


__all__ = [
    "attention_cells", "attention_markdown", "comparison_markdown", "dimension_markdown", "frame_markdown",
    "leaderboard_markdown", "quality_cost_flat", "ranking_markdown", "run_labels", "run_markdown",
    "run_summary_lines", "short_metric_names",
]
