"""Options and steps shared by the generate, score and run commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vbench_lite.types import VbenchError

DEFAULT_METRICS = "clip,fvd,temporal"


def parse_size(text: str) -> tuple[int, int]:
    """``"64"`` or ``"64x96"`` (height x width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 64 or 64x96, got {text!r}") from exc
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 8:
        raise argparse.ArgumentTypeError(f"size must be HxW with sides >= 8, got {text!r}")
    return parts[0], parts[1]


def add_generation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generator", required=True, help="adapter name (folder, command, python, synthetic, reference) "
                   "or module:attr")
    p.add_argument("--generator-args", default="", help="k=v,k=v passed to the adapter")
    p.add_argument("--suite", default=None, help="prompt suite name or file (default: standard)")
    p.add_argument("--samples", type=int, default=1, help="clips per prompt (default 1)")
    p.add_argument("--seed", type=int, default=0, help="base seed; sample i gets seed+i")
    p.add_argument("--frames", type=int, default=16, help="frames per clip (default 16)")
    p.add_argument("--size", type=parse_size, default=(64, 64), help="HxW of generated clips (default 64x64)")
    p.add_argument("--lossless", action="store_true", help="store clips as lossless RGB H.264 (.mkv)")
    p.add_argument("--limit", type=int, default=None, help="only the first N prompts of the suite")


def add_score_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", default=DEFAULT_METRICS, help=f"comma-separated metrics (default {DEFAULT_METRICS})")
    p.add_argument("--metric-args", action="append", default=[], metavar="METRIC.KEY=VALUE",
                   help="settings of a metric, e.g. clip.frames=8 or fvd.dtype=float32 (repeatable)")
    p.add_argument("--reference", default=None, help="reference videos (DIR) or statistics (STATS.npz) for FVD/KVD")
    p.add_argument("--max-frames", type=int, default=128, help="decode at most this many frames a video")
    p.add_argument("--max-side", type=int, default=512, help="downscale frames larger than this at decode")
    p.add_argument("--batch-size", type=int, default=8, help="clips per extraction batch")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def metric_names(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise VbenchError("--metrics: no metric named")
    return names


def limit_suite(suite, limit: int | None):
    if limit is None:
        return suite
    if limit < 1:
        raise VbenchError("--limit must be at least 1")
    from dataclasses import replace

    return replace(suite, prompts=suite.prompts[:limit])


def report_failures(failures, out=None, most: int = 20) -> None:
    out = out or sys.stderr  # looked up at call time: sys.stderr may have been replaced since import
    for f in failures[:most]:
        print(f"vbench-lite: failed: {f.error}", file=out)
    if len(failures) > most:
        print(f"vbench-lite: ... and {len(failures) - most} more failures (see results.json)", file=out)


def out_folder(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise VbenchError(f"{out}: exists and is not a folder")
    return out
