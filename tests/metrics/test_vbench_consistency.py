"""VBench's quality-dimension formulas (metrics/functional/vbench_consistency.py) against hand computations.

The hand versions re-derive VBench's published loops (vbench/*.py at 45e79ec) step by step with torch's own
``F.normalize``/``F.cosine_similarity`` and torchvision's transforms, independent of the vectorised code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from metrics.functional.vbench_consistency import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    aesthetic_from_scores,
    center_crop_offsets,
    consistency_terms,
    dynamic_sample_interval,
    imaging_from_scores,
    imaging_resize,
    short_side_resize,
    top_cut_mean,
    vbench_consistency,
    vbench_dynamic,
    vbench_pixels,
    vbench_static,
)


def vbench_loop(features: torch.Tensor) -> float:
    """VBench's subject/background loop: per frame, normalise, compare with the first and the previous frame."""
    video_sim, first, former = 0.0, None, None
    for i in range(len(features)):
        f = F.normalize(features[i:i + 1], dim=-1, p=2)
        if i == 0:
            first = f
        else:
            sim_pre = max(0.0, F.cosine_similarity(former, f).item())
            sim_fir = max(0.0, F.cosine_similarity(first, f).item())
            video_sim += (sim_pre + sim_fir) / 2
        former = f
    return video_sim / (len(features) - 1)


def test_consistency_equals_vbench_loop_on_small_feature_arrays():
    rng = np.random.default_rng(0)
    for t, d in ((2, 3), (5, 4), (9, 16)):
        feats = rng.normal(size=(t, d))
        feats[1] = -feats[0]  # a negative cosine: clamped to 0 by max(0, .)
        # float64 both ways: agreement to float64 rounding (1e-12 leaves room for the summation order)
        assert vbench_consistency(feats) == pytest.approx(vbench_loop(torch.tensor(feats)), abs=1e-12)


def test_consistency_closed_forms():
    e = np.eye(3)
    # frames: e0, e1, e0 -> c1 = (0 + 0)/2, c2 = (cos(e0,e0) + cos(e1,e0))/2 = 1/2
    assert consistency_terms(e[[0, 1, 0]]).tolist() == [0.0, 0.5]
    assert vbench_consistency(np.ones((4, 5))) == pytest.approx(1.0, abs=1e-15)
    assert np.isnan(vbench_consistency(np.ones((1, 5))))
    with pytest.raises(ValueError, match="expected \\(T, D\\)"):
        consistency_terms(np.ones(3))


def test_aesthetic_and_imaging_scaling():
    assert aesthetic_from_scores([5.0, 6.0, 7.0]) == pytest.approx(0.6, abs=1e-15)
    assert imaging_from_scores(np.array([40.0, 60.0])) == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("hw", [(32, 48), (48, 32), (240, 427), (224, 224), (17, 300)])
def test_dino_pixels_equal_torchvision_dino_transform(hw):
    frames = np.random.default_rng(1).integers(0, 256, size=(2, *hw, 3), dtype=np.uint8)
    # VBench's dino_transform(224) on torch.Tensor(frames) (float 0..255, (T, C, H, W))
    ref = transforms.Compose([transforms.Resize(size=224, antialias=False), transforms.Lambda(lambda x: x / 255.0),
                              transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])(
        torch.Tensor(frames).permute(0, 3, 1, 2))
    ours = vbench_pixels(frames, "dino")
    assert ours.shape == ref.shape and min(ours.shape[-2:]) == 224
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)  # same interpolate call: float32 rounding only


@pytest.mark.parametrize("hw", [(32, 48), (240, 427), (225, 300)])
def test_clip_pixels_equal_torchvision_clip_transform(hw):
    frames = np.random.default_rng(2).integers(0, 256, size=(2, *hw, 3), dtype=np.uint8)
    ref = transforms.Compose([transforms.Resize(224, interpolation=InterpolationMode.BICUBIC, antialias=False),
                              transforms.CenterCrop(224), transforms.Lambda(lambda x: x.float().div(255.0)),
                              transforms.Normalize(CLIP_MEAN, CLIP_STD)])(torch.Tensor(frames).permute(0, 3, 1, 2))
    torch.testing.assert_close(vbench_pixels(frames, "clip"), ref, rtol=0, atol=1e-5)


def test_imaging_resize_follows_vbench_longer_mode():
    assert imaging_resize(480, 640) == (384, 512)  # scale 0.8
    assert imaging_resize(720, 1280) == (288, 512)
    assert imaging_resize(300, 400) == (300, 400)  # not larger than 512: unchanged
    assert imaging_resize(720, 1280, "shorter") == (512, int(512 / 720 * 1280))
    frames = np.random.default_rng(3).integers(0, 256, size=(1, 600, 800, 3), dtype=np.uint8)
    ref = transforms.Resize(size=(384, 512), antialias=False)(torch.Tensor(frames).permute(0, 3, 1, 2)) / 255.0
    torch.testing.assert_close(vbench_pixels(frames, "musiq_longer"), ref, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="unknown preprocessing mode"):
        imaging_resize(10, 10, "middle")


def test_resize_geometry_helpers():
    assert short_side_resize(240, 427, 224) == (224, int(224 * 427 / 240))
    assert short_side_resize(427, 240, 224) == (int(224 * 427 / 240), 224)
    assert center_crop_offsets(224, 398, 224) == (0, 87)


def test_top_cut_mean_is_vbench_cut_index():
    mag = np.arange(100, dtype=np.float64).reshape(10, 10)
    assert top_cut_mean(mag, 0.05) == pytest.approx(np.mean([95, 96, 97, 98, 99]), abs=1e-12)
    assert top_cut_mean(mag, 0.02) == pytest.approx(98.5, abs=1e-12)
    assert np.isnan(top_cut_mean(np.ones((3, 3)), 0.05))  # int(9 * 0.05) = 0 pixels


def test_dynamic_rule_is_vbench_check_move():
    # 16 frames -> count_num = round(4) = 4; threshold at 256 px = 6.0
    scores = [7.0] * 3 + [1.0] * 12
    assert vbench_dynamic(scores, 256, 256, 16) == 0.0
    assert vbench_dynamic([7.0] * 4 + [1.0] * 11, 256, 256, 16) == 1.0
    assert vbench_dynamic([7.0] * 4, 512, 512, 16) == 0.0  # threshold scales to 12 px
    # 2 frames: round(0.5) = 0 -> VBench's loop returns True at the first pair, whatever it scores
    assert vbench_dynamic([0.0], 256, 256, 2) == 1.0
    assert round(4 * 10 / 16) == 2 and vbench_dynamic([7.0, 7.0, 0, 0, 0, 0, 0, 0, 0], 256, 256, 10) == 1.0
    assert dynamic_sample_interval(24) == 3 and dynamic_sample_interval(20) == 2 and dynamic_sample_interval(8) == 1


def test_static_rule_is_vbench_check_static():
    # 16 frames -> count_num = round(2) = 2, threshold 3 px at 256; closure limit 3 * 2 * 2 = 12 px
    assert vbench_static([4.0, 4.0] + [0.0] * 13, [11.0, 11.0], 256, 256, 16)
    assert not vbench_static([4.0] * 3 + [0.0] * 12, [0.0, 0.0], 256, 256, 16)
    assert not vbench_static([0.0] * 15, [0.0, 12.5], 256, 256, 16)
    with pytest.raises(ValueError, match="2 loop-closure"):
        vbench_static([0.0], [0.0], 64, 64, 2)
