"""VBench's spatial_relationship: do the two objects stand as the prompt says (left of, right of, above, below).

Rule (``vbench/spatial_relationship.py`` ``get_position_score`` and ``check_generate`` at VBench 45e79ec), per
sampled frame the best pair of boxes: 1 when their centres differ more along the relation's axis than across it and
they overlap by IoU < ``iou_threshold`` (0.1), ``0.1 / IoU`` when they overlap more, 0 otherwise; video value = mean
over the 16 sampled frames (:func:`metrics.functional.vbench_semantic.spatial_frame_scores`).

``rule=directed`` (default) also requires object 0 on the asked SIDE of object 1, pairing only a box of each;
``rule=vbench`` is VBench's exact rule, which checks the axis only (a cat asked "left of" a dog scores 1 on its right,
and two boxes of the same object form a pair). Applicable when the prompt's fields give two objects and a relation
and it is in the dimension's prompt subset (:func:`vbench_lite.prompt_fields.in_subset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from metrics.detection_metric import DetectionMetric, Detections, DetectionSettings
from metrics.functional.vbench_semantic import VBENCH_IOU_THRESHOLD, spatial_score
from vbench_lite.prompt_fields import SemanticTargets


@dataclass(frozen=True)
class SpatialSettings(DetectionSettings):
    """...plus ``rule`` (``directed`` or ``vbench``) and ``iou_threshold`` (VBench's 0.1)."""

    rule: Literal["directed", "vbench"] = "directed"
    iou_threshold: float = VBENCH_IOU_THRESHOLD

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.iou_threshold <= 1:
            raise ValueError(f"iou_threshold must lie in (0, 1], got {self.iou_threshold}")


class SpatialRelationship(DetectionMetric):
    """``--metrics spatial_relationship``: per clip the mean frame score of the asked relation, in [0, 1]."""

    name = "spatial_relationship"
    outputs = {"spatial_relationship": True}
    output_families = {"spatial_relationship": "semantic"}
    Settings = SpatialSettings
    lacks = "have no fields.relation between two fields.objects"

    def applicable(self, targets: SemanticTargets) -> bool:
        return len(targets.objects) >= 2 and targets.relation is not None

    def rule(self, d: Detections) -> float:
        return spatial_score(d.frame, d.labels, d.boxes, d.num_frames, d.objects[0], d.objects[1], d.relation,
                             rule=self.config.rule, iou_threshold=self.config.iou_threshold)


__all__ = ["SpatialRelationship", "SpatialSettings"]
