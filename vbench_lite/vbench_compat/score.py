"""``vbench-lite score --videos DIR --suite vbench --mode vbench``: VBench's protocol on our metrics.

1. The entries of VBench's full-info file give each dimension its prompt subset and sample indices 0-4
   (:mod:`layout`); the missing/extra table is printed (and written to ``OUT/vbench/videos.json``) before scoring.
2. Each video some requested dimension needs is scored once by the pipeline (features cached as usual), with the
   metric plug-ins of the dimensions vbench-lite has.
3. Each dimension's score is the mean of its per-video values over its VBench video list (VBench's
   ``sum(video_results) / len(video_results)``; repeats counted as VBench counts them), written to
   ``OUT/vbench/<dimension>_eval_results.json``; the aggregate (Total/Quality/Semantic) when all dimensions of a
   group are there, else the list of missing ones; both also in ``results.json`` (see :mod:`runs`).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

from vbench_lite.types import VbenchError
from vbench_lite.vbench_compat.dimensions import BY_NAME, parse_dimensions

MODES = ("vbench-lite", "vbench")


def add_vbench_options(p: argparse.ArgumentParser) -> None:
    """The options ``score`` gets for ``--mode vbench``."""
    p.add_argument("--mode", choices=MODES, default="vbench-lite",
                   help="vbench: VBench's protocol (each dimension on its own prompts, samples 0-4, "
                   "*_eval_results.json, Total/Quality/Semantic); needs a VBench full-info suite (--suite vbench)")
    p.add_argument("--dimensions", default=None,
                   help="--mode vbench: comma-separated VBench dimensions (default: all 16)")
    p.add_argument("--special-str", default="",
                   help="--mode vbench: VBench's special_str, the text between the prompt and '-<i>' in file names")


def _entries_for(suite_arg: str | None) -> tuple[list[dict[str, Any]], Any]:
    from vbench_lite.prompts import load_suite
    from vbench_lite.vbench_compat.layout import BUILTIN_INFO, load_entries

    name = suite_arg or "vbench"
    if name == "vbench":
        return load_entries(BUILTIN_INFO), load_suite("vbench")
    path = Path(name)
    if path.suffix.lower() != ".json" or not path.is_file():
        raise VbenchError(f"--suite {name}: --mode vbench needs 'vbench' or a VBench full-info JSON file")
    return load_entries(path), load_suite(path)


def _available(dimensions: list[str]) -> tuple[list[str], dict[str, str]]:
    """The requested dimensions vbench-lite can score, and why each other one cannot."""
    from vbench_lite.registry import METRICS

    METRICS._load_plugins()
    known = set(METRICS._entries)
    ok, why = [], {}
    for name in dimensions:
        metric = BY_NAME[name].metric
        if metric in known:
            ok.append(name)
        else:
            why[name] = f"no vbench-lite metric {metric!r} yet"
    return ok, why


def _per_video(csv_path: Path) -> dict[str, dict[str, float]]:
    """``{path: {output: value}}`` from the pipeline's per_video.csv (failed videos have no values)."""
    rows: dict[str, dict[str, float]] = {}
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values = {}
            for key, text in row.items():
                try:
                    values[key] = float(text)
                except (TypeError, ValueError):
                    continue
            rows[row["path"]] = values
    return rows


def _folders(args: argparse.Namespace) -> tuple[Path, Path]:
    """(videos folder, output folder): ``--videos DIR`` (VBench's flat folder) or a run folder's ``clips/``."""
    if bool(args.run) == bool(args.videos):
        raise VbenchError("score: give either a run folder or --videos DIR (not both)")
    videos = Path(args.videos) if args.videos else Path(args.run) / "clips"
    if not videos.is_dir():
        raise VbenchError(f"{videos}: not a directory")
    default = videos / ".vbench-lite" if args.videos else Path(args.run)
    return videos, Path(args.out) if args.out else default


def run_vbench_score(args: argparse.Namespace) -> int:
    """The ``--mode vbench`` path of ``score`` (exit codes as ``score``'s)."""
    from vbench_lite.commands._common import report_failures
    from vbench_lite.pipeline import Failure, ScoreSettings, VideoItem, build_metrics, parse_metric_args, score
    from vbench_lite.results import atomic_write_json, load_results
    from vbench_lite.vbench_compat.aggregate import vbench_aggregate
    from vbench_lite.vbench_compat.layout import format_table, plan_videos
    from vbench_lite.vbench_compat.results_io import write_dimension_results
    from vbench_lite.vbench_compat.runs import aggregate_entries, dimension_entry, vbench_block

    videos_dir, out = _folders(args)
    if getattr(args, "metrics", None):
        print("vbench-lite: --metrics is ignored with --mode vbench: the dimensions choose the metrics "
              "(use --dimensions)", file=sys.stderr)
    entries, suite = _entries_for(args.suite)
    requested = parse_dimensions(args.dimensions)
    scorable, unavailable = _available(requested)
    by_text = {p.text: p for p in suite.prompts}
    plan = plan_videos(videos_dir, entries, requested, by_text, special=args.special_str)
    print(format_table(plan, unavailable=unavailable))
    vb_dir = out / "vbench"
    atomic_write_json(vb_dir / "videos.json", plan.to_dict())
    if unavailable:
        print(f"vbench-lite: not scored (no vbench-lite metric yet): {', '.join(unavailable)}", file=sys.stderr)
    scorable = [d for d in scorable if plan.dimensions[d].videos]  # no model is loaded for a dimension with no video
    used = [v for v in plan.used() if any(v in plan.dimensions[d].videos for d in scorable)]
    if not used:
        wanted = ", ".join(scorable) or "the requested dimensions"
        raise VbenchError(f"{videos_dir}: none of the videos VBench expects for {wanted} is there (see the table)")
    metric_names = list(dict.fromkeys(BY_NAME[d].metric for d in scorable))
    metrics, metric_failures = build_metrics(metric_names, parse_metric_args(args.metric_args),
                                             device=getattr(args, "device", None))
    for f in metric_failures:
        print(f"vbench-lite: metric unavailable: {f.error}", file=sys.stderr)
    items = [VideoItem(by_text[text], index, path) for text, index, path in used]
    settings = ScoreSettings(max_frames=args.max_frames, max_side=args.max_side, batch_size=args.batch_size,
                             seed=getattr(args, "seed", 0) or 0, workers=getattr(args, "workers", None))
    generator = {"name": "folder", "args": {"path": str(videos_dir)}}
    results = score(items, metrics, out, suite=suite, generator_desc=generator, reference=args.reference,
                    settings=settings, failures=list(metric_failures), progress=not args.no_progress)
    per_video = _per_video(out / "per_video.csv")
    scores: dict[str, float] = {}
    built = {m.name for m in metrics}
    for name in scorable:
        dim = BY_NAME[name]
        if dim.metric not in built:
            continue
        rows = [(str(path), per_video.get(str(path), {}).get(dim.output)) for _t, _i, path in
                plan.dimensions[name].videos]
        rows = [(p, v) for p, v in rows if v is not None and math.isfinite(v)]
        if not rows:
            continue
        scores[name] = sum(v for _, v in rows) / len(rows)
        write_dimension_results(vb_dir, name, scores[name], rows)
        entry = dimension_entry(name, scores[name], [v for _, v in rows], settings.seed)
        entry["settings"] = {**results["metrics"].get(dim.output, {}).get("settings", {}), **entry["settings"]}
        results["metrics"][dim.output] = entry
    aggregate = vbench_aggregate(scores)
    results["metrics"].update(aggregate_entries(aggregate))
    results["vbench"] = vbench_block(scores, aggregate, videos=plan.to_dict()["dimensions"],
                                     unavailable=unavailable)
    atomic_write_json(vb_dir / "vbench_scores.json", results["vbench"])
    atomic_write_json(out / "results.json", results)
    load_results(out / "results.json")  # what leaderboard/check read must stay valid
    for name in scorable:
        if name in scores:
            print(f"  {name:<24} {scores[name]:.4f}  n={len(plan.dimensions[name].videos)}")
    print(aggregate["statement"])
    for key in ("total", "quality", "semantic"):
        if aggregate[key] is not None:
            print(f"  VBench {key:<9} {aggregate[key]:.4%}")
    print(f"VBench-format results -> {vb_dir}")
    report_failures([Failure(**f) for f in results["failures"]])
    return 1 if results["failures"] else 0
