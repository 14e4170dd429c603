"""Imaging quality: pyiqa's MUSIQ loads a random-init checkpoint of its layout, rejects another, and the metric is
VBench's per-frame mean / 100 with VBench's resize (skipped when the optional pyiqa is absent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyiqa", reason="imaging_quality needs the optional pyiqa (vbench-lite[iqa])")

from metrics.image_features import build_musiq, musiq_class
from metrics.imaging_quality import ImagingQuality
from tests.metrics.tester import tiny_clips
from tests.metrics.vbench_fixtures import musiq_file
from vbench_lite.types import Clip, VbenchError


def test_musiq_checkpoint_round_trips_with_a_module_prefix(tmp_path):
    state = torch.load(musiq_file(), weights_only=True)
    path = tmp_path / "musiq_spaq_ckpt.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)  # pyiqa's clean_state_dict strips it too
    got = build_musiq(path, [32]).state_dict()
    assert all(torch.equal(got[k], v) for k, v in state.items())


def test_a_ten_class_musiq_file_is_one_line(tmp_path):
    path = tmp_path / "musiq_ava.pth"
    torch.save(musiq_class()(pretrained=False, num_class=10).state_dict(), path)
    with pytest.raises(VbenchError) as info:
        build_musiq(path, [32])
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_value_is_the_frame_mean_over_100_and_frames_are_resized_as_vbench():
    metric = ImagingQuality(weights=str(musiq_file()), scales="32", device="cpu")
    clip = tiny_clips(1, frames=3, size=40)[0]
    x = torch.Tensor(clip.frames).permute(0, 3, 1, 2) / 255.0  # no resize: the long side is under 512
    with torch.no_grad():
        scores = [float(metric.network(x[i:i + 1])) for i in range(3)]
    got = metric.extract([clip], [None])[0]
    assert float(got["imaging_quality"]) == pytest.approx(np.mean(scores) / 100, abs=1e-12)  # same calls
    still = Clip(np.repeat(clip.frames[:1], 3, axis=0))
    assert np.ptp(metric.extract([still], [None])[0]["frame_scores"]) == 0.0  # a per-frame measure


def test_bad_scales_are_refused():
    with pytest.raises(VbenchError, match="scales"):
        ImagingQuality(weights=str(musiq_file()), scales="8")
