"""VBench's success rules for object_class, multiple_objects, color and spatial_relationship, on plain detections.

Read from VBench's published code (github.com/Vchitect/VBench at commit 45e79ec14e69a2187202c675d2dbce1a71843d53),
where GRiT detects objects on 16 frames of each video (``vbench/utils.py`` ``load_video(num_frames=16)`` ->
``get_frame_indices(16, vlen, sample="middle")``):

* ``vbench/object_class.py`` ``check_generate``: a frame succeeds when the object's name is among the frame's
  detected names; video value = successful frames / frames.
* ``vbench/multiple_objects.py`` ``check_generate``: both objects of ``"a and b"`` among the frame's names (we take
  every object asked, which is the same for VBench's two); video value = fraction of frames.
* ``vbench/color.py`` ``check_generate``: among the frames where the object is detected with a colour word
  ("object frames"), the fraction where it has the asked colour; a video without object frames is left out of the
  mean (VBench skips it: here NaN). VBench pairs every dense caption with ``det_obj[0]``, the frame's FIRST object
  detection (an artefact of ``dense_pred_to_caption_tuple``); on plain detections each box has its own label and
  colour, so we match the box's own label: a frame counts when ANY box of the object has a colour / the asked colour.
* ``vbench/spatial_relationship.py`` ``get_position_score`` and ``check_generate``: per frame, the best score over
  pairs of boxes labelled object_a or object_b; per pair, with centre distances ``dx, dy`` and the boxes' IoU::

      left/right asked: |dx| > |dy| and IoU < 0.1 -> 1;  |dx| > |dy| and IoU >= 0.1 -> 0.1 / IoU;  else 0
      above/below asked: the same with |dy| > |dx|

  video value = mean of the frame scores (0 for a frame without a pair). VBench's rule checks only the AXIS: "a cat
  on the left of a dog" scores 1 with the cat on the right, and two cats (no dog) also form a pair. ``rule="vbench"``
  reproduces that exactly; ``rule="directed"`` (vbench-lite's default) scores a pair only when a box of object_a
  and a box of object_b stand on the asked SIDE (image y grows downwards, so "above" is a smaller centre y), with
  VBench's axis and IoU terms unchanged, so a clip with swapped positions fails.

VBench's overall value of object_class, multiple_objects and spatial_relationship is successful frames / all frames
over every video; ours is the mean of per-video values (``metrics/functional/aggregate.py``): the same when videos
have the same number of sampled frames, as VBench's 16 always are (shorter videos are padded with the last frame).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# VBench's get_frame_indices(num_frames, vlen, sample="middle"), padded with the last index for short clips: one
# implementation for every semantic dimension (a 10-frame video gives 16 indices, the last repeated 7 times, and
# each repeat counts as a frame in the fractions).
from metrics.functional.vbench_video_text import middle_frame_indices as vbench_frame_indices

#: VBench's sampled frames per video (``load_video(video_path, num_frames=16)`` in each of the four files).
VBENCH_FRAMES = 16
#: ``get_position_score(..., iou_threshold=0.1)``.
VBENCH_IOU_THRESHOLD = 0.1
#: The colour words of ``vbench/color.py`` ``check_generate``, with "grey" folded into "gray".
VBENCH_COLORS = ("white", "red", "pink", "blue", "silver", "purple", "orange", "green", "gray", "yellow", "black")
HORIZONTAL = ("left of", "right of")
VERTICAL = ("above", "below")
SPATIAL_RULES = ("directed", "vbench")


def normalise_color(color: str) -> str:
    """Lower case, "grey" -> "gray" (VBench lists both spellings as one colour)."""
    c = " ".join(str(color).lower().split())
    return "gray" if c == "grey" else c


def frames_of(frame_ids: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """Row indices of the detections of each sampled frame ``0 .. num_frames-1``."""
    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    if frame_ids.size and (frame_ids.min() < 0 or frame_ids.max() >= num_frames):
        raise ValueError(f"detection frame ids must lie in [0, {num_frames}), got {frame_ids.min()}..{frame_ids.max()}")
    return [np.flatnonzero(frame_ids == t) for t in range(num_frames)]


def _frame_count(num_frames: int) -> int:
    if num_frames < 1:
        raise ValueError("a video needs at least one sampled frame")
    return int(num_frames)


def object_class_score(frame_ids: np.ndarray, labels: Sequence[str], num_frames: int, obj: str) -> float:
    """Fraction of the ``num_frames`` sampled frames with a detection labelled ``obj`` (``object_class.py``)."""
    return multiple_objects_score(frame_ids, labels, num_frames, [obj])


def multiple_objects_score(frame_ids: np.ndarray, labels: Sequence[str], num_frames: int,
                           objects: Sequence[str]) -> float:
    """Fraction of the sampled frames where every object of ``objects`` is detected (``multiple_objects.py``)."""
    n = _frame_count(num_frames)
    if not objects:
        raise ValueError("no objects to look for")
    labels = np.asarray(labels, dtype=str)
    hits = sum(1 for rows in frames_of(frame_ids, n) if set(objects) <= set(labels[rows].tolist()))
    return hits / n


def color_counts(frame_ids: np.ndarray, labels: Sequence[str], colors: Sequence[str], num_frames: int, obj: str,
                 color: str) -> tuple[int, int]:
    """``(object frames, colour frames)`` of ``color.py`` ``check_generate``: frames with a box of ``obj`` that has a
    colour (non-empty), and frames with a box of ``obj`` of the asked ``color``."""
    labels, colors = np.asarray(labels, dtype=str), [normalise_color(c) for c in colors]
    want = normalise_color(color)
    n_obj = n_col = 0
    for rows in frames_of(frame_ids, _frame_count(num_frames)):
        found = [colors[r] for r in rows if labels[r] == obj and colors[r]]
        n_obj += bool(found)
        n_col += want in found
    return n_obj, n_col


def color_score(frame_ids: np.ndarray, labels: Sequence[str], colors: Sequence[str], num_frames: int,
                targets: Sequence[tuple[str, str]]) -> float:
    """Colour frames / object frames (``color.py``), NaN when the object is in no frame (VBench leaves the video
    out). Several ``(object, colour)`` targets: the mean of the targets that have object frames (VBench's prompts
    ask one)."""
    if not targets:
        raise ValueError("no (object, colour) targets")
    ratios = []
    for obj, color in targets:
        n_obj, n_col = color_counts(frame_ids, labels, colors, num_frames, obj, color)
        if n_obj:
            ratios.append(n_col / n_obj)
    return float(np.mean(ratios)) if ratios else float("nan")


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``x0, y0, x1, y1`` boxes, as ``get_position_score`` computes it (0 for an empty union)."""
    xo = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    yo = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = xo * yo
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def position_score(relation: str, box_a: Sequence[float], box_b: Sequence[float],
                   iou_threshold: float = VBENCH_IOU_THRESHOLD, directed: bool = False) -> float:
    """VBench's ``get_position_score(locality, obj1, obj2)``: 1 when the centres differ more along the relation's
    axis than across it and the boxes overlap by IoU < ``iou_threshold``, ``iou_threshold / IoU`` when they overlap
    more, 0 when the other axis dominates. ``directed``: also 0 unless ``box_a`` stands on the asked side of
    ``box_b`` (vbench-lite's addition; VBench's rule has no direction)."""
    if relation not in HORIZONTAL + VERTICAL:
        raise ValueError(f"unknown relation {relation!r} (known: {', '.join(HORIZONTAL + VERTICAL)})")
    dx = (box_b[0] + box_b[2]) / 2 - (box_a[0] + box_a[2]) / 2
    dy = (box_b[1] + box_b[3]) / 2 - (box_a[1] + box_a[3]) / 2
    along, across = (dx, dy) if relation in HORIZONTAL else (dy, dx)
    if not abs(along) > abs(across):
        return 0.0
    # dx = centre_b - centre_a: positive when a is left of b; dy positive when a is above b (y grows downwards).
    if directed and not (along > 0 if relation in ("left of", "above") else along < 0):
        return 0.0
    iou = box_iou(box_a, box_b)
    return 1.0 if iou < iou_threshold else iou_threshold / iou


def spatial_frame_scores(frame_ids: np.ndarray, labels: Sequence[str], boxes: np.ndarray, num_frames: int,
                         obj_a: str, obj_b: str, relation: str, *, rule: str = "directed",
                         iou_threshold: float = VBENCH_IOU_THRESHOLD) -> np.ndarray:
    """Per sampled frame, the best pair score (``spatial_relationship.py`` ``check_generate``; 0 without a pair).

    ``rule="vbench"``: every unordered pair of boxes labelled ``obj_a`` or ``obj_b``, in detection order as the first
    box (VBench's ``frame_obj_locats``), axis only. ``rule="directed"``: ordered pairs (a box of ``obj_a``, another
    box of ``obj_b``), direction checked."""
    if rule not in SPATIAL_RULES:
        raise ValueError(f"unknown spatial rule {rule!r} (known: {', '.join(SPATIAL_RULES)})")
    labels = np.asarray(labels, dtype=str)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.zeros(_frame_count(num_frames), dtype=np.float64)
    for t, rows in enumerate(frames_of(frame_ids, num_frames)):
        best = 0.0  # VBench's cur_score = [0]
        if rule == "vbench":
            kept = [r for r in rows if labels[r] in (obj_a, obj_b)]
            pairs = [(kept[i], kept[j]) for i in range(len(kept) - 1) for j in range(i + 1, len(kept))]
        else:
            pairs = [(i, j) for i in rows if labels[i] == obj_a for j in rows if labels[j] == obj_b and i != j]
        for i, j in pairs:
            best = max(best, position_score(relation, boxes[i], boxes[j], iou_threshold, directed=rule == "directed"))
        out[t] = best
    return out


def spatial_score(frame_ids: np.ndarray, labels: Sequence[str], boxes: np.ndarray, num_frames: int, obj_a: str,
                  obj_b: str, relation: str, *, rule: str = "directed",
                  iou_threshold: float = VBENCH_IOU_THRESHOLD) -> float:
    """The video value: mean of :func:`spatial_frame_scores`."""
    return float(spatial_frame_scores(frame_ids, labels, boxes, num_frames, obj_a, obj_b, relation, rule=rule,
                                      iou_threshold=iou_threshold).mean())


__all__ = ["SPATIAL_RULES", "VBENCH_COLORS", "VBENCH_FRAMES", "VBENCH_IOU_THRESHOLD", "box_iou", "color_counts",
           "color_score", "multiple_objects_score", "normalise_color", "object_class_score", "position_score",
           "spatial_frame_scores", "spatial_score", "vbench_frame_indices"]
