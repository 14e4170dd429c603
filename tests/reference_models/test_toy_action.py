"""The toy action classifier: its interface, its shipped weights (sha256 in the card), deterministic probabilities
for clips of any size and length, and its held-out accuracy above stated floors."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch

import reference_models.toy_action as ta
from reference_models.synthetic_world import MOTIONS, Scene, SceneObject
from vbench_lite.lab.toy_vision_data import random_clips, render_truth
from vbench_lite.lab.train_toy_action import MOTION_ACTION, clip_label, evaluate, known_answer_clips


@pytest.fixture(scope="module")
def model():
    return ta.load_toy_action_classifier()


def test_actions_are_the_synthetic_worlds_motions():
    assert ta.ACTIONS == tuple(MOTION_ACTION[m] for m in MOTIONS)
    assert ta.TOY_ACTION == "vbench-toy-action"
    cfg = json.loads(ta.CONFIG_PATH.read_text())
    assert tuple(cfg["actions"]) == ta.ACTIONS and cfg["num_frames"] == 8


def test_shipped_weights_match_the_card_and_load(model):
    from safetensors.torch import load_file

    assert ta.WEIGHTS_PATH.stat().st_size < 5 * 1024 * 1024
    sha = hashlib.sha256(ta.WEIGHTS_PATH.read_bytes()).hexdigest()
    card = re.search(r"sha256[^0-9a-f]*([0-9a-f]{64})", ta.MODEL_CARD_PATH.read_text())
    assert card and card.group(1) == sha == model.weights_sha256
    assert model.weights_path == ta.WEIGHTS_PATH and not model.training
    shipped = load_file(str(ta.WEIGHTS_PATH))
    assert set(shipped) == set(model.state_dict())
    assert all(torch.equal(model.state_dict()[k], v.float()) for k, v in shipped.items())
    report = json.loads((ta.PACKAGE_DIR / "train_report.json").read_text())
    assert report["weights_sha256"] == sha and report["command"].startswith("python -m vbench_lite.lab.train_toy_")


def test_bad_or_missing_weights_are_one_line_naming_the_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 16)
    for path in (bad, tmp_path / "absent.safetensors"):
        with pytest.raises(ta.ToyActionError) as err:
            ta.load_toy_action_classifier(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setattr(ta, "WEIGHTS_PATH", tmp_path / "absent.safetensors")
    with pytest.warns(UserWarning, match="random weights"):
        assert ta.load_toy_action_classifier().weights_sha256 == ta.RANDOM_INIT


def test_sampling_and_input_by_hand():
    assert ta.sample_indices(16, 8).tolist() == [0, 2, 4, 6, 9, 11, 13, 15]  # rint(linspace(0, 15, 8))
    assert ta.sample_indices(3, 8).tolist() == [0, 0, 1, 1, 1, 1, 2, 2]  # short clips repeat frames
    x = torch.zeros(1, 3, 3, 2, 2)
    x[0, 1, 0] = 0.25  # red channel of frame 1
    y = ta.stack_input(x)
    assert y.shape == (1, 15, 2, 2)
    assert y[0, 3].eq(0.25).all() and y[0, :3].eq(0).all()  # frames first, in order
    assert y[0, 9].eq(1.0).all() and y[0, 12].eq(-1.0).all()  # then 4 x (frame t+1 - frame t)
    with pytest.raises(ValueError):
        ta.sample_indices(0, 8)


def test_classify_shapes_batching_and_determinism(model):
    scene = Scene((SceneObject("triangle", "orange", "up"),), "gray")
    a = render_truth(scene, key="toy-test", seed=2_000_003, num_frames=16, size=(48, 80)).frames
    b = render_truth(scene, key="toy-test", seed=2_000_004, num_frames=11, size=(96, 96)).frames
    p = model.classify(a)
    assert p.shape == (6,) and p.dtype == np.float64 and p.sum() == pytest.approx(1.0, abs=1e-6)
    assert ta.ACTIONS[int(p.argmax())] == "moving up"
    batch = model.classify_batch([a, b])
    assert np.allclose(batch, np.stack([model.classify(a), model.classify(b)]), atol=1e-6)
    assert np.array_equal(ta.load_toy_action_classifier().classify(a), p)
    assert model.classify_batch([]).shape == (0, 6)
    with pytest.raises(ValueError, match="uint8"):
        model.classify(a[0])


def test_label_of_a_clip_without_visible_objects_is_staying_still():
    scene = Scene((SceneObject("circle", "red", "left"),), "black")
    gone = render_truth(scene, key="k", seed=1, num_frames=16, size=(64, 64), defect="remove_object", strength=1.0)
    late = render_truth(scene, key="k", seed=1, num_frames=16, size=(64, 64), defect="remove_object", strength=0.5)
    assert ta.ACTIONS[clip_label(gone)] == "staying still" and ta.ACTIONS[clip_label(late)] == "moving left"


def test_heldout_accuracy_above_floors(model):
    """Floors sit below the card's figures (600 held-out clips) so that only a real regression, not the sampling
    noise of 48 clips, fails."""
    res = evaluate(model, random_clips(48, 5, "eval"), known_answer_clips(8, seed=5))
    assert res["accuracy"] >= 0.9
    assert all(v >= 0.75 for v in res["per_action"].values())
    assert res["known"]["remove_object"]["accuracy"] >= 0.9  # nothing drawn: staying still
    assert res["known"]["freeze"]["accuracy"] >= 0.9  # a frozen clip does not move
    assert res["known"]["two_object"]["accuracy"] >= 0.85
