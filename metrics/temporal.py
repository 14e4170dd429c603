"""Temporal consistency: temporal flicker, motion smoothness, warping error and dynamic degree.

Per clip (uint8 RGB frames ``I_0 .. I_{T-1}``; full formulas and references in
:mod:`metrics.functional.temporal`, flow conventions in :mod:`metrics.functional.optical_flow`)::

    temporal_flicker  = (255 - mean_t mean|I_{t+1} - I_t|) / 255                         higher is better, 1 = still
    motion_smoothness = (255 - mean_{t odd} mean|Î_t - I_t|) / 255, Î_t rebuilt from I_{t-1}, I_{t+1} by flow
                                                                                          higher is better, 1 = still
    warping_error     = mean_t MSE(I_{t+1} warped by flow(I_t -> I_{t+1}), I_t) on non-occluded pixels, RGB in [0, 1]
                                                                                          lower is better, 0 = still
    dynamic_degree    = 1.0 if at least max(1, ceil(P/4)) of the P frame pairs (about 8 a second) have a mean top-5%
                        flow magnitude above 6.0 * max(1, 8/fps) * min(h, w) / 256 pixels, else 0.0

The summary of each is the mean over clips (for dynamic degree: the fraction of dynamic clips) with a bootstrap
95% interval, by the default aggregation of :class:`metrics.base.VideoMetric`.

Three layers, torchmetrics style: pure maths in :mod:`metrics.functional.temporal`; streaming metrics with summable
states (:class:`TemporalFlicker`, :class:`MotionSmoothness`, :class:`WarpingError`, :class:`DynamicDegree`); and
the pipeline plug-in :class:`TemporalPlugin` (``--metrics temporal``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np
import torch
from torchmetrics import Metric

from metrics.base import VideoMetric
from metrics.functional.optical_flow import FlowSettings
from metrics.functional.temporal import (
    TemporalSettings,
    as_video,
    dynamic_degree,
    motion_smoothness,
    temporal_features,
    temporal_flicker,
    warping_error,
)
from vbench_lite.types import Clip, Prompt, VbenchError

#: Plug-in setting -> (field of TemporalSettings, or of its FlowSettings after "flow.", and its type).
_SETTINGS: dict[str, tuple[str, type]] = {
    "flow_method": ("flow.method", str),
    "flow_max_side": ("flow.max_side", int),
    "dis_preset": ("flow.dis_preset", str),
    "farneback_pyr_scale": ("flow.pyr_scale", float),
    "farneback_levels": ("flow.levels", int),
    "farneback_winsize": ("flow.winsize", int),
    "farneback_iterations": ("flow.iterations", int),
    "farneback_poly_n": ("flow.poly_n", int),
    "farneback_poly_sigma": ("flow.poly_sigma", float),
    **{f.name: (f.name, float) for f in fields(TemporalSettings) if f.name != "flow"},
}


def build_settings(**values: Any) -> TemporalSettings:
    """:class:`TemporalSettings` from plug-in settings (strings from ``--metric-args temporal.k=v`` are accepted)."""
    unknown = sorted(set(values) - set(_SETTINGS))
    if unknown:
        raise VbenchError(f"temporal: unknown settings {unknown} (known: {', '.join(sorted(_SETTINGS))})")
    flow: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for key, raw in values.items():
        target, kind = _SETTINGS[key]
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise VbenchError(f"temporal: {key} must be {'an integer' if kind is int else 'a number'}, "
                              f"got {raw!r}") from None
        if target.startswith("flow."):
            flow[target[len("flow."):]] = value
        else:
            top[target] = value
    return TemporalSettings(flow=FlowSettings(**flow), **top)


# -- streaming metrics (torchmetrics) ----------------------------------------------------------------------------
class _MeanOverVideos(Metric):
    """Mean of one per-video value: states are the float64 sum of values and the video count (merge by ``sum``)."""

    is_differentiable = False
    full_state_update = False
    higher_is_better: ClassVar[bool] = True

    def __init__(self, settings: TemporalSettings | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings or TemporalSettings()
        self.add_state("value_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("videos", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def per_video(self, frames: np.ndarray, fps: float) -> float:
        raise NotImplementedError

    def update(self, video: np.ndarray | torch.Tensor, fps: float = 8.0) -> None:
        """Add one uint8 ``(T, H, W, 3)`` video (numpy or torch); ``fps`` matters only for dynamic degree."""
        self.value_sum += self.per_video(as_video(video), float(fps))
        self.videos += 1

    def compute(self) -> torch.Tensor:
        if self.videos == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return self.value_sum / self.videos


class TemporalFlicker(_MeanOverVideos):
    """Mean over videos of ``(255 - mean_t mean|I_{t+1} - I_t|) / 255``; higher is better."""

    higher_is_better = True

    def per_video(self, frames: np.ndarray, fps: float) -> float:
        return temporal_flicker(frames)


class MotionSmoothness(_MeanOverVideos):
    """Mean over videos of ``(255 - mean_{t odd} mean|Î_t - I_t|) / 255`` (flow interpolation); higher is better."""

    higher_is_better = True

    def per_video(self, frames: np.ndarray, fps: float) -> float:
        return motion_smoothness(frames, self.settings)


class WarpingError(_MeanOverVideos):
    """Mean over videos of the occlusion-masked flow warping MSE (RGB in [0, 1]); lower is better."""

    higher_is_better = False

    def per_video(self, frames: np.ndarray, fps: float) -> float:
        return warping_error(frames, self.settings)


class DynamicDegree(_MeanOverVideos):
    """Fraction of dynamic videos (per video 1.0 or 0.0, VBench's rule with OpenCV flow); higher = more motion."""

    higher_is_better = True

    def per_video(self, frames: np.ndarray, fps: float) -> float:
        return dynamic_degree(frames, fps, self.settings)


# -- pipeline plug-in --------------------------------------------------------------------------------------------
class TemporalPlugin(VideoMetric):
    """``--metrics temporal``: the four measures per clip, from one set of optical flows.

    Settings (``--metric-args temporal.k=v``): ``flow_method`` (``dis`` or ``farneback``), ``flow_max_side``
    (frames are area-downscaled so the long side is at most this, default 256), ``dis_preset``, ``farneback_*``,
    ``occlusion_alpha1``/``occlusion_alpha2`` (0.01/0.5), ``dynamic_threshold_px`` (6.0 at a 256-pixel short
    side), ``dynamic_reference_side`` (256), ``dynamic_reference_fps`` (8), ``dynamic_top_fraction`` (0.05),
    ``dynamic_pair_fraction`` (0.25).

    Features per clip: the four scalars plus ``flicker_pair_mad``, ``smoothness_frame_mae``, ``warping_pair_mse``,
    ``warping_visible_fraction``, ``dynamic_pair_magnitude``, ``dynamic_threshold``, ``dynamic_pairs_needed``,
    ``dynamic_stride`` and ``flow_size``. A clip needs 2 frames; motion smoothness needs 3 (NaN otherwise, left
    out of its summary).
    """

    name = "temporal"
    outputs = {"temporal_flicker": True, "motion_smoothness": True, "warping_error": False, "dynamic_degree": True}
    output_families = {"temporal_flicker": "temporal_consistency", "motion_smoothness": "temporal_consistency",
                       "warping_error": "temporal_consistency", "dynamic_degree": "dynamics"}
    feature_version = 1

    def __init__(self, **settings: Any) -> None:
        self.temporal_settings = build_settings(**settings)
        super().__init__(**self.temporal_settings.describe())

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        build_settings(**settings)  # cheap (no model): names and values checked before any video is decoded

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        return [temporal_features(c.frames, c.fps, self.temporal_settings, source=c.source or "clip") for c in clips]


__all__ = ["DynamicDegree", "MotionSmoothness", "TemporalFlicker", "TemporalPlugin", "WarpingError",
           "build_settings"]
