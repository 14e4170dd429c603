"""color (metrics/color.py): VBench's colour-frames / object-frames rule through the metric class on hand-made
detections, the CLIP zero-shot colour of a box crop, and the toy detector's known answer (wrong_color fails)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.base import ClipRecord
from metrics.color import Color
from metrics.functional.vbench_semantic import VBENCH_COLORS
from metrics.object_detection import ClipBoxColors
from tests.metrics.detection_fixtures import (
    StubDetector,
    detection_build_args,
    numbered_clip,
    synthetic_case,
)
from vbench_lite.types import Prompt, VbenchError

BOX = (0.0, 0.0, 10.0, 10.0)
TABLE = {**{t: [("dog", BOX, 0.9, "red")] for t in range(4)}, 4: [("dog", BOX, 0.9, "blue")],
         5: [("dog", BOX, 0.9, "")], 6: [("cat", BOX, 0.9, "red")]}


@pytest.fixture
def head_colors():
    """The toy detector's backend (color_method=auto reads its colour head), fed hand-made detections."""
    metric = Color(model="vbench-toy-detector", device="cpu")
    metric.detector = StubDetector(TABLE)
    return metric


def test_colour_frames_over_object_frames(head_colors):
    """10 frames -> 16 indices (9 repeated). Object frames: 0-4 (frame 5's dog has no colour, frame 6 has a cat);
    red in 0-3: 4 / 5 (color.py check_generate). Asking "blue": 1 / 5. A bird never shown: NaN, left out, noted."""
    assert head_colors.method == "detector"
    prompts = [Prompt(id="a", text="a red dog", fields={"objects": ["dog"], "colors": ["red"]}),
               Prompt(id="b", text="a blue dog", fields={"objects": ["dog"], "colors": ["blue"]}),
               Prompt(id="c", text="a red bird", fields={"objects": ["bird"], "colors": ["red"]}),
               Prompt(id="d", text="a dog", fields={"objects": ["dog"]})]
    feats = head_colors.extract([numbered_clip(10)] * 4, prompts)
    values = [head_colors.per_video(f)["color"] for f in feats]
    assert values[:2] == [4 / 5, 1 / 5] and math.isnan(values[2]) and math.isnan(values[3])
    res = head_colors.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(prompts, feats)])["color"]
    assert res.value == pytest.approx(0.5, abs=1e-15) and res.n == 2
    assert "1 of 4 prompts ask no colour of an object (fields.colors): not applicable" in res.notes
    assert "1 of 4 clips never show the object with a colour: left out, as VBench does" in res.notes
    assert res.toy_model.startswith("vbench-toy-detector")


def test_clip_reads_the_colour_of_the_box_crop():
    """Zero-shot "a {colour} {object}" on the crop (toy CLIP offline): a red circle and a blue square in one frame
    get their own colours; the metric asks only about boxes of objects with an asked colour."""
    clip, _ = synthetic_case([("circle", "red"), ("square", "blue")], "down", background="gray")
    frame = clip.frames[0]
    colors = ClipBoxColors("vbench-toy-clip", None, None, "color", device="cpu", allow_download=False)
    candidates = list(VBENCH_COLORS)
    assert colors.color(frame, (0, 0, 32, 64), "circle", candidates) == "red"  # circle stands left ("left of")
    assert colors.color(frame, (32, 0, 64, 64), "square", candidates) == "blue"
    assert colors.color(frame, (5.2, 5.0, 5.9, 30.0), "circle", candidates) in candidates  # one column, read
    assert colors.color(frame, (5.0, 5.0, 5.0, 30.0), "circle", candidates) == ""  # empty box: no colour

    metric = Color(**detection_build_args("color"))
    metric.detector = StubDetector({0: [("circle", (0, 0, 32, 64), 0.9, ""), ("square", (32, 0, 64, 64), 0.9, "")]})
    prompt = Prompt(id="a", text="a red circle and a square", fields={"objects": ["circle", "square"],
                                                                     "colors": ["red", None]})
    frames = clip.frames.copy()
    frames[:, 0, 0, 0] = np.arange(16)  # the stub's frame numbers
    (f,) = metric.extract([type(clip)(frames)], [prompt])
    assert metric.per_video(f) == {"color": 1.0}  # one object frame (frame 0), and it is red
    assert f["color"].tolist() == [0 + len(["circle", "square"]), -1]  # "red" is word 2; the square is not read


def test_detector_colours_need_the_toy_detector():
    with pytest.raises(VbenchError, match="color_method=detector needs model=vbench-toy-detector") as info:
        Color(**detection_build_args("color"), color_method="detector")
    assert "\n" not in str(info.value)
    # ... said when --metric-args are checked, before any model is loaded or video decoded
    with pytest.raises(VbenchError, match="color: color_method=detector needs model=vbench-toy-detector"):
        Color.check_settings({"color_method": "detector"})
    Color.check_settings({"color_method": "detector", "model": "vbench-toy-detector"})


def test_toy_detector_known_answer_wrong_color_fails():
    metric = Color(model="vbench-toy-detector", device="cpu")
    cases = [synthetic_case([("triangle", "green")], "left", defect=d, background="navy") for d in ("none",
                                                                                                  "wrong_color")]
    clean, wrong = (metric.per_video(f)["color"] for f in metric.extract([c for c, _ in cases],
                                                                         [p for _, p in cases]))
    assert clean >= 0.75 and wrong <= 0.25, (clean, wrong)


def test_box_colours_from_the_toy_clip_are_labelled_toy_even_with_a_real_detector():
    """OWLv2's boxes with colours read by the toy CLIP are toy numbers: results.json's ``toy_model`` says so, with
    the note, and clips from outside the synthetic suite are counted."""
    metric = Color(**detection_build_args("color"))  # OWLv2 (random-init here) + clip_model=vbench-toy-clip
    metric.detector = StubDetector({0: [("dog", BOX, 0.9, "")]})
    prompt = Prompt(id="a", text="a red dog", category="animals", fields={"objects": ["dog"], "colors": ["red"]})
    (f,) = metric.extract([numbered_clip(4)], [prompt])
    res = metric.aggregate([ClipRecord(prompt, 0, f, {})])["color"]
    assert res.toy_model is not None and res.toy_model.startswith("vbench-toy-clip")
    assert any(n.startswith("box colours read by the toy CLIP") for n in res.notes)
    assert "1 of 1 clips are not from the synthetic suite: the toy models know only coloured shapes on plain " \
        "backgrounds" in res.notes
