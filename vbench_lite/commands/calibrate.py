"""``vbench-lite calibrate``: metric x defect x strength on the synthetic suite or on the user's own videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vbench_lite.types import VbenchError


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def register(sub) -> None:
    from vbench_lite.commands._common import add_device_option, parse_size

    p = sub.add_parser("calibrate", help="do the metrics rank what they should? metric x defect x strength",
                       description="Applies each controlled defect (noise, blur, flicker, freeze, shuffle, drop, "
                       "compress, color_shift, jitter; wrong_color and remove_object on the synthetic suite) at "
                       "several strengths to the same clips, scores every set with the metrics, and reports per "
                       "(metric, defect): direction, Spearman rho against strength, monotonicity and the smallest "
                       "strength detected beyond the clean clips' 95%% interval. Writes calibration.csv, "
                       "calibration_summary.csv, calibration.html and one run folder per defect and strength.")
    p.add_argument("--suite", default=None, help="the synthetic suite (default) or a suite file of its prompts")
    p.add_argument("--videos", default=None, help="calibrate on your own videos (a folder, as score --videos)")
    p.add_argument("--metrics", default="clip,temporal",
                   help="comma-separated metrics (default clip,temporal; add fvd for FVD/KVD and their sample "
                   "efficiency)")
    p.add_argument("--metric-args", action="append", default=[], metavar="METRIC.KEY=VALUE",
                   help="settings of a metric, e.g. clip.frames=8 (repeatable)")
    p.add_argument("--defects", default=None, help="comma-separated defects (default: all the source allows)")
    p.add_argument("--strengths", type=_floats, default=(0.25, 0.5, 1.0),
                   help="defect strengths > 0 (default 0.25,0.5,1; 1 is the demo's defect, 0 the clean clips)")
    p.add_argument("--reference", default=None,
                   help="FVD's reference (DIR or STATS.npz; default: the renderer with other seeds, or the clean "
                   "copies of --videos)")
    p.add_argument("--limit", type=int, default=12, help="synthetic suite: prompts, spread over it (default 12)")
    p.add_argument("--samples", type=int, default=1, help="synthetic suite: clips per prompt (default 1)")
    p.add_argument("--frames", type=int, default=16,
                   help="frames per clip: rendered (synthetic suite) or the first ones decoded (--videos); default 16")
    p.add_argument("--size", type=parse_size, default=(64, 64), help="synthetic suite: HxW (default 64x64)")
    p.add_argument("--seed", type=int, default=0, help="base seed (the reference set uses seed+1000)")
    add_device_option(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from reports.calibration import calibration_html, calibration_markdown
    from vbench_lite.calibrate import CalibrationSettings, run_calibration
    from vbench_lite.commands._common import check_metric_args, check_metric_names
    from vbench_lite.results import atomic_write_text

    if args.suite and args.videos:
        raise VbenchError("calibrate: give --suite or --videos, not both")
    # Usage errors before any clip is rendered: unknown metrics and settings, counts below 1.
    metrics = tuple(check_metric_names(args.metrics))
    metric_args = check_metric_args(list(metrics), args.metric_args)
    for option in ("samples", "frames", "limit"):
        value = getattr(args, option, None)
        if value is not None and value < 1:
            raise VbenchError(f"--{option} must be at least 1, got {value}")
    defects = tuple(d.strip() for d in args.defects.split(",") if d.strip()) if args.defects else None
    settings = CalibrationSettings(metrics=metrics, metric_args=metric_args,
                                   defects=defects, strengths=tuple(args.strengths), reference=args.reference,
                                   limit=args.limit, samples=args.samples, num_frames=args.frames, size=args.size,
                                   seed=args.seed, reference_seed=args.seed + 1000, device=args.device,
                                   progress=not args.no_progress)
    outcome = run_calibration(args.out, settings, suite=args.suite, videos=args.videos)
    out = Path(args.out)
    atomic_write_text(out / "calibration.html", calibration_html(outcome.table, outcome.summary,
                                                                 notes=outcome.notes,
                                                                 efficiency=outcome.efficiency))
    atomic_write_text(out / "calibration.md", calibration_markdown(outcome.summary, title="Calibration"))
    print(calibration_markdown(outcome.summary))
    for note in outcome.notes:
        print(f"vbench-lite: note: {note}", file=sys.stderr)
    print(f"wrote {out / 'calibration.csv'}, {out / 'calibration_summary.csv'}, {out / 'calibration.html'}; "
          f"rank the runs with: vbench-lite leaderboard {out}/runs/* --anchor {outcome.anchor} --out LB.csv",
          file=sys.stderr)
    return 0


__all__ = ["register", "run_calibrate"]
