"""VBench's multiple_objects: in what fraction of 16 sampled frames are all the prompt's objects detected together.

Rule (``vbench/multiple_objects.py`` ``check_generate`` at VBench 45e79ec, for prompts "a and b"): a frame succeeds
when every object is among the names detected in it; video value = successful frames / sampled frames
(:func:`metrics.functional.vbench_semantic.multiple_objects_score`). Applicable when the prompt's ``fields.objects``
names at least two objects (distinct names; "two dogs" cannot be told apart from one dog by names alone) and it is in
the dimension's prompt subset (:func:`vbench_lite.prompt_fields.in_subset`).
"""

from __future__ import annotations

from metrics.detection_metric import DetectionMetric, Detections
from metrics.functional.vbench_semantic import multiple_objects_score
from vbench_lite.prompt_fields import SemanticTargets


class MultipleObjects(DetectionMetric):
    """``--metrics multiple_objects``: per clip the fraction of sampled frames showing every object."""

    name = "multiple_objects"
    outputs = {"multiple_objects": True}
    output_families = {"multiple_objects": "semantic"}
    lacks = "name fewer than two distinct fields.objects"

    def applicable(self, targets: SemanticTargets) -> bool:
        return len(set(targets.objects)) >= 2

    def rule(self, d: Detections) -> float:
        return multiple_objects_score(d.frame, d.labels, d.num_frames, d.objects)


__all__ = ["MultipleObjects"]
