"""VBench dimension scores as entries of our ``results.json``, and a VBench results folder as a run of ours.

A dimension is stored under our metric output name (``temporal_flickering`` -> ``temporal_flicker``), the aggregate
as ``vbench_total``, ``vbench_quality``, ``vbench_semantic`` (only when computable), and the raw VBench numbers under
the top-level key ``vbench``. A run scored with ``score --mode vbench`` and a run imported with ``import-vbench``
therefore have the same metric names, the same suite (name and sha256) and can share a leaderboard.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vbench_lite.results import SCHEMA, atomic_write_json, base_provenance, now_iso
from vbench_lite.vbench_compat.aggregate import vbench_aggregate
from vbench_lite.vbench_compat.dimensions import BY_NAME, DIMENSIONS, VBENCH_COMMIT
from vbench_lite.vbench_compat.results_io import read_results_folder

AGGREGATES = ("total", "quality", "semantic")


def _numbers(values: list[Any]) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append(float(v))  # dynamic_degree's per-video result is a bool in VBench
        elif isinstance(v, (int, float)) and math.isfinite(float(v)):
            out.append(float(v))
    return out


def dimension_entry(name: str, score: float, per_video: list[Any], seed: int = 0) -> dict[str, Any]:
    """The results.json metric entry of one VBench dimension score (ci95 from the per-video values when known)."""
    from metrics.functional.aggregate import summarize

    values = _numbers(per_video)
    ci = summarize(values, seed=seed)["ci95"] if len(values) > 1 else [None, None]
    return {"value": score, "ci95": ci, "n": len(per_video), "higher_is_better": True,
            "family": f"vbench_{BY_NAME[name].group}", "settings": {"vbench_dimension": name}}


def aggregate_entries(aggregate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"vbench_{key}": {"value": aggregate[key], "ci95": None, "higher_is_better": True,
                              "family": "vbench_total", "settings": {"vbench_commit": VBENCH_COMMIT}}
            for key in AGGREGATES if aggregate[key] is not None}


def vbench_block(scores: dict[str, float], aggregate: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"commit": VBENCH_COMMIT, "dimensions": dict(scores), "aggregate": aggregate, **extra}


def build_imported_run(found: dict[str, dict[str, Any]], *, suite, source: str, name: str | None) -> dict[str, Any]:
    """The results.json of an imported VBench evaluation (see :func:`read_results_folder` for ``found``)."""
    by_text = {p.text: p.id for p in suite.prompts}
    metrics: dict[str, dict[str, Any]] = {}
    scores: dict[str, float] = {}
    prompt_ids: set[str] = set()
    videos: set[str] = set()
    for dim in [d.name for d in DIMENSIONS if d.name in found]:  # VBench's order, whatever the files' order
        info = found[dim]
        scores[dim] = info["score"]
        metrics[BY_NAME[dim].output] = dimension_entry(dim, info["score"], [v for _, v in info["videos"]])
        for path, _value in info["videos"]:
            videos.add(path)
            stem = Path(path).stem
            text, dash, index = stem.rpartition("-")
            if dash and index.isdigit() and text in by_text:
                prompt_ids.add(by_text[text])
    aggregate = vbench_aggregate(scores)
    metrics.update(aggregate_entries(aggregate))
    provenance = base_provenance(None)
    provenance["imported"] = {"from": source, "at": now_iso(), "tool": "VBench"}
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "suite": suite.describe(),
        "generator": {"name": name or Path(source).name, "args": {"imported_from": source}},
        "metrics": metrics,
        "counts": {"videos": len(videos), "failed_videos": 0, "scored_videos": len(videos)},
        "failures": [],
        "provenance": provenance,
        "vbench": vbench_block(scores, aggregate, files={d: i["file"] for d, i in found.items()}),
    }
    if prompt_ids:
        results["prompt_ids"] = sorted(prompt_ids)
    return results


def import_folder(folder: str | Path, out: str | Path, *, suite, name: str | None = None) -> dict[str, Any]:
    found = read_results_folder(folder)
    results = build_imported_run(found, suite=suite, source=str(folder), name=name)
    atomic_write_json(Path(out) / "results.json", results)
    return results
