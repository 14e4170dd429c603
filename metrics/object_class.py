"""VBench's object_class: in what fraction of 16 sampled frames is the prompt's object detected.

Rule (``vbench/object_class.py`` ``check_generate`` at VBench 45e79ec): a frame succeeds when the object's name is
among the names detected in it; video value = successful frames / sampled frames
(:func:`metrics.functional.vbench_semantic.object_class_score`). VBench's object_class prompts name one object; a
prompt with several objects is scored on its first (its subject); a prompt without ``fields.objects``, or tagged for
other semantic dimensions only (VBench scores object_class on its own prompts), is not applicable. Detector, frame
sampling and caching: :mod:`metrics.detection_metric`.
"""

from __future__ import annotations

from metrics.detection_metric import DetectionMetric, Detections
from metrics.functional.vbench_semantic import object_class_score


class ObjectClass(DetectionMetric):
    """``--metrics object_class``: per clip the fraction of sampled frames showing the object, higher is better."""

    name = "object_class"
    outputs = {"object_class": True}
    output_families = {"object_class": "semantic"}

    def rule(self, d: Detections) -> float:
        return object_class_score(d.frame, d.labels, d.num_frames, d.objects[0])


__all__ = ["ObjectClass"]
