"""Subject consistency: the DINO loader (both weight layouts, one-line errors) and the metric against a hand
computation with torchvision's transform and VBench's loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision import transforms

from metrics.functional.vbench_consistency import IMAGENET_MEAN, IMAGENET_STD
from metrics.image_features import build_dino
from metrics.subject_consistency import SubjectConsistency
from tests.metrics.test_vbench_consistency import vbench_loop
from tests.metrics.tester import tiny_clips
from tests.metrics.vbench_fixtures import dino_file
from vbench_lite.types import Clip, VbenchError


def hub_dino_vitb16_layout(seed: int = 0) -> dict[str, torch.Tensor]:
    """torch-hub's ``dino_vitb16`` backbone state dict (dino_vitbase16_pretrain.pth): names and float32 shapes
    written out from facebookresearch/dino's VisionTransformer (embed 768, depth 12, MLP 3072, 14x14 patches)."""
    g = torch.Generator().manual_seed(seed)
    d, hidden = 768, 3072
    shapes = {"cls_token": (1, 1, d), "pos_embed": (1, 197, d), "patch_embed.proj.weight": (d, 3, 16, 16),
              "patch_embed.proj.bias": (d,), "norm.weight": (d,), "norm.bias": (d,)}
    for i in range(12):
        b = f"blocks.{i}."
        shapes.update({b + "norm1.weight": (d,), b + "norm1.bias": (d,), b + "attn.qkv.weight": (3 * d, d),
                       b + "attn.qkv.bias": (3 * d,), b + "attn.proj.weight": (d, d), b + "attn.proj.bias": (d,),
                       b + "norm2.weight": (d,), b + "norm2.bias": (d,), b + "mlp.fc1.weight": (hidden, d),
                       b + "mlp.fc1.bias": (hidden,), b + "mlp.fc2.weight": (d, hidden), b + "mlp.fc2.bias": (d,)})
    return {k: torch.randn(s, generator=g, dtype=torch.float32) * 0.02 for k, s in shapes.items()}


def test_torch_hub_dino_vitb16_file_loads_into_timm_vit_base_dino(tmp_path):
    state = hub_dino_vitb16_layout()
    path = tmp_path / "dino_vitbase16_pretrain.pth"
    torch.save(state, path)
    model = build_dino(path)  # vit_base_patch16_224.dino
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_wrapped_checkpoints_and_safetensors_load(tmp_path):
    from safetensors.torch import save_file

    plain = torch.load(dino_file(), weights_only=True)
    wrapped = tmp_path / "checkpoint.pth"  # DINO's training checkpoint: {"teacher": {"module.backbone.*": ...}}
    torch.save({"teacher": {f"module.backbone.{k}": v for k, v in plain.items()}, "epoch": torch.tensor(3)}, wrapped)
    st = tmp_path / "model.safetensors"
    save_file(plain, str(st))
    for path in (wrapped, st):
        got = build_dino(path, "test_vit").state_dict()
        assert all(torch.equal(got[k], plain[k]) for k in plain)


def test_mismatched_checkpoint_is_one_line(tmp_path):
    with pytest.raises(VbenchError) as info:
        build_dino(dino_file(), "vit_base_patch16_224.dino")  # a width-64 file for the width-768 model
    msg = str(info.value)
    assert "\n" not in msg and str(dino_file()) in msg and "another shape" in msg
    bad = tmp_path / "garbage.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(VbenchError, match="garbage.pth: cannot read"):
        build_dino(bad, "test_vit")


@pytest.fixture(scope="module")
def metric():
    return SubjectConsistency(weights=str(dino_file()), arch="test_vit", device="cpu")


def test_value_equals_hand_computation(metric):
    clip = tiny_clips(1, frames=6, size=40)[0]
    x = torch.Tensor(clip.frames).permute(0, 3, 1, 2)
    pixels = transforms.Compose([transforms.Resize(size=224, antialias=False),
                                 transforms.Lambda(lambda v: v / 255.0),
                                 transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])(x)
    with torch.no_grad():
        feats = torch.cat([metric.network(pixels[i:i + 1]) for i in range(len(pixels))])  # VBench: one at a time
    got = metric.extract([clip], [None])[0]["subject_consistency"]
    # float32 features, batched here vs one at a time there: agreement to ~1e-6, 1e-5 leaves room
    assert float(got) == pytest.approx(vbench_loop(feats.double()), abs=1e-5)


def test_frozen_clip_is_fully_consistent_and_motion_is_less(metric):
    clip = tiny_clips(1, frames=6, size=40)[0]
    frozen = Clip(np.repeat(clip.frames[:1], 6, axis=0), fps=8.0)
    values = [float(f["subject_consistency"]) for f in metric.extract([frozen, clip], [None, None])]
    assert values[0] == pytest.approx(1.0, abs=1e-6)  # identical float32 features: cosine 1 to rounding
    assert values[1] < values[0]


def test_missing_weights_is_one_line_with_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(VbenchError) as info:
        SubjectConsistency(arch="test_vit", device="cpu")
    assert "weights fetch dino-vitb16" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_equals_cpu(metric):
    clip = tiny_clips(1, frames=6, size=40)[0]
    gpu = SubjectConsistency(weights=str(dino_file()), arch="test_vit", device="cuda")
    a = metric.extract([clip], [None])[0]["consistency_terms"]
    b = gpu.extract([clip], [None])[0]["consistency_terms"]
    np.testing.assert_allclose(a, b, atol=1e-4)  # the GPU/CPU bound (TF32 and kernel order)
