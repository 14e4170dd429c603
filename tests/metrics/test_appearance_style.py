"""appearance_style against a loop written like ``vbench/appearance_style.py:appearance_style`` (PIL frames through
``clip_transform_Image``, one frame per forward, ``logits_per_text / 100``), with the toy CLIP (the real ViT-B/32
goes through the same open_clip loader as background_consistency, tested in test_background_consistency.py).

Tolerance: 1e-6 (float32 network; batched frames against one frame per forward).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metrics.appearance_style import AppearanceStyle
from metrics.base import ClipRecord
from tests.metrics.tester import tiny_clips
from vbench_lite.types import Prompt, VbenchError

pytestmark = pytest.mark.filterwarnings("ignore:Anti-alias option")  # VBench's antialias=False, ignored for PIL
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def vbench_clip_transform_image(n_px: int):
    """``vbench/utils.py:clip_transform_Image`` built from torchvision as VBench builds it."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

    return Compose([Resize(n_px, interpolation=InterpolationMode.BICUBIC, antialias=False), CenterCrop(n_px),
                    ToTensor(), Normalize(CLIP_MEAN, CLIP_STD)])


def vbench_appearance_style(ld, frames: np.ndarray, query: str) -> list[float]:
    """Per-frame values of VBench's loop; open_clip's forward returns (image, text, logit_scale.exp())."""
    transform, text = vbench_clip_transform_image(ld.image_size), ld.tokenizer([query])
    out = []
    with torch.no_grad():
        for image in [Image.fromarray(f) for f in frames]:
            img_f, txt_f, scale = ld.model(transform(image).unsqueeze(0), text)
            logits_per_text = scale * txt_f @ img_f.T
            out.append(float(logits_per_text[0][0]) / 100)
    return out


@pytest.mark.parametrize("size", [32, 90])
def test_value_is_vbenchs_loop(size):
    metric = AppearanceStyle(model="vbench-toy-clip", device="cpu", batch_size=4)
    clip = tiny_clips(1, frames=7, size=size)[0]
    p = Prompt(id="a", text="a red square, oil painting", fields={"style": "Oil Painting"})
    feats = metric.extract([clip], [p])[0]
    expected = vbench_appearance_style(metric.loaded, clip.frames, "oil painting")
    np.testing.assert_allclose(feats["frame_scores"], expected, atol=1e-6)
    assert float(feats["appearance_style"]) == pytest.approx(np.mean(expected), abs=1e-6)


def test_batched_equals_one_clip_and_not_applicable_is_noted():
    metric = AppearanceStyle(model="vbench-toy-clip", device="cpu", batch_size=3)
    ps = [Prompt(id=f"p{i}", text="t", fields={"style": "watercolor painting"} if i != 1 else {}) for i in range(3)]
    clips = tiny_clips(3, frames=5)
    batched = metric.extract(clips, ps)
    for clip, p, feats in zip(clips, ps, batched):
        single = metric.extract([clip], [p])[0]
        for key in feats:
            np.testing.assert_array_equal(single[key], feats[key])
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(ps, batched)])["appearance_style"]
    assert res.n == 2 and "1 of 3 prompts have no fields.style: not applicable" in res.notes
    assert res.toy_model.startswith("vbench-toy-clip")
    assert "pretrained" not in metric.settings() and metric.settings()["model"] == "vbench-toy-clip"  # no tag


def test_style_words_matter_on_the_synthetic_world():
    """The toy CLIP knows colours: a red shape scores higher against "red" than against "blue", on every clip."""
    from reference_models.synthetic_world import Scene, SceneObject, render_scene
    from vbench_lite.types import Clip

    metric = AppearanceStyle(model="vbench-toy-clip", device="cpu")
    clips = [Clip(render_scene(Scene((SceneObject(s, "red", "left"),), "black"), seed=i, num_frames=6, size=(64, 64)))
             for i, s in enumerate(("circle", "square", "diamond"))]
    red = metric.extract(clips, [Prompt(id=f"r{i}", text="t", fields={"style": "red"}) for i in range(3)])
    blue = metric.extract(clips, [Prompt(id=f"b{i}", text="t", fields={"style": "blue"}) for i in range(3)])
    assert all(r["appearance_style"] > b["appearance_style"] for r, b in zip(red, blue))


def test_a_missing_clip_file_is_one_line(tmp_path):
    with pytest.raises(VbenchError) as info:
        AppearanceStyle(model="ViT-B-32", pretrained="openai", weights=str(tmp_path / "none.safetensors"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("metric", ["appearance_style", "scene", "color"])
def test_clip_names_are_usage_errors_and_a_missing_vbench_clip_says_weights_fetch(metric, monkeypatch):
    """An open_clip architecture or tag open_clip does not know is refused when ``--metric-args`` is parsed (before
    any video is decoded), one line; VBench's CLIP (ViT-B-32 + openai) missing from every local cache is the zoo's one
    line naming ``vbench-lite weights fetch clip-vitb32-openai`` and the metric's own weights setting."""
    from metrics.color import Color
    from metrics.scene import Scene

    cls = {"appearance_style": AppearanceStyle, "scene": Scene, "color": Color}[metric]
    prefix = "clip_" if metric == "color" else ""
    for key, value, says in ((f"{prefix}model", "ViT-Q", "is not an open_clip architecture"),
                             (f"{prefix}pretrained", "no-such-tag", "neither a file nor an open_clip tag")):
        with pytest.raises(VbenchError, match=says) as info:
            cls.check_settings({key: value})
        assert str(info.value).startswith(f"{metric}: {key} ") and "\n" not in str(info.value)
    cls.check_settings({f"{prefix}model": "vbench-toy-clip"})  # the toy CLIP needs no tag
    monkeypatch.setattr("metrics.clip_model._cached_pretrained_file", lambda *a, **k: None)  # nothing cached
    args = {"device": "cpu"}
    if metric == "color":  # the toy detector with color_method=clip: only the box colours' CLIP is missing
        args.update(model="vbench-toy-detector", color_method="clip")
    with pytest.raises(VbenchError) as info:
        cls(**args)
    line = str(info.value)
    assert line.startswith(f"{metric}: weights of clip-vitb32-openai") and "\n" not in line
    assert "`vbench-lite weights fetch clip-vitb32-openai`" in line
    assert f"--metric-args {metric}.{prefix}weights=" in line
