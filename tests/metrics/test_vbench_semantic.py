"""VBench's detection rules (metrics/functional/vbench_semantic.py) on hand-made detections, against numbers worked out
by hand from VBench's code (github.com/Vchitect/VBench 45e79ec: vbench/utils.py get_frame_indices,
vbench/object_class.py, multiple_objects.py, color.py, spatial_relationship.py check_generate / get_position_score)
and against a loop written the way spatial_relationship.py writes it. Exact equality unless a tolerance is given."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.functional.vbench_semantic import (
    box_iou,
    color_counts,
    color_score,
    multiple_objects_score,
    object_class_score,
    position_score,
    spatial_frame_scores,
    spatial_score,
    vbench_frame_indices,
)
from metrics.functional.vbench_video_text import middle_frame_indices


def test_frame_indices_are_vbench_middle_sampling_padded_with_the_last_frame():
    # linspace(0, 100, 17).astype(int) = 0 6 12 18 25 31 37 43 50 56 62 68 75 81 87 93 100; (a + b - 1) // 2
    assert vbench_frame_indices(16, 100).tolist() == [2, 8, 14, 21, 27, 33, 39, 46, 52, 58, 64, 71, 77, 83, 89, 96]
    assert vbench_frame_indices(16, 16).tolist() == list(range(16))
    assert vbench_frame_indices(16, 10).tolist() == [*range(10), *[9] * 6]
    # bounds 0 2 4 6 9 -> ranges (0, 1) (2, 3) (4, 5) (6, 8) -> middles (a + b) // 2
    assert vbench_frame_indices(4, 9).tolist() == [0, 2, 4, 7]
    with pytest.raises(ValueError):
        vbench_frame_indices(16, 0)
    # one implementation of VBench's sampling for every semantic dimension (detections and video-text alike)
    assert vbench_frame_indices is middle_frame_indices


# Four sampled frames: 0 dog; 1 cat; 2 dog + cat; 3 nothing.
FRAMES = np.array([0, 1, 2, 2])
LABELS = ["dog", "cat", "dog", "cat"]


def test_object_class_is_the_fraction_of_frames_naming_the_object():
    assert object_class_score(FRAMES, LABELS, 4, "dog") == 2 / 4
    assert object_class_score(FRAMES, LABELS, 4, "bird") == 0.0
    # padded frames count again (VBench's padded 16 indices): frame 2 repeated at positions 2 and 3
    assert object_class_score(np.array([0, 2, 3]), ["dog", "dog", "dog"], 4, "dog") == 3 / 4


def test_multiple_objects_needs_every_object_in_the_same_frame():
    assert multiple_objects_score(FRAMES, LABELS, 4, ["dog", "cat"]) == 1 / 4
    assert multiple_objects_score(FRAMES, LABELS, 4, ["dog", "bird"]) == 0.0
    with pytest.raises(ValueError, match="frame ids"):
        multiple_objects_score(np.array([5]), ["dog"], 4, ["dog"])


def test_color_is_colour_frames_over_object_frames():
    # 0: red car; 1: blue car; 2: uncoloured car + red bike; 3: red car and blue car
    frames = np.array([0, 1, 2, 2, 3, 3])
    labels = ["car", "car", "car", "bike", "car", "car"]
    colors = ["red", "blue", "", "red", "red", "blue"]
    assert color_counts(frames, labels, colors, 4, "car", "red") == (3, 2)  # frame 2's car has no colour
    assert color_score(frames, labels, colors, 4, [("car", "red")]) == 2 / 3
    assert color_score(frames, labels, colors, 4, [("car", "blue")]) == 2 / 3
    assert color_score(frames, labels, colors, 4, [("bike", "red")]) == 1.0
    assert math.isnan(color_score(frames, labels, colors, 4, [("bus", "red")]))  # VBench skips the video
    assert color_score(frames, labels, ["grey", "gray", "", "", "", ""], 4, [("car", "gray")]) == 1.0
    # two targets: mean of the ratios of the targets with object frames (bus has none)
    assert color_score(frames, labels, colors, 4, [("car", "red"), ("bike", "blue"), ("bus", "red")]) == \
        pytest.approx((2 / 3 + 0) / 2, abs=1e-15)


A = (0.0, 0.0, 10.0, 10.0)


def test_position_score_by_hand():
    right = (20.0, 2.0, 30.0, 12.0)  # centres (5, 5) -> (25, 7): dx 20, dy 2, no overlap
    assert position_score("left of", A, right) == 1.0
    assert position_score("right of", A, right) == 1.0  # VBench checks the axis only
    assert position_score("right of", A, right, directed=True) == 0.0
    assert position_score("left of", A, right, directed=True) == 1.0
    assert position_score("right of", right, A, directed=True) == 1.0
    assert position_score("above", A, right) == 0.0 and position_score("below", A, right) == 0.0
    overlapping = (4.0, 0.0, 14.0, 10.0)  # intersection 60, union 140: IoU 3/7 >= 0.1 -> 0.1 / (3/7)
    assert box_iou(A, overlapping) == pytest.approx(3 / 7, abs=1e-15)
    assert position_score("left of", A, overlapping) == pytest.approx(0.7 / 3, abs=1e-15)
    under = (1.0, 20.0, 11.0, 30.0)  # dy 20 > dx 1; y grows downwards: A is above
    assert position_score("above", A, under, directed=True) == 1.0
    assert position_score("below", A, under, directed=True) == 0.0
    assert position_score("below", A, under) == 1.0
    assert position_score("left of", A, (10.0, 10.0, 20.0, 20.0)) == 0.0  # |dx| == |dy|: neither axis wins
    with pytest.raises(ValueError, match="relation"):
        position_score("near", A, right)


def test_spatial_frames_directed_and_vbench():
    # 0: dog left of cat; 1: swapped; 2: two dogs side by side, no cat; 3: a dog alone; 4: overlapping dog, cat
    frames = np.array([0, 0, 1, 1, 2, 2, 3, 4, 4])
    labels = ["dog", "cat", "cat", "dog", "dog", "dog", "dog", "dog", "cat"]
    beside = (20.0, 2.0, 30.0, 12.0)
    boxes = np.array([A, beside, A, beside, A, (20.0, 0.0, 30.0, 10.0), A, A, (4.0, 0.0, 14.0, 10.0)])
    directed = spatial_frame_scores(frames, labels, boxes, 5, "dog", "cat", "left of", rule="directed")
    vbench = spatial_frame_scores(frames, labels, boxes, 5, "dog", "cat", "left of", rule="vbench")
    np.testing.assert_allclose(directed, [1, 0, 0, 0, 0.7 / 3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(vbench, [1, 1, 1, 0, 0.7 / 3], rtol=0, atol=1e-15)
    assert spatial_score(frames, labels, boxes, 5, "dog", "cat", "left of") == pytest.approx((1 + 0.7 / 3) / 5)
    assert spatial_score(frames, labels, boxes, 5, "dog", "cat", "right of", rule="directed") == 1 / 5
    with pytest.raises(ValueError, match="rule"):
        spatial_score(frames, labels, boxes, 5, "dog", "cat", "left of", rule="nearest")


def _vbench_loop(relation, frame_preds, key_a, key_b):
    """spatial_relationship.py's check_generate written out as VBench writes it (its get_position_score with
    iou_threshold 0.1; its relation strings "on the left of" ... mapped to ours by the caller)."""
    def score(loc, b1, b2):
        c1 = ((b1[0] + b1[2]) / 2, (b1[1] + b1[3]) / 2)
        c2 = ((b2[0] + b2[2]) / 2, (b2[1] + b2[3]) / 2)
        xd, yd = c2[0] - c1[0], c2[1] - c1[1]
        xo = max(0, min(b1[2], b2[2]) - max(b1[0], b2[0]))
        yo = max(0, min(b1[3], b2[3]) - max(b1[1], b2[1]))
        inter = xo * yo
        iou = inter / ((b1[2] - b1[0]) * (b1[3] - b1[1]) + (b2[2] - b2[0]) * (b2[3] - b2[1]) - inter)
        if loc in "on the right of" or loc in "on the left of":
            return (1 if iou < 0.1 else 0.1 / iou) if abs(xd) > abs(yd) else 0
        return (1 if iou < 0.1 else 0.1 / iou) if abs(yd) > abs(xd) else 0

    out = []
    for frame_pred in frame_preds:
        locs, cur = [], [0]
        for item in frame_pred:
            if key_a == item[0] or key_b == item[0]:
                locs.append(item[1])
            for i in range(len(locs) - 1):
                for j in range(i + 1, len(locs)):
                    cur.append(score(relation, locs[i], locs[j]))
        out.append(max(cur))
    return out


@pytest.mark.parametrize("relation,ours", [("on the left of", "left of"), ("on the top of", "above")])
def test_vbench_rule_equals_vbench_loop_on_random_detections(relation, ours):
    rng = np.random.default_rng(0)
    n_frames, n = 16, 60
    frames = np.sort(rng.integers(0, n_frames, n))
    labels = rng.choice(["dog", "cat", "car"], n).tolist()
    xy = rng.uniform(0, 80, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 30, (n, 2))], axis=1)
    preds = [[(labels[i], boxes[i].tolist()) for i in np.flatnonzero(frames == t)] for t in range(n_frames)]
    expected = _vbench_loop(relation, preds, "dog", "cat")
    got = spatial_frame_scores(frames, labels, boxes, n_frames, "dog", "cat", ours, rule="vbench")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert 0 < np.mean(expected) < 1  # the random set exercises the 1, 0.1/IoU and 0 branches
