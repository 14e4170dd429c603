"""temporal_style: which prompts apply, and the toy backend's value against a hand computation written like
``vbench/temporal_style.py`` (8 middle frames, ``clip_transform``, unit embeddings, cosine). The X-CLIP path is
shared with overall_consistency and tested in test_overall_consistency.py.

Tolerance: 1e-6 against the hand computation (float32 network, float64 cosine).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metrics.base import ClipRecord
from metrics.temporal_style import TemporalStyle
from tests.metrics.test_vbench_video_text import vbench_middle_indices
from tests.metrics.tester import tiny_clips
from vbench_lite.types import Prompt

CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def vbench_clip_transform(n_px: int):
    """``vbench/utils.py:clip_transform`` built from torchvision as VBench builds it."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Lambda, Normalize, Resize

    return Compose([Resize(n_px, interpolation=InterpolationMode.BICUBIC, antialias=False), CenterCrop(n_px),
                    Lambda(lambda x: x.float().div(255.0)), Normalize(CLIP_MEAN, CLIP_STD)])


def test_which_prompts_apply():
    metric = TemporalStyle(model="vbench-toy-clip", device="cpu")
    ps = [Prompt(id="a", text="a dog running, in super slow motion", dimensions=["temporal_style"]),
          Prompt(id="b", text="a dog running, camera pans left", fields={"temporal_style": "camera pans left"}),
          Prompt(id="c", text="a dog running"),
          Prompt(id="d", text="d", dimensions=["temporal_style"], fields={"no_text": True})]
    feats = metric.extract(tiny_clips(4), ps)
    assert [int(f["applicable"]) for f in feats] == [1, 1, 2, 0]
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(ps, feats)])["temporal_style"]
    assert res.n == 2 and res.toy_model.startswith("vbench-toy-clip")
    assert "1 of 4 prompts are neither tagged temporal_style nor carry fields.temporal_style: not applicable" \
        in res.notes
    assert "1 of 4 prompts have no text: not applicable" in res.notes


@pytest.mark.parametrize("frames,size", [(11, 32), (5, 80)])
def test_toy_value_is_the_hand_computation(frames, size):
    metric = TemporalStyle(model="vbench-toy-clip", device="cpu")
    ld = metric.toy
    clip = tiny_clips(1, frames=frames, size=size)[0]
    p = Prompt(id="a", text="a red square moving right in slow motion", dimensions=["temporal_style"])
    value = float(metric.extract([clip], [p])[0]["temporal_style"])
    images = torch.from_numpy(clip.frames[vbench_middle_indices(8, frames)]).permute(0, 3, 1, 2)
    with torch.no_grad():
        feats = ld.model.encode_image(vbench_clip_transform(ld.image_size)(images)).double()
        text = ld.model.encode_text(ld.tokenizer([p.text])).double()[0]
    feats = feats / feats.norm(dim=-1, keepdim=True)
    video = feats.mean(0)
    expected = float(video @ text / video.norm() / text.norm())
    assert value == pytest.approx(expected, abs=1e-6)
    assert np.asarray(metric.extract([clip], [p])[0]["frame_indices"]).tolist() == vbench_middle_indices(8, frames)
