"""Markdown reports: number formatting, tables, and the run / comparison documents.

Markdown is text only (GitHub and CI job summaries do not show ``data:`` images); the charts and filmstrips live in
the HTML report next to it.
"""

from __future__ import annotations

import math
import unicodedata
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


#: Markdown's own characters in user text, backslash-escaped, so no code span can be opened.
_MD_ESCAPES = str.maketrans({"\\": "\\\\", "`": "\\`"})


def md_text(text: Any) -> str:
    """User text (prompts, run names, suite names, paths, errors) made inert in Markdown: one line, no raw HTML
    (``&``, ``<`` and ``>`` as entities), no code spans (backticks escaped), no links or images (``](`` and a
    leading ``[`` escaped, so neither an inline link nor a link definition can form)."""
    text = _inline(text)
    return "\\" + text if text.startswith("[") else text


def _inline(text: Any) -> str:
    text = " ".join(str(text).split()).translate(_MD_ESCAPES).replace("](", "]\\(")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    """Markdown-safe cell: one line, no raw HTML, code span or inline link, escaped pipes (a table cell cannot hold
    a link definition, so a leading ``[`` stays as it is)."""
    return _inline(text).replace("|", "\\|")


def display_width(text: str) -> int:
    """Terminal columns of ``text``: wide East Asian characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None, *,
                   pad: bool = False) -> str:
    """A GitHub table; ``align`` holds ``"l"`` or ``"r"`` per column (default: first left, the rest right).
    ``pad`` aligns the columns in the text itself (for a terminal; the rendered table is the same)."""
    align = list(align or ["l"] + ["r"] * (len(header) - 1))
    cells = [[_cell(h) for h in header], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(3, *(display_width(r[j]) for r in cells)) if pad else 0 for j in range(len(header))]

    def line(row: list[str]) -> str:
        fitted = [c + " " * (w - display_width(c)) if a == "l" else " " * (w - display_width(c)) + c
                  for c, w, a in zip(row, widths, align)]
        return "| " + " | ".join(fitted) + " |"

    rule = "|" + "|".join((":" + "-" * (w + 1) if a == "l" else "-" * (w + 1) + ":") if pad else
                          (":---" if a == "l" else "---:") for a, w in zip(align, widths)) + "|"
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def table_width(table: str) -> int:
    """The widest line of a (Markdown) text, in terminal columns."""
    return max((display_width(line) for line in table.splitlines()), default=0)


# -- toy models ------------------------------------------------------------------------------------------------------
#: Said wherever a number may come from a toy model; "toy" marks each such number or metric.
TOY_BANNER = ("Numbers marked toy come from toy models trained on the synthetic world; not comparable to published "
              "numbers")
TOY_MARK = "(toy)"


def toy_banner_lines(descriptions: Sequence[str]) -> list[str]:
    """The Markdown banner (a quote block) naming the toy models, or nothing when there are none."""
    if not descriptions:
        return []
    return [f"> **Toy models.** {TOY_BANNER}.", ">", *[f"> - {md_text(d)}" for d in descriptions], ""]


def arrow(higher_is_better: bool | None) -> str:
    return "" if higher_is_better is None else ("↑" if higher_is_better else "↓")


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


def clip_text(text: Any, width: int) -> str:
    """``text`` cut to ``width`` terminal columns with an ellipsis when longer."""
    text = " ".join(str(text).split())
    if display_width(text) <= width:
        return text
    while display_width(text) > width - 1:
        text = text[:-1]
    return text + "…"


def clip_middle(text: Any, width: int) -> str:
    """``text`` cut in the middle to ``width`` columns (``synthetic(def…ength=0.5)``): run names often differ only
    at the end."""
    text = " ".join(str(text).split())
    if display_width(text) <= width:
        return text
    head, tail = text[: len(text) // 2], text[len(text) // 2:]
    while display_width(head) + display_width(tail) > width - 1:
        if display_width(head) > display_width(tail):
            head = head[:-1]
        else:
            tail = tail[1:]
    return head + "…" + tail


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
    fixed_header = ["rank", "run", "mean rank"]
    labels = run_labels(list(df["run"]))
    fixed = [[fmt_rank(r.get("rank")), labels[i], fmt_rank(r.get("mean_rank"))]
             for i, (_, r) in enumerate(df.iterrows())]

    def table(chunk: list[tuple[str, list[str]]]) -> str:
        rows = [[*f, *(cells[i] for _, cells in chunk)] for i, f in enumerate(fixed)]
        return markdown_table([*fixed_header, *(h for h, _ in chunk)], rows, ["r", "l", "r", *["r"] * len(chunk)],
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


def ranking_markdown(df: pd.DataFrame, width: int = 120) -> str:
    """The short final ranking: rank, run, mean rank and each metric family's mean rank (what the rank orders)."""
    families = [c for c in df.columns if c.startswith("family_rank[")]
    header = ["rank", "run", "mean rank", *[c[len("family_rank["):-1] for c in families]]
    labels = run_labels(list(df["run"]))
    rows = [[fmt_rank(r.get("rank")), labels[i], fmt_rank(r.get("mean_rank")), *[fmt_rank(r.get(c)) for c in families]]
            for i, (_, r) in enumerate(df.iterrows())]
    text = markdown_table(header, rows, ["r", "l", *["r"] * (len(header) - 2)], pad=True)
    return text if table_width(text) <= width else markdown_table(header[:3], [r[:3] for r in rows],
                                                                  ["r", "l", "r"], pad=True)


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
    "TOY_BANNER", "TOY_MARK", "arrow", "attention_cells", "attention_markdown", "clip_middle", "clip_text",
    "comparison_markdown", "dimension_markdown", "display_width", "fmt_interval", "fmt_number", "fmt_rank",
    "frame_markdown", "leaderboard_markdown", "markdown_table", "md_text", "quality_cost_flat",
    "ranking_markdown", "run_labels", "run_markdown", "run_summary_lines", "short_metric_names", "table_width",
    "toy_banner_lines",
]
