"""Mean frame brightness: a trivial metric that exercises the pipeline end to end.

brightness(clip) = mean over frames, pixels and channels of the uint8 values / 255, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metrics.base import VideoMetric
from vbench_lite.types import Clip, Prompt


def mean_brightness(frames: np.ndarray) -> float:
    """``frames`` uint8 ``(T, H, W, 3)`` -> mean value in [0, 1]."""
    return float(np.asarray(frames, dtype=np.float64).mean() / 255.0)


class BrightnessMetric(VideoMetric):
    name = "brightness"
    outputs = {"brightness": True}

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        return [{"brightness": np.float64(mean_brightness(c.frames))} for c in clips]
