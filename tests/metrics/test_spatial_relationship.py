"""spatial_relationship (metrics/spatial_relationship.py): VBench's get_position_score / check_generate through the
metric class on hand-made boxes, the directed rule, and the toy detector's known answer (swapped positions fail)."""

from __future__ import annotations

import math

import pytest

from metrics.spatial_relationship import SpatialRelationship
from tests.metrics.detection_fixtures import (
    StubDetector,
    detection_build_args,
    numbered_clip,
    synthetic_case,
)
from vbench_lite.types import Prompt

LEFT, RIGHT = (0.0, 0.0, 10.0, 10.0), (20.0, 2.0, 30.0, 12.0)
TABLE = {**{t: [("dog", LEFT, 0.9, ""), ("cat", RIGHT, 0.8, "")] for t in range(8)},  # as asked
         8: [("cat", LEFT, 0.9, ""), ("dog", RIGHT, 0.8, "")],  # swapped
         9: [("dog", LEFT, 0.9, ""), ("dog", RIGHT, 0.8, "")]}  # two dogs, no cat
PROMPT = Prompt(id="a", text="a dog on the left of a cat", fields={"objects": ["dog", "cat"], "relation": "left of"})


def scores(**settings) -> float:
    metric = SpatialRelationship(**{**detection_build_args("spatial_relationship"), **settings})
    metric.detector = StubDetector(TABLE)
    return metric.per_video(metric.extract([numbered_clip(16)], [PROMPT])[0])["spatial_relationship"]


def test_directed_rule_and_vbench_rule_by_hand():
    """16 frames: 0-7 as asked (1 each), 8 swapped, 9 two dogs and no cat, 10-15 nothing. Directed: 8 / 16.
    VBench's rule (axis only, any pair of dog/cat boxes) also scores frames 8 and 9: 10 / 16."""
    assert scores() == 8 / 16
    assert scores(rule="vbench") == 10 / 16
    # asking "right of": only the swapped frame, directed; VBench's rule cannot tell left from right
    metric = SpatialRelationship(**detection_build_args("spatial_relationship"))
    metric.detector = StubDetector(TABLE)
    right = Prompt(id="b", text="b", fields={"objects": ["dog", "cat"], "relation": "on the right of"})
    no_relation = Prompt(id="c", text="c", fields={"objects": ["dog", "cat"]})
    a, b = metric.extract([numbered_clip(16)] * 2, [right, no_relation])
    assert metric.per_video(a) == {"spatial_relationship": 1 / 16}
    assert math.isnan(metric.per_video(b)["spatial_relationship"])


def test_overlap_scores_threshold_over_iou():
    """IoU 3/7 >= 0.1: 0.1 / (3/7) (get_position_score); iou_threshold=0.5 makes it 1."""
    metric = SpatialRelationship(**detection_build_args("spatial_relationship"))
    metric.detector = StubDetector({0: [("dog", LEFT, 0.9, ""), ("cat", (4.0, 0.0, 14.0, 10.0), 0.9, "")]})
    (f,) = metric.extract([numbered_clip(1)], [PROMPT])  # one frame, padded to 16 copies
    assert metric.per_video(f)["spatial_relationship"] == pytest.approx(0.7 / 3, abs=1e-15)
    loose = SpatialRelationship(**detection_build_args("spatial_relationship"), iou_threshold=0.5)
    assert loose.per_video(f)["spatial_relationship"] == 1.0  # the rule runs on the cached detections


@pytest.mark.parametrize("motion", ["right", "down"])  # stacked ("above") and side by side ("left of") scenes
def test_toy_detector_known_answer_swapped_positions_fail(motion):
    metric = SpatialRelationship(model="vbench-toy-detector", device="cpu")
    cases = [synthetic_case([("circle", "red"), ("square", "blue")], motion, swap=s) for s in (False, True)]
    clean, swapped = (metric.per_video(f)["spatial_relationship"]
                      for f in metric.extract([c for c, _ in cases], [p for _, p in cases]))
    assert clean >= 0.75 and swapped <= 0.25, (clean, swapped)
    # VBench's own rule checks the axis only: the swapped clip passes it (why "directed" is the default)
    vbench = SpatialRelationship(model="vbench-toy-detector", device="cpu", rule="vbench")
    assert vbench.per_video(vbench.extract([cases[1][0]], [cases[1][1]])[0])["spatial_relationship"] >= 0.75
