"""torchrun with 2 CPU processes (gloo) gives the same results as one process."""

from __future__ import annotations

import csv
import functools
import json
import operator
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_PLUGINS
from vbench_lite.distributed import DistContext

REPO = Path(__file__).resolve().parents[2]


def test_shards_are_disjoint_and_cover_everything():
    items = list(range(11))
    shards = [DistContext(rank=r, world_size=3).shard(items) for r in range(3)]
    assert sorted(functools.reduce(operator.iadd, shards, [])) == items
    assert [len(s) for s in shards] == [4, 4, 3]
    assert DistContext().shard(items) == items


def _launch(args, out, nproc, extra_env=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(FIXTURE_PLUGINS)]), OMP_NUM_THREADS="1",
               **(extra_env or {}))
    if nproc == 1:
        cmd = [sys.executable, "-m", "vbench_lite", *args, "--out", str(out)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "vbench_lite", *args, "--out", str(out)]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _rows(path):
    with open(path, newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: (r["prompt_id"], r["sample"]))


RUN_ARGS = ["run", "--generator", "synthetic", "--suite", "synthetic", "--limit", "5", "--samples", "2",
            "--metrics", "brightness", "--no-progress", "--no-report"]


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    p1 = _launch(RUN_ARGS, one, 1)
    assert p1.returncode == 0, p1.stderr
    p2 = _launch(RUN_ARGS, two, 2)
    assert p2.returncode == 0, p2.stderr[-3000:]
    r1 = json.loads((one / "results.json").read_text())
    r2 = json.loads((two / "results.json").read_text())
    assert r2["provenance"]["world_size"] == 2
    for name, m1 in r1["metrics"].items():
        m2 = r2["metrics"][name]
        assert m2["n"] == m1["n"] == 10
        assert m2["value"] == pytest.approx(m1["value"], abs=1e-6)
        assert m2["ci95"] == pytest.approx(m1["ci95"], abs=1e-6)
    rows1 = [{k: v for k, v in r.items() if k != "path"} for r in _rows(one / "per_video.csv")]
    rows2 = [{k: v for k, v in r.items() if k != "path"} for r in _rows(two / "per_video.csv")]
    assert rows1 == rows2
    # each clip was made once, by one rank, and the bytes equal the single-process run's
    for clip in one.glob("clips/*/*.mp4"):
        assert (two / clip.relative_to(one)).read_bytes() == clip.read_bytes()


@pytest.mark.slow
def test_failed_rank_inputs_are_reported_and_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    args = ["run", "--generator", "python", "--generator-args",
            "callable=tests.vbench_lite.crashy:synthetic_then_die,pass=prompt", "--suite", "synthetic",
            "--limit", "4", "--metrics", "brightness", "--no-progress", "--no-report"]
    # rank-local failure: a generator that raises for one prompt is reported by the rank that owned it
    env = {"VBENCH_FAIL_PROMPT": "a-red-circle-moving-right-on-a-gray-background"}
    proc = _launch(args, out, 2, env)
    assert proc.returncode == 1, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert [f["prompt_id"] for f in results["failures"]] == [env["VBENCH_FAIL_PROMPT"]]
    assert results["counts"]["videos"] == 3
    assert not list(out.rglob(".*tmp*"))
    proc = _launch(args, out, 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "generated 1 clips, 3 already present" in proc.stdout
    assert json.loads((out / "results.json").read_text())["counts"]["videos"] == 4


@pytest.mark.slow
def test_two_ranks_with_two_workers_each_equal_one_rank_without_workers(tmp_path):
    # Each rank streams its shard through its own decode workers: neither the workers nor the ranks may change
    # a number (exact equality: brightness is a float64 mean, gathered unchanged).
    one, two = tmp_path / "one", tmp_path / "two"
    p1 = _launch([*RUN_ARGS, "--workers", "0"], one, 1)
    assert p1.returncode == 0, p1.stderr
    p2 = _launch([*RUN_ARGS, "--workers", "2"], two, 2)
    assert p2.returncode == 0, p2.stderr[-3000:]
    r1 = json.loads((one / "results.json").read_text())
    r2 = json.loads((two / "results.json").read_text())
    assert r2["provenance"]["world_size"] == 2
    assert r1["metrics"] == r2["metrics"]
    rows1 = [{k: v for k, v in r.items() if k != "path"} for r in _rows(one / "per_video.csv")]
    rows2 = [{k: v for k, v in r.items() if k != "path"} for r in _rows(two / "per_video.csv")]
    assert rows1 == rows2 and len(rows1) == 10


@pytest.mark.slow
def test_a_metric_without_weights_is_said_once_under_two_ranks_and_the_others_are_kept(tmp_path):
    # Every rank builds its own metrics (on its own device); only rank 0 says that one cannot be built.
    out = tmp_path / "run"
    args = [*RUN_ARGS[:-4], "--metrics", "brightness,subject_consistency", "--no-progress", "--no-report"]
    proc = _launch(args, out, 2, {"VBENCH_LITE_CACHE": str(tmp_path / "cache")})  # an empty zoo cache: no DINO
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert proc.stderr.count("weights fetch dino-vitb16") == 1, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["metrics"]["brightness"]["n"] == 10 and "subject_consistency" not in results["metrics"]
    assert [f["stage"] for f in results["failures"]] == ["metric:subject_consistency"]
