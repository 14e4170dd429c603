"""VBench's color: among the sampled frames showing the object with a colour, the fraction showing the asked colour.

Rule (``vbench/color.py`` ``check_generate`` at VBench 45e79ec): "object frames" have a box of the object with a
colour, "colour frames" a box of the object in the asked colour; video value = colour frames / object frames, and a
video without object frames is left out (NaN here; VBench skips it)
(:func:`metrics.functional.vbench_semantic.color_score`). VBench reads the colour from GRiT's caption of the box;
here ``color_method=clip`` asks a CLIP which of ``"a {colour} {object}"`` fits the box crop best, over VBench's colour
words plus the asked colour (default OpenAI ViT-B/32 via open_clip, VBench's CLIP; ``clip_model=vbench-toy-clip``
offline), and ``color_method=detector`` takes the toy detector's own colour head (``auto``: the head for the toy
detector, CLIP for OWLv2, which has none). Applicable when the prompt's fields ask a colour of an object
and it is in the dimension's prompt subset (:func:`vbench_lite.prompt_fields.in_subset`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from metrics.applicability import APPLICABLE, code_of
from metrics.base import ClipRecord
from metrics.detection_metric import DetectionMetric, Detections, DetectionSettings
from metrics.functional.vbench_semantic import VBENCH_COLORS, color_score, normalise_color
from metrics.object_detection import TOY_DETECTOR, ClipBoxColors
from metrics.video_text import TOY_CLIP, TOY_CLIP_DESCRIPTION, check_open_clip_names
from vbench_lite.model_zoo import CLIP_VITB32, OWLV2_BASE_ENSEMBLE
from vbench_lite.prompt_fields import SemanticTargets
from vbench_lite.types import Clip


@dataclass(frozen=True)
class ColorSettings(DetectionSettings):
    """...plus ``color_method`` (``auto``, ``clip``, ``detector``) and the CLIP of ``clip``: ``clip_model``,
    ``clip_pretrained`` (open_clip name and tag), ``clip_weights`` (a local file instead of the tag)."""

    color_method: Literal["auto", "clip", "detector"] = "auto"
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "openai"
    clip_weights: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.color_method == "detector" and self.model != TOY_DETECTOR:
            raise ValueError(f"color_method=detector needs model={TOY_DETECTOR} ({self.model} has no colour head); "
                             "use color_method=clip")
        if self.method == "clip":  # the CLIP's names are checked only where the CLIP is used
            check_open_clip_names(self.clip_model, self.clip_pretrained, self.clip_weights, prefix="clip_")

    @property
    def method(self) -> str:
        """``color_method`` with ``auto`` resolved: the toy detector's head for the toy detector, else CLIP."""
        if self.color_method == "auto":
            return "detector" if self.model == TOY_DETECTOR else "clip"
        return self.color_method


class Color(DetectionMetric):
    """``--metrics color``: per clip the fraction of object frames in the asked colour (NaN without the object)."""

    name = "color"
    outputs = {"color": True}
    output_families = {"color": "semantic"}
    Settings = ColorSettings
    models = (OWLV2_BASE_ENSEMBLE, CLIP_VITB32)
    lacks = "ask no colour of an object (fields.colors)"

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.method = method = cfg.method
        self.colors = None
        if method == "clip":
            self.colors = ClipBoxColors(cfg.clip_model, cfg.clip_pretrained, cfg.clip_weights, self.name,
                                        device=self.run_device, allow_download=cfg.allow_download)

    def applicable(self, targets: SemanticTargets) -> bool:
        return bool(targets.colored_objects)

    def settings(self) -> dict[str, Any]:
        out = {k: v for k, v in super().settings().items() if k != "clip_weights"}
        out["color_method"] = self.method
        if self.colors is None:  # the CLIP is not used: its names change nothing
            out.pop("clip_model"), out.pop("clip_pretrained")
        else:
            out["clip_prompt"] = "a {colour} {object}"
            out["color_vocabulary"] = list(VBENCH_COLORS)
        return out

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        if self.colors is not None:
            out[f"color:{self.colors.name}:weights_sha256"] = self.colors.weights_sha256
        return out

    def toy_models(self) -> list[tuple[str, str]]:
        toys = super().toy_models()
        if self.colors is not None and self.colors.name == TOY_CLIP:  # a real detector does not make it real
            toys.append((TOY_CLIP_DESCRIPTION, "box colours read by the toy CLIP: not comparable with VBench's "
                         "numbers (pass clip_model=ViT-B-32 for VBench's CLIP)"))
        return toys

    def add_colors(self, clip: Clip, frames: np.ndarray, per_frame: list, targets: SemanticTargets) -> None:
        if self.colors is None:  # the toy detector's own colour head filled Detection.color
            return
        asked = [normalise_color(c) for _, c in targets.colored_objects]
        candidates = list(dict.fromkeys([*VBENCH_COLORS, *asked]))
        wanted = {o for o, _ in targets.colored_objects}
        for frame, dets in zip(frames, per_frame):
            for det in dets:
                # Only the boxes the rule reads (objects with an asked colour) are classified.
                det.color = self.colors.color(frame, det.box, det.label, candidates) if det.label in wanted else ""

    def rule(self, d: Detections) -> float:
        targets = [(o, c) for o, c in zip(d.objects, d.asked_colors) if c]
        return color_score(d.frame, d.labels, d.colors, d.num_frames, targets)

    def extra_notes(self, records: Sequence[ClipRecord]) -> list[str]:
        absent = sum(1 for r in records if code_of(r.features) == APPLICABLE
                     and not np.isfinite(self.rule(Detections.of(r.features))))
        return [f"{absent} of {len(records)} clips never show the object with a colour: left out, as VBench does"] \
            if absent else []


__all__ = ["Color", "ColorSettings"]
