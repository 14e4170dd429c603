"""The scoring pipeline's speed, end to end and per stage, against the model-only rate of each metric (one run).

    python benchmarks/bench_pipeline.py --metrics fvd                 # 32 clips, 16 x 128 x 128, H.264
    python benchmarks/bench_pipeline.py --metrics clip,fvd --device cuda --clips 256 --workers 8

1. Writes ``--clips`` synthetic clips (moving squares on noise; ``--format mp4`` H.264 or ``png`` frame folders).
2. End to end: ``vbench_lite.pipeline.score`` on them (decode and preprocessing in ``--workers`` processes, models,
   aggregation; no feature cache), clips/s and the stage breakdown (:class:`vbench_lite.stages.StageTimes`).
3. Model only, same run, same metric objects: each metric's ``extract_prepared`` (or ``extract``) on clips decoded
   and prepared beforehand, in the same batches; clips/s. The ratio end-to-end / model-only says how much of the
   models' speed the pipeline delivers (issue 14's goal for ``--metrics fvd`` on a 2-core CPU: >= 80%).

FVD uses the cached Kinetics-400 I3D when present, random weights otherwise (same cost); its reference is a
statistics file of the same clips' features (the aggregation's cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs"
    except OSError:
        return platform.processor() or "unknown CPU"


def write_clips(root: Path, n: int, frames: int, size: int, fmt: str):
    from vbench_lite.scoring import VideoItem
    from vbench_lite.types import Clip, Prompt
    from vbench_lite.video_io import write_video

    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        video = rng.integers(0, 60, size=(frames, size, size, 3), dtype=np.uint8)
        color = rng.integers(120, 256, size=3)
        for t in range(frames):
            x = (4 * t + 7 * i) % (size - 16)
            video[t, 20:36, x:x + 16] = color
        pid = f"clip-{i:04d}"
        if fmt == "png":
            from PIL import Image

            folder = root / pid / "0"
            folder.mkdir(parents=True)
            for t in range(frames):
                Image.fromarray(video[t]).save(folder / f"{t:04d}.png")
            path = folder
        else:
            path = Path(write_video(root / pid / "0.mp4", Clip(video, fps=8.0)))
        items.append(VideoItem(Prompt(id=pid, text="a coloured square moving right", category="synthetic"), 0,
                               path))
    return items


def fvd_args(work: Path) -> dict[str, str]:
    from vbench_lite.weights import converted_path

    if converted_path().is_file():
        return {}
    import torch
    from safetensors.torch import save_file

    from reference_models.i3d import InceptionI3d

    torch.manual_seed(0)
    path = work / "random-i3d.safetensors"
    save_file({k: v.contiguous() for k, v in InceptionI3d().eval().state_dict().items()}, str(path))
    return {"weights": str(path)}


def model_only(metric, items, settings) -> float:
    """Seconds of ``metric``'s model on clips decoded and prepared beforehand, in the pipeline's batches."""
    from vbench_lite.streaming import ClipJobs

    prepare = metric.preparer()
    jobs = ClipJobs([it.path for it in items], [{metric.name}] * len(items),
                    {metric.name: prepare} if prepare else {}, settings.decode_args())
    decoded = [jobs[i] for i in range(len(jobs))]
    b = settings.batch_size
    metric.extract_prepared([d.clip for d in decoded[:b]], [it.prompt for it in items[:b]],
                            [d.prepared.get(metric.name) for d in decoded[:b]])  # warm-up (model load, kernels)
    start = time.perf_counter()
    for i in range(0, len(items), b):
        part = decoded[i:i + b]
        metric.extract_prepared([d.clip for d in part], [it.prompt for it in items[i:i + b]],
                                [d.prepared.get(metric.name) for d in part])
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default="fvd")
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--format", choices=["mp4", "png"], default="mp4")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="decode workers (default: from the CPU count)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of (model only, end to end), interleaved; "
                        "the best of each is reported (the least disturbed on a shared machine)")
    args = parser.parse_args(argv)

    import torch

    from metrics.feature_statistics import FeatureStatistics
    from metrics.stats_file import ReferenceStats, save_reference_stats
    from vbench_lite.pipeline import build_metrics, score
    from vbench_lite.scoring import ScoreSettings
    from vbench_lite.stages import StageTimes

    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        items = write_clips(work / "videos", args.clips, args.frames, args.size, args.format)
        metric_args = {"fvd": fvd_args(work)} if "fvd" in names else {}
        metrics, failures = build_metrics(names, metric_args, device=args.device)
        if failures:
            raise SystemExit(f"cannot build: {failures[0].error}")
        settings = ScoreSettings(batch_size=args.batch_size, workers=args.workers)
        for m in metrics:
            m.set_decode_settings(max_frames=settings.max_frames, max_side=settings.max_side)
        reference = None
        if "fvd" in names:
            fvd = next(m for m in metrics if m.name == "fvd")
            from vbench_lite.streaming import ClipJobs

            jobs = ClipJobs([it.path for it in items], [{"fvd"}] * len(items), {}, settings.decode_args())
            feats = fvd.extractor.features([jobs[i].clip for i in range(len(jobs))]).astype(np.float64) + 0.01
            reference = str(work / "ref.npz")
            save_reference_stats(reference, ReferenceStats(FeatureStatistics.from_features(feats),
                                                           fvd.protocol.describe(), fvd.weights_sha256, "float32",
                                                           features=feats))
        model_seconds: dict[str, float] = {}
        wall, stages = float("inf"), StageTimes()
        for r in range(max(1, args.repeats)):  # interleaved, so that both see the same load
            for m in metrics:  # the first round also warms every model up
                model_seconds[m.name] = min(model_seconds.get(m.name, float("inf")), model_only(m, items, settings))
            run_stages = StageTimes()
            start = time.perf_counter()
            score(items, metrics, work / f"out{r}", suite=None, reference=reference, settings=settings,
                  progress=False, stages=run_stages)
            seconds = time.perf_counter() - start
            if seconds < wall:
                wall, stages = seconds, run_stages
    device = {m.name: str(getattr(m, "i3d_device", None) or getattr(m.config, "device", None) or "cpu")
              for m in metrics}
    print(f"{cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.clips} clips of {args.frames} x {args.size} x {args.size} ({args.format}), batch "
          f"{args.batch_size}, workers {settings.resolved_workers()}, devices {device}, model threads "
          f"{ {m.name: getattr(m, 'model_threads', None) or 'default' for m in metrics} }; load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"end to end (best of {args.repeats}): {wall:.2f} s, {args.clips / wall:.2f} clips/s; its stages:")
    for stage, seconds in stages.seconds.items():
        print(f"  {stage:<22} {seconds:8.2f} s   {args.clips / seconds if seconds else float('inf'):9.2f} clips/s")
    for name, seconds in model_seconds.items():
        print(f"model only {name:<12} {args.clips / seconds:9.2f} clips/s (best of {args.repeats}); in the run "
              f"{args.clips / max(stages.seconds.get(f'model:{name}', 0.0), 1e-9):9.2f} clips/s")
    rate = args.clips / sum(model_seconds.values())  # every model in turn on each clip, nothing else
    print(f"all models only: {rate:.2f} clips/s;  end to end / models only: {args.clips / wall / rate:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
