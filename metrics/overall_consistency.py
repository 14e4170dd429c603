"""VBench's overall_consistency: video-text similarity of every clip with its full prompt.

VBench (``vbench/overall_consistency.py:overall_consistency`` at 45e79ec) scores its ``overall_consistency``
prompts with ViCLIP: the cosine of the unit video embedding (8 "middle" frames) and the unit embedding of the prompt.
The network and what differs from ViCLIP are in :mod:`metrics.video_text` (X-CLIP
``microsoft/xclip-base-patch32``; ``model=vbench-toy-clip`` offline, toy). Every prompt with text in the dimension's
subset applies (:func:`vbench_lite.prompt_fields.in_subset`: tagged overall_consistency, or not tagged at all); a
clip known only by its prompt id (no text) is not applicable (NaN, one note).
"""

from __future__ import annotations

from metrics.video_text import VideoTextMetric


class OverallConsistency(VideoTextMetric):
    """``--metrics overall_consistency``: cosine of video and prompt embeddings, per clip."""

    name = "overall_consistency"
    outputs = {"overall_consistency": True}
    output_families = {"overall_consistency": "text_alignment"}


__all__ = ["OverallConsistency"]
