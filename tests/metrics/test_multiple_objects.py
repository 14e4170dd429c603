"""multiple_objects (metrics/multiple_objects.py): VBench's rule through the metric class on hand-made detections,
applicability, and the toy detector's known answer (a removed object fails)."""

from __future__ import annotations

import math

from metrics.multiple_objects import MultipleObjects
from tests.metrics.detection_fixtures import (
    StubDetector,
    detection_build_args,
    numbered_clip,
    synthetic_case,
)
from vbench_lite.types import Prompt

BOX = (0.0, 0.0, 10.0, 10.0)


def test_every_object_in_the_same_frame():
    """10 frames -> VBench's 16 indices 0..9, 9 x 6 more. Dog and cat together in frames 0-4, a dog alone in 9,
    a cat alone in 5: 5 of 16 sampled frames (multiple_objects.py check_generate)."""
    dog, cat = ("dog", BOX, 0.9, ""), ("cat", BOX, 0.7, "")
    metric = MultipleObjects(**detection_build_args("multiple_objects"))
    metric.detector = StubDetector({**{t: [dog, cat] for t in range(5)}, 5: [cat], 9: [dog]})
    prompts = [Prompt(id="a", text="a dog and a cat", fields={"objects": ["dog", "cat"]}),
               Prompt(id="b", text="a dog", fields={"objects": ["dog"]}),
               Prompt(id="c", text="two dogs", fields={"objects": ["dog", "dog"]})]
    feats = metric.extract([numbered_clip(10)] * 3, prompts)
    assert metric.per_video(feats[0]) == {"multiple_objects": 5 / 16}
    assert all(math.isnan(metric.per_video(f)["multiple_objects"]) for f in feats[1:])  # fewer than 2 names


def test_toy_detector_known_answer_removed_object_fails():
    metric = MultipleObjects(model="vbench-toy-detector", device="cpu")
    cases = [synthetic_case([("circle", "red"), ("square", "blue")], "up", defect=d) for d in ("none",
                                                                                           "remove_object")]
    clean, removed = (metric.per_video(f)["multiple_objects"]
                      for f in metric.extract([c for c, _ in cases], [p for _, p in cases]))
    assert clean >= 0.75 and removed <= 0.25, (clean, removed)
