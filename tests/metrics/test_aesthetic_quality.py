"""Aesthetic quality: the LAION heads' official layouts round-trip, mismatches are one line, and the metric equals
VBench's computation (unit CLIP embedding -> head -> mean / 10) done by hand with the toy CLIP and a random head."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from metrics.aesthetic_quality import AestheticQuality
from metrics.functional.vbench_consistency import vbench_pixels
from metrics.image_features import AestheticMLP, build_aesthetic_head
from reference_models.toy_clip import WEIGHTS_PATH
from tests.metrics.tester import tiny_clips
from tests.metrics.vbench_fixtures import aesthetic_file
from vbench_lite.types import VbenchError


def test_linear_head_layout_round_trips(tmp_path):
    # sa_0_4_vit_l_14_linear.pth: the state dict of nn.Linear(768, 1): weight (1, 768), bias (1,), float32
    state = {"weight": torch.randn(1, 768), "bias": torch.randn(1)}
    path = tmp_path / "sa_0_4_vit_l_14_linear.pth"
    torch.save(state, path)
    head = build_aesthetic_head(path, "linear", 768)
    assert torch.equal(head.weight, state["weight"]) and torch.equal(head.bias, state["bias"])


def test_mlp_head_layout_round_trips(tmp_path):
    # sac+logos+ava1-l14-linearMSE.pth: layers.{0,2,4,6,7}.{weight,bias}
    names = {k for k in AestheticMLP(768).state_dict()}
    assert names == {f"layers.{i}.{p}" for i in (0, 2, 4, 6, 7) for p in ("weight", "bias")}
    state = {k: torch.randn_like(v) for k, v in AestheticMLP(768).state_dict().items()}
    path = tmp_path / "v2.pth"
    torch.save(state, path)
    got = build_aesthetic_head(path, "mlp", 768).state_dict()
    assert all(torch.equal(got[k], v) for k, v in state.items())


def test_mismatched_heads_are_one_line(tmp_path):
    linear = aesthetic_file("linear", 64)
    for kind, dim, match in (("mlp", 64, "missing"), ("linear", 768, "another shape")):
        with pytest.raises(VbenchError) as info:
            build_aesthetic_head(linear, kind, dim)
        assert match in str(info.value) and str(linear) in str(info.value) and "\n" not in str(info.value)
    ints = tmp_path / "ints.pth"
    torch.save({"weight": torch.ones(1, 64, dtype=torch.int64), "bias": torch.ones(1, dtype=torch.int64)}, ints)
    with pytest.raises(VbenchError, match="not floating point"):
        build_aesthetic_head(ints, "linear", 64)


@pytest.mark.skipif(not WEIGHTS_PATH.exists(), reason="toy CLIP weights not trained yet")
def test_value_equals_hand_computation_with_the_toy_clip():
    metric = AestheticQuality(model="vbench-toy-clip", head_weights=str(aesthetic_file()), device="cpu")
    clip = tiny_clips(1, frames=5, size=40)[0]
    loaded = metric.loaded
    head = torch.nn.Linear(64, 1)
    head.load_state_dict(torch.load(aesthetic_file(), weights_only=True))
    with torch.no_grad():
        feats = loaded.model.encode_image(vbench_pixels(clip.frames, "clip", loaded.image_size, loaded.mean,
                                                        loaded.std)).float()
        scores = head(F.normalize(feats, dim=-1, p=2)).squeeze(-1).double()
    got = metric.extract([clip], [None])[0]
    assert float(got["aesthetic_quality"]) == pytest.approx(float(scores.mean() / 10), abs=1e-7)  # float32 head
    assert len(got["frame_scores"]) == 5
