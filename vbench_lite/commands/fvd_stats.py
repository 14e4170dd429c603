"""``vbench-lite fvd-stats DIR --out STATS.npz``: cache the FVD reference statistics of a folder of videos.

The file holds mu, sigma (biased), n, the feature sum and outer-product sum, the protocol (name, hash, settings),
the I3D weights sha256 and precision, and (unless ``--no-features``) the features themselves, which KVD needs.
``score --reference STATS.npz`` refuses a file made with another protocol or other weights.

Videos are decoded at most ``--max-side`` pixels on the long side, with the same default as ``score`` (one
constant, ``vbench_lite.types.SCORE_MAX_SIDE``); the decode rule is part of the stored protocol, so ``score`` refuses
statistics made under another one. ``--max-side 0`` decodes at full size: the canonical (StyleGAN-V) protocol.
"""

from __future__ import annotations

import argparse
import sys

from vbench_lite.commands._common import add_device_option, add_workers_option
from vbench_lite.types import SCORE_MAX_SIDE, VbenchError


def register(subparsers) -> None:
    p = subparsers.add_parser("fvd-stats", help="compute and cache FVD reference statistics of a folder of videos",
                              description="Compute FVD reference statistics (I3D features) of every video under DIR.")
    p.add_argument("directory", metavar="DIR", help="folder of reference videos (searched recursively)")
    p.add_argument("--out", required=True, metavar="STATS.npz", help="where to write the statistics")
    p.add_argument("--no-features", action="store_true", help="omit the per-video features (KVD will be skipped)")
    p.add_argument("--weights", default="i3d-k400", help="i3d-k400 (cached, default) or a weights file")
    p.add_argument("--num-frames", type=int, default=16, help="frames per clip (default 16)")
    p.add_argument("--stride", type=int, default=1, help="frame stride (default 1)")
    p.add_argument("--start", type=int, default=0, help="first frame (default 0)")
    p.add_argument("--resize", default="bilinear", choices=["bilinear", "short_side_crop"],
                   help="resize rule (default bilinear, StyleGAN-V)")
    p.add_argument("--size", type=int, default=224, help="I3D input size (default 224)")
    p.add_argument("--loop-short", action="store_true", help="loop clips shorter than the protocol needs "
                   "instead of skipping them")
    p.add_argument("--max-side", type=int, default=SCORE_MAX_SIDE,
                   help=f"decode frames at most this large, as `score --max-side` (default {SCORE_MAX_SIDE}; "
                   f"0: full size, the canonical protocol)")
    p.add_argument("--batch-size", type=int, default=8)
    add_workers_option(p, "videos ahead of the I3D")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    add_device_option(p, "where the I3D runs (default: cuda when available)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 on CUDA (faster; features differ by ~1e-3 "
                   "relative; off by default: the canonical protocol runs in exact float32)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from metrics.fvd import FrechetVideoDistance
    from metrics.stats_file import save_reference_stats
    from vbench_lite.commands._common import check_device, check_workers

    check_device(args.device)
    check_workers(args.workers)
    metric = FrechetVideoDistance(weights=args.weights, num_frames=args.num_frames, stride=args.stride,
                                  start=args.start, resize=args.resize, size=args.size, loop_short=args.loop_short,
                                  batch_size=args.batch_size, dtype=args.dtype, device=args.device,
                                  tf32=args.tf32)
    metric.set_decode_settings(max_side=args.max_side)  # the decode rule joins the protocol (and its hash)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\rfvd-stats: {done}/{total} videos", end="" if done < total else "\n", file=sys.stderr)

    ref = _reference_stats(args, metric, progress)
    path = save_reference_stats(args.out, ref, include_features=not args.no_features)
    print(f"{path}: {ref.stats.n} videos, protocol {ref.protocol['name']} ({ref.protocol_hash}), "
          f"I3D sha256 {ref.weights_sha256[:16]}...")
    for line in ref.skipped:
        print(f"  skipped {line}", file=sys.stderr)
    if ref.shrunk:
        print(f"fvd-stats: {len(ref.shrunk)} of {ref.stats.n} videos reached the decode limit --max-side "
              f"{args.max_side} and were shrunk before the I3D resize; pass --max-side 0 (here and to score) for "
              f"the canonical full-size protocol", file=sys.stderr)
    return 0


def _reference_stats(args: argparse.Namespace, metric, progress):
    """Decode and preprocess in worker processes (``vbench_lite.streaming``, as ``score`` does), a bounded number of
    batches ahead of the I3D; features are the same bytes as in-process decoding (``--workers 0``)."""
    from pathlib import Path

    from metrics.i3d_features import DecodedVideo, reference_from_decoded
    from vbench_lite.streaming import ClipJobs, PrepError, default_workers, stream
    from vbench_lite.video_io import find_videos

    root = Path(args.directory)
    paths = find_videos(root)
    protocol = metric.protocol
    jobs = ClipJobs(paths, [{"fvd"}] * len(paths), {"fvd": metric.preparer()},
                    {"max_frames": protocol.frames_needed, "max_side": protocol.decode_max_side or None})
    workers = default_workers() if args.workers is None else args.workers

    def decoded():
        for batch in stream(jobs, batch_size=metric.extractor.batch_size, workers=workers):
            for item in batch:
                prep = item.prepared.get("fvd")
                if item.clip is None:
                    yield DecodedVideo(item.index, None, item.error)
                elif isinstance(prep, PrepError):  # too short for the protocol: skipped and listed, as in process
                    if not isinstance(prep.error, VbenchError):  # a bug is no reason to leave a video out
                        raise prep.error
                    yield DecodedVideo(item.index, None, str(prep.error))
                else:
                    yield DecodedVideo(item.index, item.clip, prepared=prep)

    return reference_from_decoded(root, paths, decoded(), metric.extractor, metric.weights_sha256, progress=progress)
