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

Two layers, torchmetrics style: pure maths in :mod:`metrics.functional.temporal`, and the one stateful metric
:class:`TemporalConsistency` (``--metrics temporal``), whose per-video values are ``cat`` states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metrics.base import VideoMetric, checked_clips
from metrics.functional.optical_flow import LEARNED_METHODS
from metrics.functional.temporal import TemporalSettings, temporal_features
from vbench_lite.model_zoo import RAFT_LARGE, RAFT_SMALL
from vbench_lite.types import Clip, Prompt, VbenchError

#: Flat ``--metric-args temporal.NAME`` -> the nested field of :class:`TemporalSettings` it sets.
FLOW_ALIASES = {
    "flow_method": "flow.method",
    "flow_max_side": "flow.max_side",
    "dis_preset": "flow.dis_preset",
    "farneback_pyr_scale": "flow.pyr_scale",
    "farneback_levels": "flow.levels",
    "farneback_winsize": "flow.winsize",
    "farneback_iterations": "flow.iterations",
    "farneback_poly_n": "flow.poly_n",
    "farneback_poly_sigma": "flow.poly_sigma",
    "raft_iterations": "flow.raft_iterations",
}


class TemporalConsistency(VideoMetric):
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

    Settings = TemporalSettings
    setting_aliases = FLOW_ALIASES
    models = (RAFT_LARGE, RAFT_SMALL)

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        self.estimator = None
        self.weights_sha256: str | None = None
        cfg = self.config
        if cfg.flow.method in LEARNED_METHODS:  # RAFT: a network from a local file, on the GPU when present
            from metrics.image_features import file_sha256, resolve_device, resolve_file
            from metrics.raft_flow import SPECS, RaftEstimator, build_raft

            path = resolve_file(SPECS[cfg.flow.method], self.name, cfg.weights, cfg.allow_download)
            self.weights_sha256 = file_sha256(path)
            self.run_device = resolve_device(cfg.device)
            self.estimator = RaftEstimator(build_raft(cfg.flow.method, path), iterations=cfg.flow.raft_iterations,
                                           device=self.run_device)

    def aggregate(self, records, *, reference: str | None = None, seed: int = 0):
        results = super().aggregate(records, reference=reference, seed=seed)
        moving = sum(1 for r in records if "static" in r.features and float(r.features["static"]) == 0.0)
        if moving and "temporal_flicker" in results:
            results["temporal_flicker"].notes.append(
                f"static filter: {moving} of {len(records)} clips move and are left out of temporal_flicker")
        return results

    def provenance(self) -> dict[str, Any]:
        if self.weights_sha256 is None:
            return {}
        return {f"{self.name}:{self.config.flow.method}:weights_sha256": self.weights_sha256}

    @property
    def temporal_settings(self) -> TemporalSettings:
        return self.config

    def settings(self) -> dict[str, Any]:
        return self.config.describe()

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        return [self._features(c) for c in checked_clips(clips)]

    def _features(self, clip: Clip) -> dict[str, np.ndarray]:
        try:
            return temporal_features(clip.frames, clip.fps, self.config, source=clip.source or "clip",
                                     estimator=self.estimator)
        except ValueError as exc:  # the functional core's input errors are the user's one-line errors here
            raise VbenchError(str(exc)) from None


__all__ = ["FLOW_ALIASES", "TemporalConsistency"]
