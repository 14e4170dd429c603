"""human_action: VideoMAE through transformers (random-init tiny checkpoints in the save_pretrained layout) and the
toy action classifier, against VBench's rule written as ``vbench/human_action.py`` writes it."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from metrics.base import ClipRecord
from metrics.human_action import HumanAction
from tests.metrics.test_vbench_video_text import vbench_human_action, vbench_middle_indices
from tests.metrics.tester import tiny_clips
from tests.metrics.video_text_fixtures import TINY_LABELS, tiny_videomae_k400
from vbench_lite.types import Clip, Prompt, VbenchError

PIXEL_TOL = 1.5 / (255 * 0.224)  # our antialiased resize vs the processor's PIL resize: 1.5 uint8 levels / std


def prompt(i: int, action: str | None, **extra) -> Prompt:
    return Prompt(id=f"p{i}", text=f"someone {action}", fields={"action": action} if action else {}, **extra)


@pytest.fixture(scope="module")
def confident_folder(tmp_path_factory):
    """The tiny classifier with a large bias on "moving left": sigmoid 0.99995, so the rule says yes for it."""
    from transformers import VideoMAEForVideoClassification

    src = tiny_videomae_k400()
    model = VideoMAEForVideoClassification.from_pretrained(src)
    with torch.no_grad():
        model.classifier.bias[TINY_LABELS.index("moving left")] = 10.0
    out = tmp_path_factory.mktemp("confident")
    model.save_pretrained(out)
    shutil.copy(src / "preprocessor_config.json", out)
    return out


def test_rule_equals_vbenchs_loop_on_the_models_logits(confident_folder):
    """Logits from the checkpoint fed by transformers' own processor with VBench's 16-of-T middle frames (here the
    model's 4), then VBench's sigmoid/top-5/0.85 loop: the metric's per-clip value and scores, exactly."""
    from transformers import VideoMAEForVideoClassification, VideoMAEImageProcessor

    metric = HumanAction(weights=str(confident_folder), device="cpu")
    model = VideoMAEForVideoClassification.from_pretrained(confident_folder).eval()
    processor = VideoMAEImageProcessor.from_pretrained(confident_folder)
    clips = tiny_clips(2, frames=10)
    cat_dict = {str(i): lb for i, lb in enumerate(TINY_LABELS)}
    values = []
    for action in ("moving left", "riding a bike"):
        for clip in clips:
            feats = metric.extract([clip], [prompt(0, action)])[0]
            frames = clip.frames[vbench_middle_indices(4, clip.num_frames)]
            with torch.no_grad():
                pixels = processor(list(frames), return_tensors="pt")["pixel_values"]
                logits = model(pixel_values=pixels).logits[0].double().numpy()
            np.testing.assert_allclose(feats["scores"], torch.sigmoid(torch.tensor(logits)).numpy(), atol=1e-6)
            expected = vbench_human_action(logits, TINY_LABELS.index(action), cat_dict, action)
            assert float(feats["human_action"]) == float(expected)
            values.append(float(expected))
    assert values == [1.0, 1.0, 0.0, 0.0]


def test_frames_match_the_processor_within_one_level():
    """Resizing (64 x 80 clips to 32): our antialiased bilinear vs the processor's PIL resize, within PIXEL_TOL."""
    from transformers import VideoMAEImageProcessor

    metric = HumanAction(weights=str(tiny_videomae_k400()), device="cpu")
    frames = np.concatenate([tiny_clips(1, frames=4, size=64)[0].frames] * 2, axis=2)[:, :, :80]
    ours = metric.geometry.pixels(frames)
    ref = VideoMAEImageProcessor.from_pretrained(tiny_videomae_k400())(list(frames), return_tensors="pt")
    assert float((ours - ref["pixel_values"][0]).abs().max()) <= PIXEL_TOL


def test_labels_come_from_id2label_and_not_applicable_prompts_are_noted():
    metric = HumanAction(weights=str(tiny_videomae_k400()), device="cpu")
    assert metric.target_index(prompt(0, "Riding  a Bike")) == 0  # case and spaces as VBench's lower()
    prompts = [prompt(0, "moving right"), prompt(1, None), prompt(2, "juggling chainsaws"),
               Prompt(id="p3", text="p3", fields={"no_text": True, "action": "moving up"})]
    feats = metric.extract(tiny_clips(4), prompts)
    assert [int(f["applicable"]) for f in feats] == [1, 0, 2, 0]
    assert np.isfinite(feats[0]["human_action"]) and all(np.isnan(f["human_action"]) for f in feats[1:])
    records = [ClipRecord(p, 0, f, {}) for p, f in zip(prompts, feats)]
    res = metric.aggregate(records)["human_action"]
    assert res.n == 1 and res.toy_model is None
    assert "2 of 4 prompts have no fields.action: not applicable" in res.notes
    assert "1 of 4 prompts name an action that is not one of the classifier's labels: not applicable" in res.notes


def test_batched_equals_one_clip_at_a_time(confident_folder):
    metric = HumanAction(weights=str(confident_folder), device="cpu")
    clips = [*tiny_clips(3, frames=7), Clip(tiny_clips(1, frames=20, size=48)[0].frames)]
    prompts = [prompt(i, a) for i, a in enumerate(("moving left", "staying still", None, "moving left"))]
    batched = metric.extract(clips, prompts)
    for clip, p, feats in zip(clips, prompts, batched):
        single = metric.extract([clip], [p])[0]
        assert single.keys() == feats.keys()
        for key in feats:
            np.testing.assert_array_equal(single[key], feats[key])


def test_loads_through_every_user_path(tmp_path, monkeypatch):
    from metrics.video_text_weights import fetch_videomae_k400
    from vbench_lite.model_zoo import VIDEOMAE_K400

    folder = tiny_videomae_k400()
    a = HumanAction(weights=str(folder), device="cpu")
    b = HumanAction(weights=str(folder / "model.safetensors"), device="cpu")
    assert a.weights_sha256 == b.weights_sha256 and a.cache_key() == b.cache_key()
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(VbenchError, match="vbench-lite weights fetch videomae-base-k400") as info:
        HumanAction(device="cpu")
    assert "\n" not in str(info.value) and "human_action.weights=/path/to/save_pretrained_folder" in str(info.value)
    manifest = fetch_videomae_k400(VIDEOMAE_K400, file=folder)  # `weights fetch NAME --file FOLDER`
    assert (VIDEOMAE_K400.cache_path.parent / "preprocessor_config.json").is_file()
    c = HumanAction(device="cpu")  # the zoo folder, no weights= given
    assert c.weights_sha256 == manifest["sha256"] and c.labels == TINY_LABELS and c.cache_key() == a.cache_key()


def test_a_bad_folder_is_one_line(tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(tiny_videomae_k400(), folder)
    (folder / "config.json").unlink()
    with pytest.raises(VbenchError, match="config.json") as info:
        HumanAction(weights=str(folder), device="cpu")
    assert "\n" not in str(info.value) and str(folder) in str(info.value)
    shutil.copy(tiny_videomae_k400() / "config.json", folder)
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(VbenchError) as info:
        HumanAction(weights=str(folder), device="cpu")
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


def test_settings_are_checked():
    with pytest.raises(VbenchError):
        HumanAction(weights=str(tiny_videomae_k400()), model="umt")
    with pytest.raises(VbenchError):
        HumanAction(weights=str(tiny_videomae_k400()), threshold=1.5)


def _toy_weights_exist() -> bool:
    from reference_models.toy_action import WEIGHTS_PATH

    return WEIGHTS_PATH.is_file()


@pytest.mark.skipif(not _toy_weights_exist(), reason="the toy action classifier's trained weights are not there yet")
def test_toy_classifier_prefers_the_prompts_motion():
    """Synthetic clips moving left: the prompt "moving left" succeeds more often than "moving right"."""
    from reference_models.synthetic_world import Scene, SceneObject, render_scene

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = HumanAction(model="vbench-toy-action", device="cpu")
    clips = [Clip(render_scene(Scene((SceneObject(shape, color, "left"),), "black"), seed=s, num_frames=16,
                               size=(64, 64)))
             for s, (shape, color) in enumerate([("circle", "red"), ("square", "yellow"), ("diamond", "green")])]
    right = metric.extract(clips, [prompt(i, "moving left") for i in range(3)])
    wrong = metric.extract(clips, [prompt(i, "moving right") for i in range(3)])
    assert np.mean([f["human_action"] for f in right]) > np.mean([f["human_action"] for f in wrong])
    records = [ClipRecord(prompt(i, "moving left"), 0, f, {}) for i, f in enumerate(right)]
    assert metric.aggregate(records)["human_action"].toy_model.startswith("vbench-toy-action")


def test_every_suite_label_is_found_in_a_400_class_id2label_by_name():
    """The suite's Kinetics-400 labels (vbench_lite/prompts/kinetics400_labels.txt, VBench's list) against a
    classifier whose id2label holds the same 400 names in another order and spelling case: each prompt's action
    maps to its own class, by name (never by position)."""
    from pathlib import Path

    lines = (Path(__file__).parents[2] / "vbench_lite/prompts/kinetics400_labels.txt").read_text().splitlines()
    labels = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert len(labels) == 400
    shuffled = [labels[i] for i in np.random.default_rng(3).permutation(400)]
    model_labels = tuple(lb.title() if i % 2 else lb for i, lb in enumerate(shuffled))
    metric = HumanAction(weights=str(tiny_videomae_k400(model_labels)), device="cpu")
    for i, label in enumerate(labels):
        assert metric.labels[metric.target_index(prompt(i, label))].lower() == label.lower()
