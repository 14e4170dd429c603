"""VBench's temporal_style: video-text similarity of the clip and its full prompt, for prompts about a temporal style.

VBench (``vbench/temporal_style.py:temporal_style`` at 45e79ec) scores the prompts of its ``temporal_style``
dimension ("... in super slow motion", "... camera pans left") with ViCLIP: the cosine of the unit video embedding
(8 "middle" frames) and the unit embedding of the whole prompt text. The network and what differs from ViCLIP are in
:mod:`metrics.video_text` (X-CLIP ``microsoft/xclip-base-patch32``; ``model=vbench-toy-clip`` offline, toy).

A prompt applies when it is tagged with the dimension ``temporal_style``, or carries ``fields.temporal_style`` and is
tagged for no other semantic dimension (:func:`vbench_lite.prompt_fields.in_subset`); others are not applicable (NaN,
one note per reason). The text compared is the full prompt, as VBench, not the style alone.
"""

from __future__ import annotations

from metrics.applicability import APPLICABLE, LACKS
from metrics.video_text import VideoTextMetric
from vbench_lite.prompt_fields import semantic_targets
from vbench_lite.types import Prompt


class TemporalStyle(VideoTextMetric):
    """``--metrics temporal_style``: cosine of video and prompt embeddings, per clip."""

    name = "temporal_style"
    outputs = {"temporal_style": True}
    output_families = {"temporal_style": "semantic"}
    reasons = {LACKS: "have no text", 2: "are neither tagged temporal_style nor carry fields.temporal_style"}

    def applies(self, prompt: Prompt) -> int:  # the subset (vbench_lite.prompt_fields.in_subset) is checked first
        if not prompt.has_text:
            return LACKS
        return APPLICABLE if "temporal_style" in prompt.dimensions or semantic_targets(prompt).temporal_style else 2


__all__ = ["TemporalStyle"]
