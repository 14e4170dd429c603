"""The runs of a calibration: making each (defect, strength) set of clips and scoring it (see
:mod:`vbench_lite.calibrate`). Synthetic clips come from the ``synthetic`` generator (so a defect is exactly the
generator's); the user's videos are decoded once, degraded by :func:`reference_models.video_defects.apply_frame_defect`
with a seed per (video, defect), and written as H.264 like generated clips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbench_lite.types import VbenchError

CLEAN_RUN = "clean"
REFERENCE_RUN = "reference"


def run_name(defect: str, strength: float) -> str:
    """``clean`` for strength 0, else ``<defect>-<strength>`` (``noise-0.5``)."""
    return CLEAN_RUN if defect == "none" or strength == 0 else f"{defect}-{strength:g}"


@dataclass
class CalibrationRun:
    run_dir: Path
    items: list[Any] = field(default_factory=list)  # VideoItem
    failures: list[Any] = field(default_factory=list)
    generator_desc: dict[str, Any] | None = None


def synthetic_runs(runs_dir: Path, suite, plan: Sequence[tuple[str, float]], settings
                   ) -> tuple[dict[str, CalibrationRun], Path, str]:
    """Render every run of ``plan`` plus the reference run (other seeds); returns (runs, FVD reference, anchor)."""
    from vbench_lite.generators.base import build_generator
    from vbench_lite.pipeline import GenerationSettings, collect_videos, generate

    runs: dict[str, CalibrationRun] = {}
    jobs = [(run_name(d, s), d, s, settings.seed, settings.samples) for d, s in plan]
    jobs.append((REFERENCE_RUN, "none", 0.0, settings.reference_seed, settings.reference_samples))
    for name, defect, strength, seed, samples in jobs:
        args = {} if defect == "none" else {"defect": defect, "strength": f"{strength:g}"}
        generator = build_generator("synthetic", args)
        run_dir = runs_dir / name
        gen = GenerationSettings(samples=samples, seed=seed, num_frames=settings.num_frames, size=settings.size)
        _, _, failures = generate(generator, suite, run_dir, gen, progress=False)
        items, collect_failures = collect_videos(run_dir / "clips", suite)
        runs[name] = CalibrationRun(run_dir, items, failures + collect_failures, generator.describe())
    return runs, runs_dir / REFERENCE_RUN / "clips", REFERENCE_RUN


def video_seed(key: str, defect: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{key}|{defect}".encode()).digest()[:8], "little")


def video_runs(runs_dir: Path, videos: Path, suite, plan: Sequence[tuple[str, float]], settings, score_settings
               ) -> tuple[dict[str, CalibrationRun], Path, str]:
    """Decode the user's videos once and write each run's degraded copies; the clean copies are FVD's reference and
    the anchor."""
    import numpy as np

    from reference_models.video_defects import DefectError, apply_frame_defect
    from vbench_lite.pipeline import clip_path, collect_videos
    from vbench_lite.scoring import Failure, VideoItem
    from vbench_lite.types import Clip
    from vbench_lite.video_io import read_video, write_video

    if not videos.is_dir():
        raise VbenchError(f"--videos {videos}: not a directory")
    found, failures = collect_videos(videos, suite)
    if not found:
        raise VbenchError(f"--videos {videos}: no videos found")
    decoded = []
    for it in found:
        try:
            clip = read_video(it.path, num_frames=min(settings.max_frames, settings.num_frames), policy="first",
                              max_side=score_settings.max_side)
        except VbenchError as exc:
            failures.append(Failure(str(it.path), str(exc), it.prompt.id, it.sample, "decode"))
            continue
        if clip.num_frames < 2:
            failures.append(Failure(str(it.path), f"{it.path}: needs at least 2 frames", it.prompt.id, it.sample,
                                    "decode"))
            continue
        decoded.append((it, clip))
    if not decoded:
        raise VbenchError(f"--videos {videos}: no video could be decoded ({failures[0].error if failures else ''})")
    runs: dict[str, CalibrationRun] = {}
    for defect, strength in plan:
        name = run_name(defect, strength)
        run_dir = runs_dir / name
        items = []
        run_failures = list(failures)
        for it, clip in decoded:
            path = clip_path(run_dir, it.prompt.id, it.sample)
            if not path.exists():
                rng = np.random.default_rng(video_seed(f"{it.prompt.id}/{it.sample}", defect))
                try:
                    frames = apply_frame_defect(clip.frames, defect, strength, rng)
                except DefectError as exc:
                    run_failures.append(Failure(str(it.path), str(exc), it.prompt.id, it.sample, "generate"))
                    continue
                write_video(path, Clip(frames, fps=clip.fps, source=str(it.path)))
            items.append(VideoItem(it.prompt, it.sample, path))
        desc = {"name": "calibrate", "args": {"videos": str(videos), "defect": defect, "strength": strength}}
        runs[name] = CalibrationRun(run_dir, items, run_failures, desc)
    return runs, runs_dir / CLEAN_RUN / "clips", CLEAN_RUN


def score_runs(runs: dict[str, CalibrationRun], metrics, suite, reference: str, score_settings, progress: bool
               ) -> None:
    """Score each run with the same metric objects (features cached per run; aggregation reruns every time)."""
    from dataclasses import replace

    from vbench_lite.pipeline import score

    for name, run in runs.items():
        if not run.items:
            raise VbenchError(f"{run.run_dir}: calibration run {name!r} has no clips "
                              f"({run.failures[0].error if run.failures else 'nothing generated'})")
        ids = {it.prompt.id for it in run.items}
        run_suite = replace(suite, prompts=[p for p in suite.prompts if p.id in ids]) if suite else None
        if run_suite is not None and not run_suite.prompts:
            run_suite = None  # the user's own videos: prompts outside any suite
        score(run.items, metrics, run.run_dir, suite=run_suite, generator_desc=run.generator_desc,
              reference=reference, settings=score_settings, failures=run.failures, progress=progress)


__all__ = ["CLEAN_RUN", "REFERENCE_RUN", "CalibrationRun", "run_name", "score_runs", "synthetic_runs", "video_runs",
           "video_seed"]
