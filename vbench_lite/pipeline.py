"""generate (cached, resumable) -> score (features cached per clip, :mod:`vbench_lite.scoring`) -> results.

Resumability: every clip and every per-clip feature file is written atomically and skipped when it already exists,
so a run killed at any point redoes only the unfinished clips. Feature files remember the sha256 of the video they
came from and are recomputed when the video changed.

Failures never lose the rest of a run: a video that cannot be generated, decoded or scored is recorded with a
one-line reason in ``results.json`` ``failures`` and in ``per_video.csv``, and everything else is still scored.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from metrics.base import ClipRecord, MetricResult, VideoMetric
from vbench_lite.distributed import DistContext
from vbench_lite.generators.base import Generator, as_clip
from vbench_lite.prompts import Suite, load_suite
from vbench_lite.registry import METRICS
from vbench_lite.results import SCHEMA, atomic_write_json, atomic_write_text, base_provenance, now_iso, read_json
from vbench_lite.scoring import (
    Failure,
    ScoreSettings,
    VideoItem,
    collect_videos,
    extract_all,
    feature_dir,
    load_features,
    one_line,
    save_features,
)
from vbench_lite.stages import StageTimes
from vbench_lite.types import VbenchError
from vbench_lite.video_io import write_video

RUN_MANIFEST = "run.json"


@dataclass
class GenerationSettings:
    samples: int = 1
    seed: int = 0
    num_frames: int = 16
    size: tuple[int, int] = (64, 64)
    lossless: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "seed": self.seed, "num_frames": self.num_frames,
                "size": list(self.size), "lossless": self.lossless}


def clip_seed(base_seed: int, sample: int) -> int:
    """The seed a generator gets for sample ``sample``: distinct per sample, stable across runs and ranks."""
    return base_seed + sample


def clip_path(run_dir: Path, prompt_id: str, sample: int, lossless: bool = False) -> Path:
    # Lossless RGB H.264 lives in .mkv so a reader never mistakes it for a browser-playable .mp4.
    return run_dir / "clips" / prompt_id / f"{sample}{'.mkv' if lossless else '.mp4'}"


def _progress(iterable, total: int, desc: str, enabled: bool = True):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="clip", disable=None if enabled else True,
                dynamic_ncols=True, leave=False)


# -- generation -------------------------------------------------------------------------------------------------
def generate(generator: Generator, suite: Suite, run_dir: str | Path, settings: GenerationSettings, *,
             dist: DistContext | None = None, progress: bool = True) -> tuple[int, int, list[Failure]]:
    """Generate every (prompt, sample) clip of ``suite`` into ``run_dir/clips``; returns (made, skipped, failures).

    Clips already on disk are skipped. The manifest ``run.json`` records generator, suite and settings; a run
    folder made with other settings is refused rather than silently mixed.
    """
    dist = dist or DistContext()
    run_dir = Path(run_dir)
    manifest = {
        "schema": "vbench-lite/run@1",
        "generator": generator.describe(),
        "suite": suite.describe(),
        "suite_source": suite.source,  # "builtin" or the file an imported suite came from
        "prompt_ids": suite.ids(),  # so `score RUN` can rebuild a subset (--limit) with the same sha256
        "generation": settings.to_dict(),
        "generator_provenance": generator.provenance(),
    }
    manifest_path = run_dir / RUN_MANIFEST
    if manifest_path.exists():
        old = read_json(manifest_path)
        for key in ("generator", "suite", "generation"):
            if old.get(key) != manifest[key]:
                raise VbenchError(f"{manifest_path}: this run folder was made with another {key} "
                                  f"({json.dumps(old.get(key))}); use a new --out folder")
    scratch = run_dir / "tmp"  # generators' scratch files; whatever a killed run left there goes now
    if dist.is_main:
        shutil.rmtree(scratch, ignore_errors=True)
    dist.barrier()  # every rank has checked the manifest (and rank 0 emptied tmp/) before rank 0 writes it
    if dist.is_main:
        atomic_write_json(manifest_path, manifest)
    scratch.mkdir(parents=True, exist_ok=True)
    generator.work_dir = scratch
    work = [(p, s) for p in suite.prompts for s in range(settings.samples)]
    mine = dist.shard(work)
    plan = getattr(generator, "plan", None)
    if callable(plan):  # batching adapters (diffusers) learn the clips to come, in order, to make several per call
        plan([(p, clip_seed(settings.seed, s)) for p, s in mine
              if not clip_path(run_dir, p.id, s, settings.lossless).exists()],
             num_frames=settings.num_frames, size=settings.size)
    made = skipped = 0
    failures: list[Failure] = []
    for prompt, sample in _progress(mine, len(mine), "generate", progress and dist.is_main):
        path = clip_path(run_dir, prompt.id, sample, settings.lossless)
        if path.exists():
            skipped += 1
            continue
        try:
            out = generator.generate(prompt, seed=clip_seed(settings.seed, sample),
                                     num_frames=settings.num_frames, size=settings.size)
            exact = getattr(generator, "honours_shape", True)  # a user's adapter need not subclass Generator
            shape = dict(num_frames=settings.num_frames, size=settings.size) if exact else {}
            clip = as_clip(out, f"{generator.name}:{prompt.id}:{sample}", **shape)
            write_video(path, clip, lossless=settings.lossless)
            made += 1
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a generator's bug or sys.exit() must not end the run
            failures.append(Failure(str(path), _generation_error(exc), prompt.id, sample, "generate"))
    gathered = dist.gather((made, skipped, [f.to_dict() for f in failures]))
    dist.barrier()
    made = sum(g[0] for g in gathered)
    skipped = sum(g[1] for g in gathered)
    failures = [Failure(**f) for g in gathered for f in g[2]]
    return made, skipped, failures


def _generation_error(exc: BaseException) -> str:
    """One line for a clip whose generation raised ``exc`` (``sys.exit(3)`` included)."""
    if isinstance(exc, VbenchError):
        text = str(exc)
    elif isinstance(exc, SystemExit):
        text = f"the generator called sys.exit({exc.code!r})"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [type(exc).__name__])[0]


# -- scoring (collecting videos and extracting features: vbench_lite.scoring) ------------------------------------


def build_metrics(names: Sequence[str], metric_args: dict[str, dict[str, str]] | None = None, *,
                  device: str | None = None) -> tuple[list[VideoMetric], list[Failure]]:
    """Instantiate metric plug-ins; one that cannot be built (missing weights...) is reported, not fatal.

    ``device`` (``--device``) goes to every metric whose settings have a ``device`` field, unless its own
    ``--metric-args NAME.device=...`` says otherwise."""
    metrics: list[VideoMetric] = []
    failures: list[Failure] = []
    for name in names:
        try:
            cls = METRICS.get(name)
            args = dict((metric_args or {}).get(name, {}))
            if device and "device" not in args and _has_setting(cls, "device"):
                args["device"] = device
            metrics.append(cls(**args))
        except VbenchError as exc:
            failures.append(Failure(name, str(exc), stage=f"metric:{name}"))
    return metrics, failures


def _has_setting(cls: Any, field: str) -> bool:
    import dataclasses

    settings = getattr(cls, "Settings", None)
    return dataclasses.is_dataclass(settings) and field in {f.name for f in dataclasses.fields(settings)}


def score(items: list[VideoItem], metrics: list[VideoMetric], out_dir: str | Path, *,
          suite: Suite | None, generator_desc: dict[str, Any] | None = None,
          reference: str | None = None, settings: ScoreSettings | None = None,
          failures: list[Failure] | None = None, dist: DistContext | None = None,
          extra_provenance: dict[str, Any] | None = None, progress: bool = True,
          skipped_metrics: dict[str, str] | None = None, stages: StageTimes | None = None
          ) -> dict[str, Any] | None:
    """Score ``items`` with ``metrics`` and write ``results.json`` and ``per_video.csv`` into ``out_dir``.

    Under torchrun each rank extracts features for its shard; rank 0 gathers them, aggregates and writes.
    Returns the results dict on rank 0 (``None`` on other ranks). ``stages`` collects seconds per stage (this
    rank's extraction, and the aggregation on rank 0).
    """
    dist = dist or DistContext()
    stages = stages if stages is not None else StageTimes()
    settings = settings or ScoreSettings()
    out_dir = Path(out_dir)
    failures = list(failures or [])
    started = now_iso()
    for metric in metrics:
        metric.set_decode_settings(max_frames=settings.max_frames, max_side=settings.max_side)
    mine = dist.shard(items)
    features, extract_failures, notes = extract_all(mine, metrics, out_dir, settings,
                                                    progress=progress and dist.is_main, stages=stages)
    gathered = dist.gather((features, [f.to_dict() for f in extract_failures], notes))
    if not dist.is_main:
        dist.barrier()
        return None
    merged: dict[str, dict[str, dict[str, np.ndarray]]] = {m.name: {} for m in metrics}
    merged_notes: dict[str, list[str]] = {}
    for rank_features, rank_failures, rank_notes in gathered:
        for name, per_item in rank_features.items():
            merged[name].update(per_item)
        failures.extend(Failure(**f) for f in rank_failures)
        merged_notes.update(rank_notes)

    metric_results: dict[str, MetricResult] = {}
    value_rows: dict[str, dict[str, float]] = {it.key: {} for it in items}
    clip_remarks: dict[str, list[str]] = {}  # per clip: what a metric says of its value (per_video.csv notes)
    provenance = base_provenance(settings.seed)
    for metric in metrics:
        try:
            records, values, remarks = _per_video(metric, items, merged[metric.name])
            with stages.timed(f"aggregate:{metric.name}"):
                results = metric.aggregate(records, reference=reference, seed=settings.seed)
            for key, row in values.items():  # only a metric that aggregated writes per-video values
                value_rows[key].update(row)
            for key, remark in remarks.items():
                clip_remarks.setdefault(key, []).append(f"{metric.name}: {remark}")
        except VbenchError as exc:  # a bad reference file...: its message names the file
            failures.append(Failure(reference or metric.name, one_line(exc), stage=f"metric:{metric.name}"))
            results = {}
        except Exception as exc:  # a metric's bug fails only its rows: results.json is still written
            failures.append(Failure(metric.name, f"{metric.name}: aggregate failed: {one_line(exc)}",
                                    stage=f"metric:{metric.name}"))
            results = {}
        for out_name, res in results.items():
            res.family = res.family or metric.family_of(out_name)
            metric_results[out_name] = res
        prov = metric.provenance()
        for key, value in prov.items():
            bucket = "weights" if "sha256" in key else "protocols"
            provenance[bucket][key] = value
    provenance.update(extra_provenance or {})
    provenance["started"] = started
    provenance["finished"] = now_iso()
    provenance["world_size"] = dist.world_size
    provenance["score_settings"] = settings.to_dict()
    failed_keys = {(f.prompt_id, f.sample) for f in failures if f.prompt_id is not None}
    results = {
        "schema": SCHEMA,
        "suite": suite.describe() if suite else None,
        "generator": generator_desc,
        "metrics": {name: res.to_dict() for name, res in metric_results.items()},
        "metric_plugins": {m.name: {"outputs": dict(m.outputs), "settings": m.settings()} for m in metrics},
        "counts": {"videos": len(items), "failed_videos": len(failed_keys),
                   "scored_videos": len(items) - len({(it.prompt.id, it.sample) for it in items} & failed_keys)},
        "failures": [f.to_dict() for f in failures],
        # Remarks about how clips were decoded (a short decode...): nothing about a clip's frames is silent.
        "notes": [{"path": str(it.path), "prompt_id": it.prompt.id, "sample": it.sample, "note": note}
                  for it in items for note in merged_notes.get(it.key, [])],
        "toy_models": sorted({res.toy_model for res in metric_results.values() if res.toy_model}),
        # Metrics of the default list that were left out, with why (e.g. fvd without --reference).
        "skipped_metrics": dict(skipped_metrics or {}),
        # The prompts with at least one clip that some metric scored: what leaderboard/check compare runs on.
        "prompt_ids": sorted({it.prompt.id for it in items if any(it.key in merged[m.name] for m in metrics)}),
        "provenance": provenance,
    }
    if reference:
        results["reference"] = str(reference)
    _write_per_video(out_dir / "per_video.csv", items, value_rows, failures,
                     {k: [*merged_notes.get(k, []), *clip_remarks.get(k, [])] for k in {*merged_notes, *clip_remarks}})
    atomic_write_json(out_dir / "results.json", results)
    dist.barrier()
    return results


def _per_video(metric: VideoMetric, items: list[VideoItem], features: dict[str, Any]
               ) -> tuple[list[ClipRecord], dict[str, dict[str, float]], dict[str, str]]:
    """One metric's records, per-video values and per-clip remarks (e.g. why a semantic metric does not score a
    clip: per_video.csv says so per clip), for the clips it has features of."""
    records, values, remarks = [], {}, {}
    for it in items:
        feats = features.get(it.key)
        if feats is None:
            continue
        values[it.key] = metric.per_video(feats)
        remark = metric.per_video_note(feats)
        if remark:
            remarks[it.key] = remark
        records.append(ClipRecord(it.prompt, it.sample, feats, values[it.key]))
    return records, values, remarks


def _write_per_video(path: Path, items: list[VideoItem], values: dict[str, dict[str, float]],
                     failures: list[Failure], notes: dict[str, list[str]] | None = None) -> None:
    import pandas as pd

    errors: dict[tuple[str, int], list[str]] = {}
    for f in failures:
        if f.prompt_id is not None:
            errors.setdefault((f.prompt_id, f.sample), []).append(f.error)
    rows = []
    for it in items:
        err = errors.get((it.prompt.id, it.sample))
        rows.append({"prompt_id": it.prompt.id, "sample": it.sample, "category": it.prompt.category,
                     "dimensions": ";".join(it.prompt.dimensions),
                     "text": it.prompt.text if it.prompt.has_text else "", "path": str(it.path),
                     "status": "failed" if err else "ok", "error": " | ".join(err) if err else "",
                     "notes": " | ".join((notes or {}).get(it.key, [])), **values.get(it.key, {})})
    df = pd.DataFrame(rows)
    atomic_write_text(path, df.to_csv(index=False))


def load_run_manifest(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / RUN_MANIFEST
    return read_json(path) if path.exists() else None


def resolve_suite(name_or_path: str | None, run_dir: str | Path | None = None) -> Suite:
    """The suite named on the command line, else the one a run was generated with, else ``standard``."""
    manifest = load_run_manifest(run_dir) if run_dir else None
    recorded = (manifest or {}).get("suite") or {}
    if name_or_path:
        suite = load_suite(name_or_path)
    elif recorded:
        source = manifest.get("suite_source")
        suite = load_suite(source if source and source != "builtin" else recorded["name"])
    else:
        return load_suite("standard")
    if recorded.get("sha256") and suite.sha256 != recorded["sha256"] and manifest.get("prompt_ids"):
        ids = set(manifest["prompt_ids"])
        subset = replace(suite, prompts=[p for p in suite.prompts if p.id in ids])
        if subset.sha256 == recorded["sha256"]:
            return subset  # the run used part of the suite (--limit): score it as that part
    return suite


def parse_metric_args(values: Sequence[str] | None) -> dict[str, dict[str, str]]:
    """``["clip.frames=8", "fvd.dtype=float32,fvd.batch_size=4"]`` -> ``{"clip": {"frames": "8"}, ...}``."""
    out: dict[str, dict[str, str]] = {}
    for value in values or []:
        for part in value.split(","):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            metric, dot, arg = key.strip().partition(".")
            if not sep or not dot:
                raise VbenchError(f"--metric-args: expected metric.key=value, got {part!r}")
            out.setdefault(metric, {})[arg] = val
    return out


__all__ = [
    "Failure", "GenerationSettings", "ScoreSettings", "VideoItem", "build_metrics", "clip_path", "collect_videos",
    "extract_all", "feature_dir", "generate", "load_features", "load_run_manifest", "parse_metric_args",
    "resolve_suite", "save_features", "score",
]

