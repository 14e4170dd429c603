"""overall_consistency (and the video-text base it shares with temporal_style): X-CLIP through transformers on
random-init tiny checkpoints in the save_pretrained layout, the toy CLIP backend on the synthetic world.

Tolerances: the metric against X-CLIP's own forward within 1e-6 (float32 network); batched == single exactly.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from metrics.base import ClipRecord
from metrics.overall_consistency import OverallConsistency
from metrics.video_text import clip_token_ids
from tests.metrics.test_vbench_video_text import vbench_middle_indices
from tests.metrics.tester import tiny_clips
from tests.metrics.video_text_fixtures import clip_tokenizer, tiny_xclip
from vbench_lite.types import Clip, Prompt, VbenchError

TEXTS = ["a red square moving right", "A Beautiful coastal beach in spring, waves lapping on sand, Van Gogh style",
         "a person is playing guitar!!  in super slow motion", "x " * 100]


def prompts(n: int) -> list[Prompt]:
    return [Prompt(id=f"p{i}", text=TEXTS[i % len(TEXTS)]) for i in range(n)]


def test_transformers_clip_tokenizer_gives_open_clips_ids(tmp_path):
    """A transformers CLIPTokenizer built offline from open_clip's BPE (vocab.json/merges.txt written from it) and
    open_clip's tokenizer give the same ids, truncation to 77 included: either may tokenize for X-CLIP."""
    tok = clip_tokenizer(tmp_path / "tok")
    for text in TEXTS:
        ids = tok(text, truncation=True, max_length=77)["input_ids"]
        assert ids[0] == 49406 and ids[-1] == 49407
        assert clip_token_ids(tmp_path / "tok", text, 77).tolist() == [ids]
        assert clip_token_ids(None, text, 77).tolist() == [ids]


@pytest.mark.parametrize("with_tokenizer", [False, True])
def test_value_is_xclips_own_cosine(with_tokenizer):
    """X-CLIP's forward on the processor's pixels of VBench's 8 middle frames: logits_per_video / logit_scale.exp()
    is the cosine the metric reports (the text embedding is the one X-CLIP conditions on this video)."""
    from transformers import CLIPTokenizer, VideoMAEImageProcessor, XCLIPModel

    folder = tiny_xclip(with_tokenizer)
    metric = OverallConsistency(weights=str(folder), device="cpu")
    model = XCLIPModel.from_pretrained(folder).eval()
    processor = VideoMAEImageProcessor.from_pretrained(folder)
    tok = CLIPTokenizer.from_pretrained(tiny_xclip(True))
    for clip, p in zip(tiny_clips(3, frames=11), prompts(3)):
        value = float(metric.extract([clip], [p])[0]["overall_consistency"])
        frames = clip.frames[vbench_middle_indices(8, clip.num_frames)]
        with torch.no_grad():
            out = model(input_ids=torch.tensor([tok(p.text)["input_ids"]]),
                        pixel_values=processor(list(frames), return_tensors="pt")["pixel_values"])
            expected = float(out.logits_per_video[0, 0] / model.logit_scale.exp())
        assert value == pytest.approx(expected, abs=1e-6)


def test_batched_equals_one_clip_at_a_time():
    metric = OverallConsistency(weights=str(tiny_xclip()), device="cpu")
    clips = [*tiny_clips(3, frames=5), Clip(tiny_clips(1, frames=12, size=40)[0].frames)]
    batched = metric.extract(clips, prompts(4))
    for clip, p, feats in zip(clips, prompts(4), batched):
        single = metric.extract([clip], [p])[0]
        for key in feats:
            np.testing.assert_array_equal(single[key], feats[key])


def test_loads_through_every_user_path(tmp_path, monkeypatch):
    from metrics.video_text_weights import fetch_xclip
    from vbench_lite.model_zoo import XCLIP_B32

    folder = tiny_xclip(True)
    a = OverallConsistency(weights=str(folder), device="cpu")
    assert OverallConsistency(weights=str(folder / "model.safetensors"), device="cpu").cache_key() == a.cache_key()
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(VbenchError, match="vbench-lite weights fetch xclip-base-patch32") as info:
        OverallConsistency(device="cpu")
    assert "\n" not in str(info.value)
    manifest = fetch_xclip(XCLIP_B32, file=folder)  # model, image processor and tokenizer saved together
    assert (XCLIP_B32.cache_path.parent / "preprocessor_config.json").is_file()
    assert (XCLIP_B32.cache_path.parent / "tokenizer.json").is_file()
    zoo = OverallConsistency(device="cpu")
    assert zoo.weights_sha256 == manifest["sha256"] == a.weights_sha256
    clip = tiny_clips(1)[0]
    assert zoo.extract([clip], prompts(1))[0]["overall_consistency"] == \
        a.extract([clip], prompts(1))[0]["overall_consistency"]


def test_bad_folders_and_frames_are_one_line(tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(tiny_xclip(), folder)
    (folder / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(VbenchError) as info:
        OverallConsistency(weights=str(folder), device="cpu")
    assert "\n" not in str(info.value) and str(folder) in str(info.value)
    with pytest.raises(VbenchError, match="not a transformers save_pretrained folder"):
        OverallConsistency(weights=str(tmp_path), device="cpu")
    with pytest.raises(VbenchError, match="X-CLIP for 8 frames") as info:
        OverallConsistency(weights=str(tiny_xclip()), frames=4, device="cpu")
    assert "\n" not in str(info.value)


def test_every_prompt_with_text_applies():
    metric = OverallConsistency(model="vbench-toy-clip", device="cpu")
    ps = [Prompt(id="a", text="a red circle"), Prompt(id="b", text="b", fields={"no_text": True})]
    feats = metric.extract(tiny_clips(2), ps)
    assert np.isfinite(feats[0]["overall_consistency"]) and np.isnan(feats[1]["overall_consistency"])
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(ps, feats)])["overall_consistency"]
    assert "1 of 2 prompts have no text: not applicable" in res.notes
    assert res.toy_model.startswith("vbench-toy-clip") and res.n == 1
    assert "2 of 2 clips are not from the synthetic suite" in " ".join(res.notes)  # category "uncategorized"


def test_toy_clip_prefers_the_true_description():
    """Synthetic clips: the toy CLIP's video-text cosine is higher for the scene's own description than for the
    same description with the wrong colour, on every clip here."""
    from reference_models.synthetic_world import Scene, SceneObject, describe_scene, render_scene

    metric = OverallConsistency(model="vbench-toy-clip", device="cpu")
    scenes = [Scene((SceneObject(shape, color, "right"),), bg) for shape, color, bg in
              [("circle", "red", "black"), ("square", "yellow", "gray"), ("triangle", "green", "navy")]]
    wrong = {"red": "blue", "yellow": "purple", "green": "white"}
    clips = [Clip(render_scene(s, seed=i, num_frames=16, size=(64, 64))) for i, s in enumerate(scenes)]
    right = [Prompt(id=f"r{i}", text=describe_scene(s)) for i, s in enumerate(scenes)]
    false = [Prompt(id=f"w{i}", text=p.text.replace(s.objects[0].color, wrong[s.objects[0].color]))
             for i, (p, s) in enumerate(zip(right, scenes))]
    good = [f["overall_consistency"] for f in metric.extract(clips, right)]
    bad = [f["overall_consistency"] for f in metric.extract(clips, false)]
    assert all(g > b for g, b in zip(good, bad)), (good, bad)


def test_standard_suite_scores_only_its_subset_and_untagged_prompts():
    """On the standard suite's prompts, overall_consistency scores its own subset and prompts with no semantic tag;
    a prompt tagged for other dimensions only is not applicable, with its own note; temporal_style keeps
    its rule (tagged, or untagged with fields.temporal_style) within its subset."""
    from metrics.temporal_style import TemporalStyle
    from vbench_lite.prompts import load_suite

    by_tags: dict[tuple, list[Prompt]] = {}
    for p in load_suite("standard").prompts:
        by_tags.setdefault(tuple(sorted(p.dimensions)), []).append(p)
    ps = [p for group in by_tags.values() for p in group[:1]]  # one prompt of each tag combination (13)
    slow = {"temporal_style": "in slow motion"}
    ps += [Prompt(id="mine", text="a red circle"), Prompt(id="mine-slow", text="a cat, in slow motion", fields=slow),
           Prompt(id="color-slow", text="a red cat, in slow motion", dimensions=["color"], fields=slow)]
    for cls, expected in ((OverallConsistency, {p.id for p in ps if "overall_consistency" in p.dimensions
                                                 or not p.dimensions}),
                          (TemporalStyle, {p.id for p in ps if "temporal_style" in p.dimensions} | {"mine-slow"})):
        metric = cls(model="vbench-toy-clip", device="cpu")
        feats = metric.extract(tiny_clips(len(ps)), ps)
        assert {p.id for p, f in zip(ps, feats) if int(f["applicable"]) == 1} == expected
        res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(ps, feats)])[cls.name]
        outside = sum(int(f["applicable"]) == 3 for f in feats)
        assert res.n == len(expected) and outside >= 9
        assert f"{outside} of {len(ps)} prompts are tagged for other dimensions, not {cls.name}: not " \
            "applicable" in res.notes
