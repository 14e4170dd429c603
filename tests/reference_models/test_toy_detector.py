"""The toy detector: its interface, its shipped weights (sha256 in the card), deterministic detections on frames of
any size, the renderer's ground truth it was trained on, and its held-out accuracy above stated floors."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch

import reference_models.toy_detector as td
from reference_models.synthetic_world import (
    BACKGROUNDS,
    COLORS,
    SHAPES,
    Scene,
    SceneObject,
    object_tracks,
    render_clip,
    render_scene,
    suite_scenes,
)
from vbench_lite.lab.toy_vision_data import known_answer_clips, random_clips, render_truth
from vbench_lite.lab.train_toy_detector import evaluate, frame_targets, match, relation


@pytest.fixture(scope="module")
def model():
    return td.load_toy_detector()


def test_vocabulary_is_the_synthetic_worlds_and_the_config_agrees():
    assert td.LABELS == SHAPES and td.COLORS == tuple(COLORS)
    cfg = json.loads(td.CONFIG_PATH.read_text())
    assert tuple(cfg["labels"]) == td.LABELS and tuple(cfg["colors"]) == td.COLORS and cfg["input_size"] == 64
    assert td.TOY_DETECTOR == "vbench-toy-detector"


def test_shipped_weights_match_the_card_and_load(model):
    from safetensors.torch import load_file

    assert td.WEIGHTS_PATH.stat().st_size < 5 * 1024 * 1024
    sha = hashlib.sha256(td.WEIGHTS_PATH.read_bytes()).hexdigest()
    card = re.search(r"sha256[^0-9a-f]*([0-9a-f]{64})", td.MODEL_CARD_PATH.read_text())
    assert card and card.group(1) == sha == model.weights_sha256
    assert model.weights_path == td.WEIGHTS_PATH and not model.training
    shipped = load_file(str(td.WEIGHTS_PATH))
    assert set(shipped) == set(model.state_dict())
    assert all(torch.equal(model.state_dict()[k], v.float()) for k, v in shipped.items())
    report = json.loads((td.PACKAGE_DIR / "train_report.json").read_text())
    assert report["weights_sha256"] == sha and report["command"].startswith("python -m vbench_lite.lab.train_toy_")


def test_bad_or_missing_weights_are_one_line_naming_the_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    for path in (bad, tmp_path / "absent.safetensors"):
        with pytest.raises(td.ToyDetectorError) as err:
            td.load_toy_detector(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setattr(td, "WEIGHTS_PATH", tmp_path / "absent.safetensors")
    with pytest.warns(UserWarning, match="random weights"):
        untrained = td.load_toy_detector()
    assert untrained.weights_sha256 == td.RANDOM_INIT
    again = td.build()  # the random initialisation is seeded: equal on every build
    assert all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), again.state_dict().values()))


def test_detect_shapes_boxes_in_pixels_and_determinism(model):
    scene = Scene((SceneObject("square", "red", "right"), SceneObject("circle", "blue", "right")), "black")
    clip = render_truth(scene, key="toy-test", seed=2_000_001, num_frames=6, size=(48, 80))
    dets = model.detect(clip.frames)
    assert len(dets) == 6
    for frame_dets, objs in zip(dets, clip.objects):
        assert all(isinstance(d, td.ToyDetection) and 0.5 <= d.score <= 1 for d in frame_dets)
        assert [d.score for d in frame_dets] == sorted((d.score for d in frame_dets), reverse=True)
        assert all(0 <= d.box[0] < d.box[2] <= 80 and 0 <= d.box[1] < d.box[3] <= 48 for d in frame_dets)
        # boxes come back in the 48 x 80 frame's pixels, not the 64 x 64 input's
        assert len(match(frame_dets, objs, 0.5, "shape+color")) == 2
    assert td.load_toy_detector().detect(clip.frames) == dets
    one_by_one = [model.detect(clip.frames[t:t + 1])[0] for t in range(6)]
    for a, b in zip(one_by_one, dets):  # batched == one frame at a time (float sums may differ in the last bits)
        assert [(d.label, d.color) for d in a] == [(d.label, d.color) for d in b]
        assert np.allclose([d.box for d in a], [d.box for d in b], atol=1e-3)
    with pytest.raises(ValueError, match="uint8"):
        model.detect(clip.frames.astype(np.float32))


def test_heldout_accuracy_above_floors(model):
    """Floors sit well below the card's figures (measured on 300 held-out clips) so that only a real regression,
    not the sampling noise of 24 clips, fails."""
    res = evaluate(model, random_clips(24, 5, "eval"), known_answer_clips(6, seed=5))
    assert res["precision_shape"] >= 0.9 and res["recall_shape"] >= 0.85
    assert res["precision_shape_color"] >= 0.85 and res["recall_shape_color"] >= 0.8
    assert res["color_accuracy"] >= 0.9 and res["mean_iou"] >= 0.75
    known = res["known"]
    assert known["wrong_color"]["accuracy"] >= 0.85  # the colour found is not the one asked
    assert known["remove_object"]["accuracy"] >= 0.95  # nothing detected when nothing is drawn
    assert known["two_object"]["accuracy"] >= 0.85  # relation of object 0 to 1 recovered from the boxes
    assert known["clean"]["accuracy"] >= 0.85


# -- the renderer's ground truth (synthetic_world.object_tracks) and the training targets --------------------------

def test_rendering_is_byte_identical_to_before_object_tracks():
    """object_tracks shares render_scene's random draws (_draw_objects); no rendered byte may change."""
    h = hashlib.sha256()
    for i, sc in enumerate(suite_scenes()):
        for defect, size in (("none", (64, 64)), ("remove_object", (48, 80)), ("wrong_color", (40, 40))):
            h.update(render_clip(sc, key=f"k{i}", seed=i, num_frames=20 if i % 3 else 9, size=size, defect=defect,
                                 strength=0.5 if i % 2 else 1.0).tobytes())
    assert h.hexdigest() == "41022aca379ee02c1c02ad15781837d72e7b44ca6d980d27992b1e926da62fbe"


@pytest.mark.parametrize("shape", SHAPES)
def test_object_tracks_boxes_are_where_the_pixels_are(shape):
    scene = Scene((SceneObject(shape, "yellow", "diagonally"),), "navy")
    frames = render_scene(scene, seed=3, num_frames=24, size=(48, 72), rng_key="k", hidden_from={0: 20})
    (track,) = object_tracks(scene, seed=3, num_frames=24, size=(48, 72), rng_key="k", hidden_from={0: 20})
    assert track["visible"].tolist() == [True] * 20 + [False] * 4
    for t in range(24):
        covered = np.abs(frames[t].astype(int) - BACKGROUNDS["navy"]).sum(-1) > 20
        if not track["visible"][t]:
            assert not covered.any()
            continue
        ys, xs = np.nonzero(covered)
        # pixel bounds vs the exact geometry: anti-aliasing rounds edges to within one pixel
        assert np.abs(np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]) - track["box"][t]).max() <= 1.0


def test_frame_targets_by_hand():
    # a 20 x 12 box centred at (30, 18) in a 64 x 64 frame on a 16-cell grid: centre (7.5, 4.5) cells, cell (7, 4)
    t = frame_targets([("diamond", "cyan", (20.0, 12.0, 40.0, 24.0), 0)], (64, 64), 16)
    assert t["heat"][3, 4, 7] == 1.0 and t["heat"][:3].max() == 0.0
    assert t["heat"][3, 4, 8] == pytest.approx(np.exp(-(1.0 + 0.0) / 2))  # cell centre (8.5, 4.5): 1 cell away
    assert t["mask"].sum() == 9 and t["mask"][3:6, 6:9].all()
    assert (t["color"][t["mask"]] == 6).all() and (t["color"][~t["mask"]] == -1).all()
    assert t["reg"][:, 4, 7].tolist() == pytest.approx([0.5, 0.5, 5.0, 3.0])
    assert t["reg"][:, 3, 6].tolist() == pytest.approx([1.5, 1.5, 5.0, 3.0])


def test_match_and_relation_by_hand():
    dets = [td.ToyDetection("circle", "red", (0, 0, 10, 10), 0.9),
            td.ToyDetection("square", "red", (20, 0, 30, 10), 0.8)]
    objs = [("circle", "blue", (0, 0, 10, 12), 0), ("square", "red", (40, 0, 50, 10), 1)]
    assert match(dets, objs) == [(0, 0, pytest.approx(100 / 120))]
    assert match(dets, objs, same="shape+color") == []
    assert relation(np.array([10.0, 30.0]), np.array([40.0, 35.0])) == "left of"
    assert relation(np.array([40.0, 10.0]), np.array([38.0, 50.0])) == "above"
