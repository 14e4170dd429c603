"""metrics/video_encoder_weights.py: a random checkpoint in the official VideoMAEv2 layout, converted and loaded by
``weights fetch``'s path, gives the features of a hand-written forward of the official architecture."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metrics.fvd_protocol import FvdProtocol
from metrics.video_encoder_weights import convert_videomae_v2, fetch_videomae_v2
from metrics.video_encoders import CD_FVD_SPACE, VideoEncoderFeatures, resolve_folder
from tests.metrics.tester import tiny_clips
from vbench_lite.types import VbenchError

D, DEPTH, HEADS, MLP, PATCH, FRAMES, SIZE = 16, 2, 2, 32, 16, 10, 32


def official_state(seed=0):
    """Random weights under the VideoMAEv2 VisionTransformer's key names (models/modeling_finetune.py)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.2):
        return torch.randn(*shape, generator=g) * scale

    state = {"patch_embed.proj.weight": r(D, 3, 2, PATCH, PATCH, scale=0.05), "patch_embed.proj.bias": r(D),
             "fc_norm.weight": 1 + r(D), "fc_norm.bias": r(D), "head.weight": r(7, D), "head.bias": r(7)}
    for i in range(DEPTH):
        b = f"blocks.{i}."
        state.update({b + "norm1.weight": 1 + r(D), b + "norm1.bias": r(D), b + "attn.qkv.weight": r(3 * D, D),
                      b + "attn.q_bias": r(D), b + "attn.v_bias": r(D), b + "attn.proj.weight": r(D, D),
                      b + "attn.proj.bias": r(D), b + "norm2.weight": 1 + r(D), b + "norm2.bias": r(D),
                      b + "mlp.fc1.weight": r(MLP, D), b + "mlp.fc1.bias": r(MLP), b + "mlp.fc2.weight": r(D, MLP),
                      b + "mlp.fc2.bias": r(D)})
    return state


def sinusoid(n, d):
    pos = np.arange(n)[:, None] / np.power(10000, 2 * (np.arange(d) // 2) / d)[None, :]
    pos[:, 0::2], pos[:, 1::2] = np.sin(pos[:, 0::2]), np.cos(pos[:, 1::2])
    return torch.tensor(pos, dtype=torch.float32)


def official_forward(state, x):
    """VisionTransformer.forward_features as written in VideoMAEv2 (x: (B, 3, T, H, W) in [0, 1])."""
    x = F.conv3d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=(2, PATCH, PATCH))
    x = x.flatten(2).transpose(1, 2)
    x = x + sinusoid(x.shape[1], D)
    for i in range(DEPTH):
        b = f"blocks.{i}."
        h = F.layer_norm(x, (D,), state[b + "norm1.weight"], state[b + "norm1.bias"], eps=1e-6)
        bias = torch.cat([state[b + "attn.q_bias"], torch.zeros(D), state[b + "attn.v_bias"]])
        qkv = F.linear(h, state[b + "attn.qkv.weight"], bias).reshape(x.shape[0], x.shape[1], 3, HEADS, D // HEADS)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = ((q * (D // HEADS) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(x.shape)
        x = x + F.linear(h, state[b + "attn.proj.weight"], state[b + "attn.proj.bias"])
        h = F.layer_norm(x, (D,), state[b + "norm2.weight"], state[b + "norm2.bias"], eps=1e-6)
        h = F.linear(F.gelu(F.linear(h, state[b + "mlp.fc1.weight"], state[b + "mlp.fc1.bias"])),
                     state[b + "mlp.fc2.weight"], state[b + "mlp.fc2.bias"])
        x = x + h
    return F.layer_norm(x.mean(1), (D,), state["fc_norm.weight"], state["fc_norm.bias"], eps=1e-6)


def test_converted_checkpoint_gives_the_official_architectures_features(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("metrics.video_encoders.VIDEOMAE_V2_G_CONFIG", {
        "image_size": SIZE, "patch_size": PATCH, "num_frames": FRAMES, "tubelet_size": 2, "hidden_size": D,
        "num_hidden_layers": DEPTH, "num_attention_heads": HEADS, "intermediate_size": MLP, "qv_bias": True,
        "use_mean_pooling": True, "layer_norm_eps": 1e-6, "num_labels": 7})
    state = official_state()
    torch.save({"module": state}, tmp_path / "official.pth")
    manifest = fetch_videomae_v2(CD_FVD_SPACE.model, file=tmp_path / "official.pth")
    assert len(manifest["sha256"]) == 64
    source, weights = resolve_folder(CD_FVD_SPACE, CD_FVD_SPACE.model.name, "cd_fvd")  # found in the zoo cache
    assert weights.parent.name == "videomae-v2-g-ssv2"
    ext = VideoEncoderFeatures(CD_FVD_SPACE, source, protocol=FvdProtocol(num_frames=FRAMES, size=SIZE))
    clips = tiny_clips(2)
    got = ext.features([c.frames for c in clips])
    x = torch.stack([ext.prepare(c.frames) for c in clips]).permute(0, 2, 1, 3, 4)  # the official (B, 3, T, H, W)
    with torch.no_grad():
        want = official_forward(state, x).numpy()
    # two float32 implementations of the same maths (fused vs unfused attention): ~1e-6 of values of order 1
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert math.isfinite(float(np.abs(got).sum()))


def test_unknown_keys_are_refused():
    with pytest.raises(VbenchError, match="unexpected key 'pos_embed_extra'"):
        convert_videomae_v2({"pos_embed_extra": torch.zeros(1)})
