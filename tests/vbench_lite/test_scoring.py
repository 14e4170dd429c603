"""The streaming extraction (vbench_lite.streaming via scoring.extract_all): decode workers never change a byte, the
number of clips in flight is bounded, --device reaches every model metric, and FVD's numeric policy is recorded."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from metrics.base import VideoMetric, checked_clips
from metrics.clip_similarity import ClipSimilarity
from metrics.fvd import FrechetVideoDistance
from metrics.hardware import tf32_policy
from tests.fixtures.brightness import BrightnessMetric
from tests.reference_models.test_i3d import random_model
from vbench_lite.scoring import ScoreSettings, VideoItem, extract_all
from vbench_lite.stages import StageTimes
from vbench_lite.streaming import PREFETCH, default_workers
from vbench_lite.types import Clip, Prompt
from vbench_lite.video_io import write_video

SMALL = {"num_frames": 9, "size": 64}  # the smallest protocol the I3D runs (as tests/metrics/test_fvd.py)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "random-i3d.safetensors"
    save_file({k: v.contiguous() for k, v in random_model(seed=3).state_dict().items()}, str(path))
    return path


def _videos(root: Path, n: int, frames: int = 10) -> list[VideoItem]:
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        video = rng.integers(0, 256, size=(frames, 32, 40, 3), dtype=np.uint8)
        path = write_video(root / f"p{i:02d}" / "0.mp4", Clip(video, fps=8.0), lossless=False)
        items.append(VideoItem(Prompt(id=f"p{i:02d}", text=f"prompt {i}"), 0, Path(path)))
    return items


def _load_all(out: Path) -> dict[str, dict[str, np.ndarray]]:
    found = {}
    for f in sorted(out.rglob("*.npz")):
        with np.load(f) as data:
            found[str(f.relative_to(out))] = {k: data[k] for k in data.files}
    return found


def test_workers_and_no_workers_give_identical_features(tmp_path, weights):
    items = _videos(tmp_path / "videos", 7)
    short = write_video(tmp_path / "videos" / "short" / "0.mp4", Clip(np.zeros((4, 32, 32, 3), np.uint8)))
    broken = tmp_path / "videos" / "broken" / "0.mp4"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a video")
    items += [VideoItem(Prompt(id="short", text="s"), 0, Path(short)), VideoItem(Prompt(id="broken", text="b"), 0,
                                                                                  broken)]
    runs = {}
    for workers in (0, 2):
        metrics = [FrechetVideoDistance(weights=str(weights), **SMALL, batch_size=2, device="cpu"),
                   BrightnessMetric(), ClipSimilarity(frames=3, batch_size=4, device="cpu")]
        out = tmp_path / f"w{workers}"
        stages = StageTimes()
        _feats, failures, notes = extract_all(items, metrics, out, ScoreSettings(batch_size=3, workers=workers),
                                              progress=False, stages=stages)
        runs[workers] = (_load_all(out), sorted((f.path, f.stage, f.error) for f in failures), notes)
        assert {"decode", "preprocess:fvd", "preprocess:clip", "model:fvd", "model:brightness",
                "model:clip"} <= set(stages.seconds)
    (files0, fail0, notes0), (files2, fail2, notes2) = runs[0], runs[2]
    assert fail0 == fail2 and notes0 == notes2
    # the short clip fails fvd only (its preparer refused it, one line); the broken file fails to decode
    assert [(Path(p).parent.name, stage) for p, stage, _ in fail0] == [("broken", "decode"), ("short", "metric:fvd")]
    assert "FVD protocol needs 9" in fail0[1][2]
    # + brightness and clip of the short clip
    assert files0.keys() == files2.keys() and len(files0) == 7 * 3 + 2
    for name, arrays in files0.items():
        for key, value in arrays.items():
            other = files2[name][key]
            assert value.dtype == other.dtype and value.tobytes() == other.tobytes(), (name, key)


def test_fvd_prepared_path_equals_extract(weights):
    metric = FrechetVideoDistance(weights=str(weights), **SMALL, batch_size=2, device="cpu")
    rng = np.random.default_rng(1)
    clips = [Clip(rng.integers(0, 256, size=(10, 24, 30, 3), dtype=np.uint8)) for _ in range(5)]
    prompts = [Prompt(id="x", text="x")] * 5
    prepare = metric.preparer()
    direct = metric.extract(clips, prompts)
    prepared = metric.extract_prepared(clips, prompts, [prepare(c) for c in clips])
    for a, b in zip(direct, prepared):
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), k  # the same batches through the same network: exact


@pytest.mark.parametrize("policy", ["uniform", "all"])
def test_clip_prepared_path_equals_extract(policy):
    """Pixels made in a worker give the same bytes as ``extract``: mixed frame sizes (grouped by size) and frame
    counts, and a batch_size that cuts the concatenated frames across clip boundaries."""
    metric = ClipSimilarity(frames=3, policy=policy, batch_size=4, device="cpu")
    rng = np.random.default_rng(2)
    shapes = [(5, 24, 30), (2, 24, 30), (4, 40, 32), (6, 24, 30), (1, 40, 32)]
    clips = [Clip(rng.integers(0, 256, size=(*s, 3), dtype=np.uint8)) for s in shapes]
    prompts = [Prompt(id=f"p{i}", text=f"a red square {i}") for i in range(len(clips))]
    prepare = pickle.loads(pickle.dumps(metric.preparer()))  # as a decode worker receives it
    direct = metric.extract(clips, prompts)
    prepared = metric.extract_prepared(clips, prompts, [prepare(c) for c in clips])
    for a, b in zip(direct, prepared, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k  # same forwards: exact


class _SlowMetric(VideoMetric):
    """A model that takes 50 ms a batch; its preparer logs every clip it prepares (one line each, appended from
    any worker process), so each extract call sees how many clips were decoded and not yet consumed."""

    name = "slow"
    outputs = {"slow": True}
    log: str = ""
    consumed = 0
    in_flight: list[int] = []  # a per-test record, reset by the test

    def preparer(self):
        return _LogPrepared(self.log)

    def extract_prepared(self, clips, prompts, prepared):
        with open(self.log) as fh:
            made = sum(1 for _ in fh)
        type(self).in_flight.append(made - type(self).consumed)
        time.sleep(0.05)
        type(self).consumed += len(clips)
        return [{"slow": np.float64(p)} for p in prepared]

    def extract(self, clips, prompts):
        return [{"slow": np.float64(c.num_frames)} for c in checked_clips(clips)]


class _LogPrepared:
    def __init__(self, log: str) -> None:
        self.log = log

    def __call__(self, clip: Clip) -> float:
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return float(clip.num_frames)


def test_clips_in_flight_are_bounded(tmp_path):
    items = _videos(tmp_path / "videos", 24, frames=3)
    _SlowMetric.log, _SlowMetric.consumed, _SlowMetric.in_flight = str(tmp_path / "log.txt"), 0, []
    Path(_SlowMetric.log).write_text("")
    workers, batch = 2, 2
    feats, failures, _ = extract_all(items, [_SlowMetric()], tmp_path / "out",
                                     ScoreSettings(batch_size=batch, workers=workers), progress=False)
    assert not failures and len(feats["slow"]) == 24
    assert all(float(f["slow"]) == 3.0 for f in feats["slow"].values())
    # at most PREFETCH batches per worker ready, plus the batch the model holds: never the whole run
    bound = (workers * PREFETCH + 1) * batch
    assert max(_SlowMetric.in_flight) <= bound < len(items), _SlowMetric.in_flight


def test_default_workers_follow_the_cpu_share(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_workers() == 8  # capped
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_workers() == 3  # 4 CPUs per rank, one left for the rank itself
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert default_workers() == 0
    assert "workers" not in ScoreSettings(workers=3).to_dict()  # speed only: not in results.json


def test_device_option_reaches_model_metrics_and_metric_args_win(weights):
    from vbench_lite.pipeline import build_metrics

    args = {"fvd": {"weights": str(weights), "num_frames": "9", "size": "64"}}
    metrics, failures = build_metrics(["fvd", "temporal"], args, device="cuda")
    assert not failures
    fvd = metrics[0]
    assert fvd.i3d_device == "cuda" and fvd.settings()["device"] == "cuda"  # built lazily: no GPU needed here
    metrics, _ = build_metrics(["fvd"], {"fvd": {**args["fvd"], "device": "cpu"}}, device="cuda")
    assert metrics[0].i3d_device == "cpu"


def test_fvd_records_and_keys_its_numeric_policy(weights):
    cpu = FrechetVideoDistance(weights=str(weights), **SMALL, device="cpu")
    gpu = FrechetVideoDistance(weights=str(weights), **SMALL, device="cuda")
    gpu_tf32 = FrechetVideoDistance(weights=str(weights), **SMALL, device="cuda", tf32="true")
    assert (cpu.settings()["device"], cpu.settings()["dtype"], cpu.settings()["tf32"]) == ("cpu", "float32", False)
    assert gpu.settings()["tf32"] is False and gpu_tf32.settings()["tf32"] is True
    assert len({cpu.cache_key(), gpu.cache_key(), gpu_tf32.cache_key()}) == 3
    assert FrechetVideoDistance(weights=str(weights), **SMALL, device="cuda:1").cache_key() == gpu.cache_key()


def test_tf32_is_off_for_the_extraction_and_restored(monkeypatch):
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        with tf32_policy(torch.device("cuda"), False):
            assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        with tf32_policy(torch.device("cpu"), False):  # nothing to do on a CPU
            assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def test_clip_defaults_to_cuda_when_available(monkeypatch):
    import metrics.clip_similarity as cs

    seen = {}

    def fake_load(model, pretrained, *, device, **kw):
        seen["load"] = device
        raise cs.VbenchError("stop here: no GPU on this runner")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cs, "load_clip", fake_load)
    with pytest.raises(cs.VbenchError, match="stop here"):
        cs.ClipSimilarity()
    assert seen["load"] == "cuda"
    with pytest.raises(cs.VbenchError):
        cs.ClipSimilarity(device="cpu")
    assert seen["load"] == "cpu"


def test_device_option_is_checked_before_anything_runs(monkeypatch):
    import argparse

    from vbench_lite.commands._common import check_device, device_name
    from vbench_lite.types import VbenchError

    assert [device_name(d) for d in ("cpu", "CUDA", "cuda:1")] == ["cpu", "cuda", "cuda:1"]
    with pytest.raises(argparse.ArgumentTypeError, match="expected cpu, cuda or cuda:N"):
        device_name("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    check_device("cpu")
    with pytest.raises(VbenchError, match=r"^--device cuda: torch sees no CUDA device\(s\) here; use --device cpu$"):
        check_device("cuda")


class _DropsAClip(VideoMetric):
    """A buggy metric: one feature set short for every batch of more than one clip."""

    name = "drops"
    outputs = {"drops": True}

    def extract(self, clips, prompts):
        return [{"drops": np.float64(c.num_frames)} for c in checked_clips(clips)][:max(1, len(clips) - 1)]


def test_a_metric_that_returns_too_few_feature_sets_loses_no_clip_silently(tmp_path):
    items = _videos(tmp_path / "videos", 4, frames=3)
    feats, failures, _ = extract_all(items, [_DropsAClip()], tmp_path / "out",
                                     ScoreSettings(batch_size=4, workers=0), progress=False)
    # the batch is retried one clip at a time, where the bug does not bite: every clip scored, none vanished
    assert not failures and len(feats["drops"]) == 4


def test_small_model_runs_with_its_thread_count_and_the_policy_is_recorded(tmp_path):
    """The pipeline runs a metric's model with its ``model_threads`` (the toy CLIP: 1, recorded in provenance)
    and gives torch its thread count back afterwards."""
    seen = []

    class _Small(BrightnessMetric):
        model_threads = 1

        def extract(self, clips, prompts):
            seen.append(torch.get_num_threads())
            return super().extract(clips, prompts)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        extract_all(_videos(tmp_path / "videos", 2), [_Small()], tmp_path / "out",
                    ScoreSettings(batch_size=2, workers=0), progress=False)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    clip = ClipSimilarity(device="cpu")
    assert clip.model_threads == 1 and clip.provenance()["clip:torch_threads"] == 1
