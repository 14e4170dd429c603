"""``vbench-lite score``: score a run folder or a folder of videos; exit 1 when some inputs failed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vbench_lite.commands._common import add_score_options, report_failures, requested_metrics, validate_score_args
from vbench_lite.stages import StageTimes
from vbench_lite.types import VbenchError
from vbench_lite.vbench_compat.score import add_vbench_options, run_vbench_score


def register(sub) -> None:
    p = sub.add_parser("score", help="score generated videos")
    p.add_argument("run", nargs="?", default=None, help="run folder (made by generate/run)")
    p.add_argument("--videos", default=None,
                   help="a folder of videos: <prompt_id>/<i>.<ext> or <prompt text>-<i>.<ext>")
    p.add_argument("--suite", default=None, help="prompt suite name or file (default: the run's, else standard)")
    p.add_argument("--out", default=None, help="where results go (default: the run folder, or DIR/.vbench-lite)")
    p.add_argument("--no-report", action="store_true", help="skip report.md / report.html")
    add_score_options(p)
    add_vbench_options(p)  # --mode vbench (vbench_lite/vbench_compat/score.py)
    p.set_defaults(func=run_score)


def score_folders(args: argparse.Namespace) -> tuple[Path, Path, Path | None]:
    """``(videos folder, output folder, run folder or None)`` of a score command line."""
    if bool(args.run) == bool(args.videos):
        raise VbenchError("score: give either a run folder or --videos DIR (not both)")
    if args.run:
        run_dir = Path(args.run)
        videos_dir = run_dir / "clips"
        if not videos_dir.is_dir():
            raise VbenchError(f"{run_dir}: not a run folder (no clips/ inside); use --videos for a plain folder")
        return videos_dir, Path(args.out) if args.out else run_dir, run_dir
    videos_dir = Path(args.videos)
    if not videos_dir.is_dir():
        raise VbenchError(f"{videos_dir}: not a directory")
    return videos_dir, Path(args.out) if args.out else videos_dir / ".vbench-lite", None


def build_requested_metrics(args: argparse.Namespace, dist=None) -> tuple[list, list, dict[str, str]]:
    """``(metrics, failures, skipped)`` of ``--metrics``: a metric that cannot be built (its weights are missing)
    is said now, one line, by rank 0 only (``dist``: under torchrun every rank builds its own), and the run goes
    on with the others; when none can be built it is an error (exit 2) before any video is generated or decoded."""
    from vbench_lite.pipeline import build_metrics, parse_metric_args

    say = dist is None or dist.is_main
    names, skipped = requested_metrics(args)
    for name, why in skipped.items() if say else ():
        print(f"vbench-lite: {name}: {why}", file=sys.stderr)
    metrics, metric_failures = build_metrics(names, parse_metric_args(args.metric_args),
                                             device=getattr(args, "device", None))
    if names and not metrics:
        raise VbenchError("; ".join(f.error for f in metric_failures))
    for f in metric_failures if say else ():
        print(f"vbench-lite: metric unavailable: {f.error}", file=sys.stderr)
    return metrics, metric_failures, skipped


def do_score(args: argparse.Namespace, dist, *, generator_desc=None, prior_failures=(), built=None) -> dict | None:
    """``built``: what :func:`build_requested_metrics` returned, when the caller (``run``) built them already."""
    from vbench_lite.pipeline import (
        Failure,
        ScoreSettings,
        collect_videos,
        load_run_manifest,
        resolve_suite,
        score,
    )

    videos_dir, out, run_dir = score_folders(args)
    validate_score_args(args)  # usage errors now, not after minutes of decoding
    if run_dir is not None:
        generator_desc = generator_desc or (load_run_manifest(run_dir) or {}).get("generator")
    else:
        generator_desc = generator_desc or {"name": "folder", "args": {"path": str(videos_dir)}}
    suite = resolve_suite(args.suite, run_dir)
    items, failures = collect_videos(videos_dir, suite)
    failures = list(prior_failures) + failures
    if not items and not failures:
        raise VbenchError(f"{videos_dir}: no videos found")
    metrics, metric_failures, skipped = built or build_requested_metrics(args, dist)
    settings = ScoreSettings(max_frames=args.max_frames, max_side=args.max_side, batch_size=args.batch_size,
                             seed=getattr(args, "seed", 0) or 0, workers=getattr(args, "workers", None))
    stages = StageTimes()
    results = score(items, metrics, out, suite=suite, generator_desc=generator_desc, reference=args.reference,
                    settings=settings, failures=failures + metric_failures, dist=dist, skipped_metrics=skipped,
                    progress=not args.no_progress, stages=stages)
    if results is not None:
        print_summary(results, out)
        if not args.no_progress:  # the stage breakdown goes with the progress bar: on stderr, for people
            print("\n".join(stages.lines(len(items))), file=sys.stderr)
        said = {(f.stage, f.error) for f in metric_failures}  # metrics that could not be built: said above
        report_failures([Failure(**f) for f in results["failures"] if (f.get("stage"), f["error"]) not in said])
    return results


def print_summary(results: dict, out: Path) -> None:
    counts = results["counts"]
    print(f"scored {counts['scored_videos']}/{counts['videos']} videos -> {out / 'results.json'}")
    for name, m in results["metrics"].items():
        ci = m.get("ci95")
        ci_text = f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci and None not in ci else ""
        arrow = "higher" if m["higher_is_better"] else "lower"
        value = m["value"]
        value_text = "nan" if value is None else f"{value:.4f}"
        toy = "  [toy model]" if m.get("toy_model") else ""
        print(f"  {name:<20} {value_text}{ci_text}  n={m['n']}  ({arrow} is better){toy}")
    for description in results.get("toy_models", []):
        print(f"  [toy model] {description}: not comparable with published numbers")
    for name, why in results.get("skipped_metrics", {}).items():
        print(f"  {name:<20} {why}")
    # A toy model's warnings (e.g. videos outside its synthetic world) are said loudly, once per warning.
    warned: set[str] = set()
    for m in results["metrics"].values():
        for note in m.get("notes", []) if m.get("toy_model") else []:
            if note not in warned:
                warned.add(note)
                print(f"vbench-lite: warning: {note}", file=sys.stderr)
    if results.get("notes"):
        print(f"  {len(results['notes'])} decode notes (short or altered clips): see 'notes' in results.json")


def run_score(args) -> int:
    if getattr(args, "mode", None) == "vbench":
        return run_vbench_score(args)
    from reports.run_report import write_run_reports
    from vbench_lite.distributed import init_from_env

    dist = init_from_env()
    try:
        results = do_score(args, dist)
        if results is not None and not args.no_report:
            write_run_reports(score_folders(args)[1])  # the same report.md / report.html as `run` writes
    finally:
        dist.close()
    if results is None:
        return 0
    return 1 if results["failures"] else 0
