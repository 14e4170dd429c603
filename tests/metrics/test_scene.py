"""scene: CLIP zero-shot over a scene vocabulary (see metrics/scene.py for why not Tag2Text captions), on VBench's
16 middle frames; the rule against a hand computation with torchvision's transforms, the synthetic world's known
backgrounds with the toy CLIP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metrics.base import ClipRecord
from metrics.scene import VBENCH_SCENES, Scene, synthetic_scenes
from tests.metrics.test_appearance_style import vbench_clip_transform_image
from tests.metrics.test_vbench_video_text import vbench_middle_indices
from tests.metrics.tester import tiny_clips
from vbench_lite.types import Clip, Prompt, VbenchError

pytestmark = pytest.mark.filterwarnings("ignore:Anti-alias option")  # VBench's antialias=False, ignored for PIL


def scene_prompt(i: int, scene: str | None) -> Prompt:
    return Prompt(id=f"p{i}", text=f"a view of {scene}", fields={"scene": scene} if scene else {})


def test_rule_by_hand():
    metric = Scene(model="vbench-toy-clip", device="cpu", vocabulary="vbench", template="a photo of a {}.")
    ld = metric.loaded
    clip = tiny_clips(1, frames=20, size=48)[0]
    feats = metric.extract([clip], [scene_prompt(0, "alley")])[0]
    frames = clip.frames[vbench_middle_indices(16, 20)]
    tf = vbench_clip_transform_image(ld.image_size)
    with torch.no_grad():
        img = ld.model.encode_image(torch.stack([tf(Image.fromarray(f)) for f in frames])).double()
        txt = ld.model.encode_text(ld.tokenizer([f"a photo of a {s}." for s in VBENCH_SCENES])).double()
    img, txt = img / img.norm(dim=-1, keepdim=True), txt / txt.norm(dim=-1, keepdim=True)
    top1 = (img @ txt.T).argmax(dim=1).numpy()
    assert feats["frame_labels"].tolist() == top1.tolist()
    assert float(feats["scene"]) == np.mean(top1 == VBENCH_SCENES.index("alley"))


def test_the_synthetic_backgrounds_are_recognised():
    """Known answers: a clip on a black background scores higher for "black background" than for any other."""
    from reference_models.synthetic_world import Scene as WorldScene
    from reference_models.synthetic_world import SceneObject, render_scene

    metric = Scene(model="vbench-toy-clip", device="cpu")
    assert metric.vocabulary == synthetic_scenes() and metric.template == "on a {}"
    for bg, seed in (("black", 0), ("gray", 1), ("navy", 2)):
        clip = Clip(render_scene(WorldScene((SceneObject("circle", "red", "left"),), bg), seed=seed, num_frames=16,
                                 size=(64, 64)))
        scores = {s: float(metric.extract([clip], [scene_prompt(0, s)])[0]["scene"]) for s in synthetic_scenes()}
        assert max(scores, key=scores.get) == f"{bg} background" and scores[f"{bg} background"] >= 0.75, scores


def test_a_target_outside_the_vocabulary_joins_it_and_missing_scenes_are_noted():
    metric = Scene(model="vbench-toy-clip", device="cpu")
    labels, index = metric.labels_for("alley")
    assert labels == (*synthetic_scenes(), "alley") and index == len(labels) - 1
    assert metric.labels_for("gray background") == (synthetic_scenes(), 1)
    ps = [scene_prompt(0, "alley"), scene_prompt(1, None), scene_prompt(2, "gray background")]
    feats = metric.extract(tiny_clips(3), ps)
    batched_again = [metric.extract([c], [p])[0] for c, p in zip(tiny_clips(3), ps)]
    for a, b in zip(feats, batched_again):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(ps, feats)])["scene"]
    assert res.n == 2 and "1 of 3 prompts have no fields.scene: not applicable" in res.notes
    assert res.toy_model.startswith("vbench-toy-clip")


def test_vocabulary_and_template_are_in_the_cache_key_and_checked():
    base = Scene(model="vbench-toy-clip", device="cpu")
    assert Scene(model="vbench-toy-clip", vocabulary="vbench").cache_key() != base.cache_key()
    assert Scene(model="vbench-toy-clip", vocabulary="synthetic").cache_key() == base.cache_key()  # auto = synthetic
    with pytest.raises(VbenchError):
        Scene(model="vbench-toy-clip", template="no placeholder")
    with pytest.raises(VbenchError):
        Scene(model="vbench-toy-clip", vocabulary="places365")
    # a template that str.format cannot fill with one label is refused when the settings are parsed, not at the
    # first clip after decoding (KeyError / IndexError there)
    for bad in ("{x} {}", "{}{}", "a {0} {}"):
        with pytest.raises(VbenchError, match="template must hold") as info:
            Scene.check_settings({"template": bad})
        assert "\n" not in str(info.value)
    Scene.check_settings({"template": "a {{braced}} {}."})  # escaped braces are fine


def test_the_vbench_vocabulary_is_vbenchs_scene_labels():
    import json
    from pathlib import Path

    info = json.loads((Path(__file__).parents[2] / "vbench_lite/prompts/VBench_full_info.json").read_text())
    labels = {p["auxiliary_info"]["scene"]["scene"]["scene"] for p in info if "scene" in p["dimension"]}
    assert set(VBENCH_SCENES) == labels and len(VBENCH_SCENES) == len(labels) == 86
