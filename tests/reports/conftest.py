"""Fixtures of the report tests: real run folders made by `vbench-lite run`, and hand-written results files."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from vbench_lite.cli import main
from vbench_lite.results import SCHEMA

SUITE = {"name": "synthetic", "version": "1.0.1", "sha256": "a" * 64, "n_prompts": 4}


def make_run(tmp: Path, generator_args: str | None, name: str, metrics: str = "brightness,temporal") -> Path:
    out = tmp / name
    argv = ["run", "--generator", "synthetic", "--suite", "synthetic", "--limit", "4", "--frames", "8", "--size",
            "32", "--metrics", metrics, "--out", str(out), "--no-progress"]
    if generator_args:
        argv += ["--generator-args", generator_args]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory) -> dict[str, Path]:
    """Two scored runs of the synthetic suite (4 prompts): the exact renderer and its noisy variant."""
    root = tmp_path_factory.mktemp("runs")
    return {"clean": make_run(root, None, "clean"), "noisy": make_run(root, "defect=noise", "noisy")}


@pytest.fixture
def copied_run(real_runs, tmp_path) -> Path:
    """A private copy of the clean run, free to edit."""
    dst = tmp_path / "copy"
    shutil.copytree(real_runs["clean"], dst)
    return dst


def metric_entry(value, ci=None, n=8, higher=True, by_dimension=None) -> dict:
    entry = {"value": value, "ci95": ci, "n": n, "higher_is_better": higher, "settings": {}}
    if by_dimension:
        entry["by_dimension"] = by_dimension
    return entry


def results_dict(metrics: dict, *, suite=None, generator=None, weights=None, protocols=None) -> dict:
    return {"schema": SCHEMA, "suite": copy.deepcopy(suite or SUITE),
            "generator": generator or {"name": "synthetic", "args": {}}, "metrics": copy.deepcopy(metrics),
            "counts": {"videos": 8, "failed_videos": 0, "scored_videos": 8}, "failures": [],
            "provenance": {"weights": dict(weights or {}), "protocols": dict(protocols or {}), "seed": 0}}


def write_results(folder: Path, results: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    return folder
