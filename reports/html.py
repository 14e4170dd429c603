"""Single-file HTML reports: inline CSS, charts and filmstrips as base64 images, no network needed to view.

Templates live in ``reports/templates`` and are rendered by jinja2 with autoescaping on, so every piece of user text
(prompts, run names, generator arguments, error messages) is escaped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports import plots
from reports.filmstrip import clip_path, filmstrip_data_uri, no_filmstrip
from reports.leaderboard import leaderboard_metrics
from reports.markdown import attention_cells, quality_cost_flat
from reports.tables import Run, dimension_table, value_columns
from reports.text import TOY_BANNER, arrow, fmt_interval, fmt_number, fmt_rank
from vbench_lite.results import now_iso

TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_number
    env.filters["wbr"] = _word_breaks
    return env


def _word_breaks(text: Any):
    """Escaped text with a line-break opportunity after each underscore (long metric names in table headers)."""
    from markupsafe import Markup, escape

    return Markup(str(escape(text)).replace("_", "_<wbr>"))


def render(template: str, **context: Any) -> str:
    from vbench_lite import __version__

    context.setdefault("version", __version__)
    context.setdefault("generated", now_iso())
    context.setdefault("notes", [])
    context.setdefault("toy", [])
    context.setdefault("toy_banner", TOY_BANNER)
    context.setdefault("subtitle", "")
    return environment().get_template(template).render(**context)


# -- pieces shared by both reports ---------------------------------------------------------------------------------
def provenance_items(run: Run) -> list[tuple[str, str]]:
    res = run.results
    prov = res.get("provenance") or {}
    items: list[tuple[str, str]] = [("results", str(run.results_path)), ("generator", run.generator)]
    suite = res.get("suite") or {}
    if suite:
        items.append(("suite", f"{suite.get('name')} {suite.get('version', '')} sha256 {suite.get('sha256')}"))
    for key in ("git_commit", "seed", "device", "torch_threads", "python", "platform", "started", "finished",
                "world_size"):
        if prov.get(key) is not None:
            items.append((key, str(prov[key])))
    for bucket in ("weights", "protocols"):
        for key, value in (prov.get(bucket) or {}).items():
            items.append((f"{bucket}: {key}", str(value)))
    packages = prov.get("packages") or {}
    if packages:
        items.append(("packages", ", ".join(f"{k} {v}" for k, v in packages.items() if v)))
    if prov.get("score_settings"):
        items.append(("score settings", json.dumps(prov["score_settings"], sort_keys=True)))
    if prov.get("command"):
        items.append(("command", " ".join(map(str, prov["command"]))))
    if res.get("reference"):
        items.append(("reference", str(res["reference"])))
    return items


def _clip_values(row: dict[str, Any], columns: Sequence[str], directions: dict[str, bool]) -> list[tuple[str, str]]:
    out = []
    for col in columns:
        v = row.get(col)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out.append((f"{col}{arrow(directions.get(col)) and ' ' + arrow(directions.get(col))}", fmt_number(v)))
    return out


def _clip_card(run: Run, row: dict[str, Any], columns: Sequence[str], directions: dict[str, bool], *,
               heading: str, meta: str, max_height: int) -> dict[str, Any]:
    path = clip_path(run.path, row)
    img = filmstrip_data_uri(path, max_height=max_height) if path else no_filmstrip("clip file not found")
    failed = str(row.get("status", "ok")) != "ok"
    return {"heading": heading, "meta": meta, "img": img, "alt": f"frames of {row.get('text', '')}",
            "vals": _clip_values(row, columns, directions), "failed": failed,
            "error": str(row.get("error") or "") if failed else ""}


def _directions(run: Run) -> dict[str, bool]:
    return {m: bool(e.get("higher_is_better", True)) for m, e in run.metrics.items() if isinstance(e, dict)}


def spread_pick(n_total: int, n_pick: int) -> list[int]:
    """``n_pick`` indices spread evenly over ``range(n_total)`` (all of them when there are few)."""
    if n_total <= n_pick:
        return list(range(n_total))
    return sorted(set(np.linspace(0, n_total - 1, n_pick).round().astype(int).tolist()))


# -- one run ---------------------------------------------------------------------------------------------------------
def run_html(run: Run, *, max_clips: int = 120, strip_height: int = 128, notes: Sequence[str] = ()) -> str:
    """The HTML report of one run: summary, metrics, per-video and per-dimension charts, failures, filmstrips."""
    res = run.results
    counts = res.get("counts") or {}
    suite = res.get("suite") or {}
    metrics = [{"name": m, "arrow": arrow(e.get("higher_is_better", True)),
                "direction": "higher is better" if e.get("higher_is_better", True) else "lower is better",
                "value": fmt_number(e.get("value")),
                "ci": f"[{fmt_number(e['ci95'][0])}, {fmt_number(e['ci95'][1])}]" if e.get("ci95") else "-",
                "n": e.get("n", ""), "toy": e.get("toy_model") or ""}
               for m, e in run.metrics.items() if isinstance(e, dict)]
    settings: dict[str, list[str]] = {}  # one block per distinct settings, naming the metrics that share it
    for m, e in run.metrics.items():
        if isinstance(e, dict) and e.get("settings"):
            settings.setdefault(json.dumps(e["settings"], indent=2, sort_keys=True), []).append(m)
    stats = [("generator", run.generator, True),
             ("suite", f"{suite.get('name', '-')} {suite.get('version', '')}".strip(), True),
             ("videos scored", f"{counts.get('scored_videos', '?')} / {counts.get('videos', '?')}", False),
             ("failed", str(counts.get("failed_videos", 0)), False),
             ("metrics", str(len(metrics)), False)]
    per_video = run.per_video
    per_video_chart = plots.per_video_chart(per_video, run.metrics) if per_video is not None else None
    dimension_charts = []
    for m, e in run.metrics.items():
        if isinstance(e, dict) and e.get("by_dimension"):
            uri = plots.group_chart(e["by_dimension"], m, bool(e.get("higher_is_better", True)), e.get("value"))
            if uri:
                dimension_charts.append(("", uri))
    cat = dimension_table([run], "by_category")
    category_table = None
    if not cat.empty:
        pivot = cat.pivot_table(index="group", columns="metric", values="value", aggfunc="first", sort=False)
        ns = cat.groupby("group", sort=False)["n"].max()
        category_table = (["category", *pivot.columns, "n"],
                          [[g, *[fmt_number(v) for v in pivot.loc[g]], int(ns[g])] for g in pivot.index])
    failures = [[f.get("stage", ""), f.get("prompt_id") or "", f.get("error", "")]
                for f in (res.get("failures") or [])[:200]]
    clips, clips_note = [], "No per_video.csv in this run folder."
    if per_video is not None and len(per_video):
        directions = _directions(run)
        columns = value_columns(per_video)
        records = per_video.sort_values(["prompt_id", "sample"], kind="stable").to_dict(orient="records")
        chosen = spread_pick(len(records), max_clips)
        for i in chosen:
            row = records[i]
            meta = f"{row.get('prompt_id')} · sample {row.get('sample')} · {row.get('category', '')}"
            clips.append(_clip_card(run, row, columns, directions, heading=str(row.get("text", "")), meta=meta,
                                    max_height=strip_height))
        clips_note = (f"{len(chosen)} of {len(records)} clips, four frames each spread evenly over the clip, with "
                      "their per-video values." if len(chosen) < len(records) else
                      f"All {len(records)} clips, four frames each spread evenly over the clip, with their "
                      "per-video values.")
    toc = [("metrics", "Metrics")]
    toc += [("per-video", "Per-video")] if per_video_chart else []
    toc += [("dimensions", "Dimensions")] if dimension_charts else []
    toc += [("categories", "Categories")] if category_table else []
    toc += [("failures", f"Failures ({len(res.get('failures') or [])})")] if failures else []
    toc += [("clips", "Clips"), ("provenance", "Provenance")]
    return render("run.html.j2", title=f"vbench-lite report: {run.name}",
                  subtitle=f"{run.generator} on suite {suite.get('name', '?')}", toc=toc, stats=stats,
                  metrics=metrics, settings=[(", ".join(names), text) for text, names in settings.items()],
                  per_video_chart=per_video_chart, dimension_charts=dimension_charts,
                  category_table=category_table, failures=failures, clips=clips, clips_note=clips_note,
                  provenance_items=provenance_items(run), notes=[*notes, *run.metric_notes],
                  toy=run.toy_descriptions)


# -- a comparison ------------------------------------------------------------------------------------------------------
def _leaderboard_context(df: pd.DataFrame) -> dict[str, Any]:
    metrics = leaderboard_metrics(df)
    directions = df.attrs.get("higher_is_better") or {}
    toy = df.attrs.get("toy") or {}
    rows = []
    for _, r in df.iterrows():
        cells = []
        for m in metrics:
            value = r.get(m)
            has = value is not None and not (isinstance(value, float) and math.isnan(value))
            ci = fmt_interval(value, r.get(f"{m}_ci95_low"), r.get(f"{m}_ci95_high"))
            cells.append({"value": fmt_number(value), "ci": ci[len(fmt_number(value)):].strip() if has else "",
                          "rank": fmt_rank(r.get(f"{m}_rank")), "best": has and r.get(f"{m}_rank") == 1
                          and len(df) > 1, "toy": (toy.get(m) or {}).get(r["run"], "") if has else ""})
        anchor = r["run"] == df.attrs.get("anchor")
        rows.append({"rank": "anchor" if anchor else fmt_rank(r.get("rank")), "run": r["run"],
                     "generator": r.get("generator", ""), "cells": cells, "mean_rank": fmt_rank(r.get("mean_rank")),
                     "score": "" if anchor else fmt_score(r.get("score"))})
    return {"metrics": [{"name": m, "arrow": arrow(directions.get(m)), "toy": bool(toy.get(m))} for m in metrics],
            "rows": rows, "anchor": df.attrs.get("anchor"), "score_note": df.attrs.get("score_note")}


def fmt_score(value: Any) -> str:
    """The overall score with one decimal ("-" when missing)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(x) else f"{x:.1f}"


def _attention_context(attention: pd.DataFrame | None, csv_path: Path | None) -> dict[str, Any] | None:
    if attention is None or attention.empty:
        return None
    table = attention_cells(attention)
    if table is None:
        table = ([str(c) for c in attention.columns],
                 [[fmt_number(v) if isinstance(v, float) else v for v in row]
                  for row in attention.itertuples(index=False)])
    return {"plots": plots.attention_plots(attention, csv_path), "table": table}


def _quality_cost_context(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None or df.empty:
        return None
    flat = quality_cost_flat(df)
    table = ([str(c) for c in flat.columns],
             [[fmt_number(v) if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else
               ("-" if v is None else v) for v in row] for row in flat.itertuples(index=False)])
    return {"chart": plots.quality_cost_chart(df), "table": table}


def _comparison_prompts(runs: Sequence[Run], max_prompts: int, strip_height: int) -> tuple[list[dict], str]:
    order: dict[str, dict[str, Any]] = {}
    per_run: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        pv = run.per_video
        if pv is None or pv.empty:
            continue
        first = pv.sort_values(["prompt_id", "sample"], kind="stable").drop_duplicates("prompt_id")
        per_run[run.name] = {str(r["prompt_id"]): r for r in first.to_dict(orient="records")}
        for pid, r in per_run[run.name].items():
            order.setdefault(pid, r)
    if not order:
        return [], ""
    ids = list(order)
    chosen = [ids[i] for i in spread_pick(len(ids), max_prompts)]
    prompts = []
    for pid in chosen:
        info = order[pid]
        clips = []
        for run in runs:
            row = per_run.get(run.name, {}).get(pid)
            if row is None:
                clips.append({"heading": run.name, "meta": "", "img": no_filmstrip("no clip for this prompt"),
                              "alt": "", "vals": [], "failed": True, "error": ""})
                continue
            pv = run.per_video
            clips.append(_clip_card(run, row, value_columns(pv), _directions(run), heading=run.name,
                                    meta="", max_height=strip_height))
        prompts.append({"text": str(info.get("text", pid)), "meta": f"{pid} · {info.get('category', '')}",
                        "clips": clips})
    note = (f"{len(chosen)} of {len(ids)} prompts (spread over the suite); " if len(chosen) < len(ids) else
            f"All {len(ids)} prompts; ") + "sample 0 of each run, four frames spread evenly over the clip."
    return prompts, note


def _best_caption(df: pd.DataFrame, metric: str) -> str:
    best = df[(df[f"{metric}_rank"] == 1) & df[metric].notna()]["run"].tolist()
    if not best or len(best) == len(df):
        return ""
    return f"best: {', '.join(map(str, best))}"


def comparison_html(runs: Sequence[Run], leaderboard: pd.DataFrame, *, title: str,
                    attention: pd.DataFrame | None = None, attention_csv: Path | None = None,
                    quality_cost: pd.DataFrame | None = None, notes: Sequence[str] = (), max_prompts: int = 24,
                    strip_height: int = 96, calibration: dict[str, Any] | None = None) -> str:
    """The HTML comparison: leaderboard, per-metric and per-dimension charts, calibration (a
    ``reports.calibration.calibration_context``), attention cost, quality vs cost, per-prompt filmstrips of every run,
    provenance of every run."""
    metrics = leaderboard_metrics(leaderboard)
    metric_charts = [(_best_caption(leaderboard, m), uri) for m in metrics
                     if (uri := plots.metric_runs_chart(leaderboard, m))]
    dimension_charts = [("", uri) for m in metrics if (uri := plots.dimension_heatmap(leaderboard, m))]
    attention_ctx = _attention_context(attention, attention_csv)
    quality_ctx = _quality_cost_context(quality_cost)
    prompts, clips_note = _comparison_prompts(runs, max_prompts, strip_height)
    suites = sorted({str((r.results.get("suite") or {}).get("name")) for r in runs})
    best = leaderboard.iloc[0]["run"] if len(leaderboard) and leaderboard.iloc[0].get("rank") == 1 else "-"
    stats = [("runs", str(len(runs)), False), ("metrics", str(len(metrics)), False),
             ("suite", ", ".join(suites), True), ("top of the board", str(best), True)]
    toc = [("leaderboard", "Leaderboard")]
    toc += [("metrics", "Metrics")] if metric_charts else []
    toc += [("dimensions", "Dimensions")] if dimension_charts else []
    toc += [("calibration", "Calibration")] if calibration else []
    toc += [("attention", "Attention cost")] if attention_ctx else []
    toc += [("quality-cost", "Quality vs cost")] if quality_ctx else []
    toc += [("clips", "Clips")] if prompts else []
    toc += [("runs", "Runs")]
    all_notes = [*notes, *leaderboard.attrs.get("notes", [])]
    return render("comparison.html.j2", title=title, subtitle=f"{len(runs)} runs compared on "
                  f"{', '.join(suites)}", toc=toc, stats=stats, lb=_leaderboard_context(leaderboard),
                  metric_charts=metric_charts, dimension_charts=dimension_charts, attention=attention_ctx,
                  quality_cost=quality_ctx, prompts=prompts, clips_note=clips_note, notes=all_notes,
                  calibration=calibration,
                  runs=[{"name": r.name, "facts": run_facts(r), "provenance": provenance_items(r)} for r in runs],
                  toy=leaderboard.attrs.get("toy_descriptions") or [])


def run_facts(run: Run) -> list[tuple[str, str]]:
    """The few facts of a run worth showing without unfolding its provenance."""
    counts = run.results.get("counts") or {}
    prov = run.results.get("provenance") or {}
    facts = [("folder", str(run.path)), ("generator", run.generator),
             ("videos", f"{counts.get('scored_videos', '?')} scored of {counts.get('videos', '?')}, "
                        f"{counts.get('failed_videos', 0)} failed")]
    if prov.get("finished"):
        facts.append(("scored", str(prov["finished"])))
    return facts


__all__ = ["comparison_html", "environment", "provenance_items", "render", "run_html", "spread_pick"]
