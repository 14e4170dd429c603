"""Temporal consistency of one clip: flicker, motion smoothness, warping error, dynamic degree; CLIP frame consistency.

A clip is uint8 RGB ``(T, H, W, 3)`` with frames ``I_0 .. I_{T-1}``. Flow conventions, the grayscale used for flow,
the warping operator ``W(I, F)(x) = I(x + F(x))`` and the downscaling of large frames are described in
:mod:`metrics.functional.optical_flow`. ``I`` below is a frame at flow resolution unless said otherwise.

**Temporal flicker** (VBench "temporal flickering"; higher is better, 1 for identical frames)::

    mad_t   = mean over pixels and channels of |I_{t+1} - I_t|        (uint8 values, full resolution)
    flicker = (255 - mean_t mad_t) / 255,                              t = 0 .. T-2

**Motion smoothness** (VBench's measure with the learned AMT interpolator replaced by flow-based interpolation;
higher is better, 1 for a static clip). Every odd frame ``t`` that has a right neighbour (``t = 1, 3, ..., t+1 <=
T-1``) is rebuilt from its even neighbours::

    F = flow(I_{t-1} -> I_{t+1}),   B = flow(I_{t+1} -> I_{t-1})
    F_{t->t-1} = (B - F) / 4,        F_{t->t+1} = (F - B) / 4          (Jiang et al., Super SloMo, eq. 4 at 1/2)
    Î_t = round(1/2 W(I_{t-1}, F_{t->t-1}) + 1/2 W(I_{t+1}, F_{t->t+1}))   (RGB, rounded to uint8)
    e_t = mean over pixels and channels of |Î_t - I_t|
    smoothness = (255 - mean_t e_t) / 255

The symmetric combination of both flows makes the score invariant to playing the clip backwards. Undefined (NaN)
for fewer than 3 frames.

**Warping error** (Lai et al., ECCV 2018, as used by EvalCrafter; lower is better, 0 for identical frames). RGB
scaled to [0, 1]; for each consecutive pair::

    F = flow(I_t -> I_{t+1}),  B = flow(I_{t+1} -> I_t),  Ŵ = W(I_{t+1}, F)
    visible(x) = not occluded(x) and x + F(x) inside the frame,
    occluded(x) = |F(x) + B(x + F(x))|^2 > a1 (|F(x)|^2 + |B(x + F(x))|^2) + a2,   a1 = 0.01, a2 = 0.5
    mse_t = sum over visible x and channels c of (Ŵ_c(x) - I_{t,c}(x))^2 / (3 * #visible)
    warping_error = mean_t mse_t

A pair with no visible pixel uses every pixel (as Lai et al. do). Unlike Lai et al. we flag pixels whose flow
leaves the frame as occluded and skip their motion-boundary test; occlusion is judged on the clip itself, since a
generated clip has no source video.

**Dynamic degree** (VBench's rule with OpenCV flow; 1.0 = dynamic, 0.0 = static, higher means more motion). Frames
are taken at stride ``s = max(1, floor(fps / 8 + 1/2))`` (about 8 per second, clamped so one pair exists); for each
of the ``P`` pairs of consecutive sampled frames::

    m_p = mean of the k = max(1, floor(0.05 * h * w)) largest values of |flow(I_p -> I_{p+1})|
    threshold = 6.0 * max(1, 8 / fps) * min(h, w) / 256        (pixels at flow resolution h x w)
    needed = max(1, ceil(0.25 * P))
    dynamic = 1.0 if #{p : m_p > threshold} >= needed else 0.0

The threshold is 6 px per 1/8 s on a 256-pixel short side and scales with resolution, so downscaling does not
change the decision. VBench requires ``round(T_sampled / 4)`` moving pairs; ours, a quarter of the pairs rounded
up, is the same at 8, 12, 16, 24 and 32 frames and never 0 (VBench's rule is 0 for 2 frames: always dynamic).

**CLIP frame consistency** of per-frame embeddings ``f_1 .. f_T`` (VBench subject/background consistency with
CLIP features; 1 for identical frames)::

    consistency = mean over t = 2..T of 1/2 [max(0, cos(f_1, f_t)) + max(0, cos(f_{t-1}, f_t))]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from metrics.functional.optical_flow import (
    MIN_FLOW_SIDE,
    FlowEstimator,
    FlowSettings,
    flow_magnitude,
    flow_size,
    inside_frame,
    occlusion_mask,
    resize_frames,
    to_gray,
    warp_backward,
)
from metrics.functional.vbench_consistency import (
    dynamic_sample_interval,
    top_cut_mean,
    vbench_dynamic,
    vbench_static,
)


@dataclass(frozen=True)
class TemporalSettings:
    """Every constant of the temporal measures; :meth:`describe` is recorded with results."""

    flow: FlowSettings = field(default_factory=FlowSettings)
    occlusion_alpha1: float = 0.01
    occlusion_alpha2: float = 0.5
    dynamic_top_fraction: float = 0.05
    dynamic_threshold_px: float = 6.0
    dynamic_reference_side: float = 256.0
    dynamic_reference_fps: float = 8.0
    dynamic_pair_fraction: float = 0.25
    #: ``lite`` (the rule above) or ``vbench`` (VBench's exactly: frames every round(fps/8), top int(5%) pixels,
    #: threshold 6 * min(h, w) / 256, round(N/4) moving pairs of N sampled frames).
    dynamic_rule: str = "lite"
    #: VBench's static filter for temporal flicker: clips that move (by the flow) get NaN flicker and are left out.
    static_filter: bool = False
    #: RAFT weights file (flow_method raft_large/raft_small), the device flow runs on and whether a missing RAFT
    #: file may be fetched; read by the metric class, never here.
    weights: str | None = None
    device: str | None = None
    allow_download: bool = False

    def __post_init__(self) -> None:
        if self.dynamic_rule not in ("lite", "vbench"):
            raise ValueError(f"temporal: dynamic_rule must be lite or vbench, got {self.dynamic_rule!r}")
        if not 0.0 < self.dynamic_top_fraction <= 1.0 or not 0.0 < self.dynamic_pair_fraction <= 1.0:
            raise ValueError("temporal: dynamic_top_fraction and dynamic_pair_fraction must be in (0, 1]")
        if min(self.dynamic_threshold_px, self.dynamic_reference_side, self.dynamic_reference_fps) <= 0:
            raise ValueError("temporal: dynamic threshold, reference side and reference fps must be positive")
        if self.occlusion_alpha1 < 0 or self.occlusion_alpha2 < 0:
            raise ValueError("temporal: occlusion alphas must be non-negative")

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("flow", "weights", "device", "allow_download")}
        out["flow"] = self.flow.describe()
        out["interpolation"] = "super-slomo-linear-midpoint"
        return out


# -- input checks ------------------------------------------------------------------------------------------------
def as_video(video: Any, source: str = "video", min_frames: int = 1) -> np.ndarray:
    """uint8 ``(T, H, W, 3)`` numpy array from a numpy array or torch tensor, or a one-line error."""
    if hasattr(video, "detach"):  # a torch tensor
        video = video.detach().cpu().numpy()
    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"{source}: expected frames of shape (T, H, W, 3), got {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"{source}: expected uint8 frames, got {frames.dtype}")
    if frames.shape[0] < min_frames:
        raise ValueError(f"{source}: {frames.shape[0]} frame(s), this measure needs at least {min_frames}")
    return frames


# -- flicker -----------------------------------------------------------------------------------------------------
def consecutive_mean_abs_diff(frames: np.ndarray) -> np.ndarray:
    """``mad_t`` = mean |I_{t+1} - I_t| over pixels and channels, float64 ``(T-1,)`` in grey levels."""
    x = np.asarray(frames)
    if len(x) < 2:
        return np.zeros(0)
    return np.array([np.abs(x[t + 1].astype(np.int16) - x[t].astype(np.int16)).mean(dtype=np.float64)
                     for t in range(len(x) - 1)])


def flicker_from_mad(pair_mad: np.ndarray) -> float:
    return (255.0 - float(np.mean(pair_mad))) / 255.0 if len(pair_mad) else float("nan")


def temporal_flicker(video: Any) -> float:
    """``(255 - mean_t mad_t) / 255`` on uint8 RGB; 1 for identical frames."""
    return flicker_from_mad(consecutive_mean_abs_diff(as_video(video, min_frames=2)))


# -- motion smoothness -------------------------------------------------------------------------------------------
def interpolate_middle(prev_rgb: np.ndarray, next_rgb: np.ndarray, flow_fw: np.ndarray, flow_bw: np.ndarray
                       ) -> np.ndarray:
    """The frame halfway between two frames, from ``flow_fw = flow(prev -> next)`` and ``flow_bw = flow(next -> prev)``.

    Returns uint8 ``(H, W, 3)``: ``round(1/2 W(prev, (B - F)/4) + 1/2 W(next, (F - B)/4))``.
    """
    to_prev = 0.25 * (flow_bw - flow_fw)
    to_next = -to_prev
    middle = 0.5 * warp_backward(prev_rgb, to_prev) + 0.5 * warp_backward(next_rgb, to_next)
    return np.clip(np.rint(middle), 0, 255).astype(np.uint8)


def flow_pairs(estimator: Any, prev: np.ndarray, nxt: np.ndarray) -> list[np.ndarray]:
    """``estimator`` on pairs of frames, batched when the estimator can (RAFT), one by one otherwise."""
    if hasattr(estimator, "pairs"):
        return list(estimator.pairs(prev, nxt))
    return [estimator(a, b) for a, b in zip(prev, nxt)]


def smoothness_errors(rgb: np.ndarray, gray: np.ndarray, estimator: FlowEstimator) -> np.ndarray:
    """``e_t`` for t = 1, 3, ... (t+1 <= T-1): mean |Î_t - I_t| in grey levels, float64 (``gray``: the frames the
    estimator reads, RGB for RAFT)."""
    errors = []
    odd = list(range(1, len(rgb) - 1, 2))
    if not odd:
        return np.zeros(0, dtype=np.float64)
    before, after = gray[[t - 1 for t in odd]], gray[[t + 1 for t in odd]]
    fws, bws = flow_pairs(estimator, before, after), flow_pairs(estimator, after, before)
    for t, fw, bw in zip(odd, fws, bws):
        middle = interpolate_middle(rgb[t - 1], rgb[t + 1], fw, bw)
        errors.append(np.abs(middle.astype(np.int16) - rgb[t].astype(np.int16)).mean(dtype=np.float64))
    return np.asarray(errors, dtype=np.float64)


def smoothness_from_errors(errors: np.ndarray) -> float:
    return (255.0 - float(np.mean(errors))) / 255.0 if len(errors) else float("nan")


def motion_smoothness(video: Any, settings: TemporalSettings | None = None) -> float:
    """``(255 - mean_t e_t) / 255`` over odd frames rebuilt from their neighbours; 1 for a static clip."""
    settings = settings or TemporalSettings()
    rgb, gray = flow_frames(as_video(video, min_frames=3), settings.flow)
    return smoothness_from_errors(smoothness_errors(rgb, gray, FlowEstimator(settings.flow)))


# -- warping error -----------------------------------------------------------------------------------------------
def pair_warping_error(frame_a: np.ndarray, frame_b: np.ndarray, flow_fw: np.ndarray, flow_bw: np.ndarray,
                       alpha1: float = 0.01, alpha2: float = 0.5) -> tuple[float, float]:
    """``(mse, visible_fraction)`` of ``W(frame_b, flow_fw)`` against ``frame_a``, RGB in [0, 1], visible pixels."""
    a = frame_a.astype(np.float32) / 255.0
    warped = warp_backward(frame_b.astype(np.float32) / 255.0, flow_fw)  # (H, W, 3)
    visible = ~occlusion_mask(flow_fw, flow_bw, alpha1, alpha2) & inside_frame(flow_fw)
    sq = ((warped - a).astype(np.float64) ** 2).sum(axis=-1)  # (H, W), summed over channels
    n_visible = int(visible.sum())
    if n_visible == 0:
        return float(sq.mean() / a.shape[-1]), 0.0
    return float(sq[visible].sum() / (a.shape[-1] * n_visible)), n_visible / visible.size


def warping_error(video: Any, settings: TemporalSettings | None = None) -> float:
    """Mean over consecutive pairs of the occlusion-masked MSE of the flow-warped next frame; 0 for identical frames."""
    settings = settings or TemporalSettings()
    rgb, gray = flow_frames(as_video(video, min_frames=2), settings.flow)
    fw, bw = consecutive_flows(gray, FlowEstimator(settings.flow))
    mse, _ = warping_errors(rgb, fw, bw, settings)
    return float(np.mean(mse))


def warping_errors(rgb: np.ndarray, flows_fw: list[np.ndarray], flows_bw: list[np.ndarray],
                   settings: TemporalSettings) -> tuple[np.ndarray, np.ndarray]:
    """Per consecutive pair: ``(mse_t, visible_fraction_t)``, float64 ``(T-1,)`` each."""
    pairs = [pair_warping_error(rgb[t], rgb[t + 1], flows_fw[t], flows_bw[t], settings.occlusion_alpha1,
                                settings.occlusion_alpha2) for t in range(len(rgb) - 1)]
    return np.array([p[0] for p in pairs], dtype=np.float64), np.array([p[1] for p in pairs], dtype=np.float64)


# -- dynamic degree ----------------------------------------------------------------------------------------------
def top_fraction_mean(values: np.ndarray, fraction: float = 0.05) -> float:
    """Mean of the ``max(1, floor(fraction * n))`` largest values."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    k = max(1, math.floor(fraction * flat.size))
    return float(np.partition(flat, flat.size - k)[flat.size - k:].mean())


def dynamic_stride(fps: float, num_frames: int, reference_fps: float = 8.0) -> int:
    """Frame stride giving about ``reference_fps`` sampled frames a second, at most ``num_frames - 1``."""
    if not fps > 0:
        raise ValueError(f"dynamic degree: fps must be positive, got {fps}")
    stride = max(1, math.floor(fps / reference_fps + 0.5))
    return max(1, min(stride, num_frames - 1))


def dynamic_threshold(height: int, width: int, fps: float, settings: TemporalSettings | None = None) -> float:
    """``6.0 * max(1, 8 / fps) * min(h, w) / 256`` pixels (with the settings' constants)."""
    s = settings or TemporalSettings()
    return s.dynamic_threshold_px * max(1.0, s.dynamic_reference_fps / fps) * min(height, width) / \
        s.dynamic_reference_side


def dynamic_pairs_needed(num_pairs: int, pair_fraction: float = 0.25) -> int:
    """``max(1, ceil(pair_fraction * num_pairs))``."""
    return max(1, math.ceil(pair_fraction * num_pairs))


def is_dynamic(pair_magnitudes: np.ndarray, threshold: float, needed: int) -> float:
    """1.0 when at least ``needed`` pairs move more than ``threshold``, else 0.0."""
    return 1.0 if int((np.asarray(pair_magnitudes) > threshold).sum()) >= needed else 0.0


def dynamic_pair_magnitudes(gray: np.ndarray, stride: int, estimator: FlowEstimator, fraction: float,
                            flows_fw: list[np.ndarray] | None = None) -> np.ndarray:
    """``m_p`` for pairs of frames ``stride`` apart (reusing consecutive forward flows when ``stride == 1``)."""
    if stride == 1 and flows_fw is not None:
        flows = flows_fw
    else:
        sampled = gray[::stride]
        flows = flow_pairs(estimator, sampled[:-1], sampled[1:])
    return np.array([top_fraction_mean(flow_magnitude(f), fraction) for f in flows], dtype=np.float64)


def dynamic_degree(video: Any, fps: float = 8.0, settings: TemporalSettings | None = None) -> float:
    """1.0 if the clip is dynamic by the rule in the module docstring, else 0.0."""
    return float(temporal_features(as_video(video, min_frames=2), fps, settings)["dynamic_degree"])


# -- all at once -------------------------------------------------------------------------------------------------
def consecutive_flows(gray: np.ndarray, estimator: FlowEstimator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``flow(I_t -> I_{t+1})`` and ``flow(I_{t+1} -> I_t)`` for t = 0 .. T-2."""
    return flow_pairs(estimator, gray[:-1], gray[1:]), flow_pairs(estimator, gray[1:], gray[:-1])


def flow_frames(frames: np.ndarray, flow_settings: FlowSettings) -> tuple[np.ndarray, np.ndarray]:
    """RGB and gray frames at flow resolution."""
    size = flow_size(frames.shape[1], frames.shape[2], flow_settings.max_side)
    rgb = resize_frames(frames, size)
    return rgb, to_gray(rgb)


def temporal_features(video: Any, fps: float = 8.0, settings: TemporalSettings | None = None,
                      source: str = "video", estimator: Any = None) -> dict[str, np.ndarray]:
    """The four measures of one clip plus their per-pair/per-frame arrays; consecutive flows are computed once.

    Keys: ``temporal_flicker``, ``motion_smoothness``, ``warping_error``, ``dynamic_degree`` (float64 scalars);
    ``flicker_pair_mad``, ``smoothness_frame_mae``, ``warping_pair_mse``, ``warping_visible_fraction``,
    ``dynamic_pair_magnitude`` (float64 arrays); ``dynamic_threshold``, ``dynamic_pairs_needed``, ``dynamic_stride``
    and ``flow_size`` (the ``(h, w)`` flow ran at); with ``static_filter``, ``static`` (1.0 static, 0.0 moving).
    ``estimator`` replaces the settings' OpenCV estimator (a RAFT network: it reads RGB, ``wants_rgb``).
    """
    settings = settings or TemporalSettings()
    frames = as_video(video, source, min_frames=2)
    estimator = estimator or FlowEstimator(settings.flow)
    rgb, gray = flow_frames(frames, settings.flow)
    if min(gray.shape[1:]) < MIN_FLOW_SIDE:
        raise ValueError(f"{source}: frames of {gray.shape[1]}x{gray.shape[2]} (at flow resolution) are too small "
                          f"for optical flow (at least {MIN_FLOW_SIDE} pixels a side)")
    inputs = rgb if getattr(estimator, "wants_rgb", False) else gray
    flows_fw, flows_bw = consecutive_flows(inputs, estimator)

    pair_mad = consecutive_mean_abs_diff(frames)
    frame_mae = smoothness_errors(rgb, inputs, estimator)
    pair_mse, visible = warping_errors(rgb, flows_fw, flows_bw, settings)
    height, width = gray.shape[1:]
    flicker = flicker_from_mad(pair_mad)
    extra: dict[str, np.ndarray] = {}
    if settings.static_filter:  # VBench's static_filter.py: top-2% magnitudes, plus the first<->last closure
        closure = flow_pairs(estimator, inputs[[0, -1]], inputs[[-1, 0]])
        static = vbench_static([top_cut_mean(flow_magnitude(f), 0.02) for f in flows_fw],
                               [top_cut_mean(flow_magnitude(f), 0.02) for f in closure], height, width, len(frames))
        extra["static"] = np.float64(static)
        flicker = flicker if static else float("nan")

    if settings.dynamic_rule == "vbench":
        stride = dynamic_sample_interval(fps)
        sampled = inputs[::stride]
        flows = flows_fw if stride == 1 else flow_pairs(estimator, sampled[:-1], sampled[1:])
        magnitudes = np.array([top_cut_mean(flow_magnitude(f), 0.05) for f in flows], dtype=np.float64)
        threshold = 6.0 * min(height, width) / 256.0
        needed = round(4 * len(sampled) / 16.0)
        dynamic = vbench_dynamic(magnitudes, height, width, len(sampled))
    else:
        stride = dynamic_stride(fps, len(frames), settings.dynamic_reference_fps)
        magnitudes = dynamic_pair_magnitudes(inputs, stride, estimator, settings.dynamic_top_fraction, flows_fw)
        threshold = dynamic_threshold(height, width, fps, settings)
        needed = dynamic_pairs_needed(len(magnitudes), settings.dynamic_pair_fraction)
        dynamic = is_dynamic(magnitudes, threshold, needed)
    return {
        "temporal_flicker": np.float64(flicker),
        "motion_smoothness": np.float64(smoothness_from_errors(frame_mae)),
        "warping_error": np.float64(np.mean(pair_mse)),
        "dynamic_degree": np.float64(dynamic),
        "flicker_pair_mad": pair_mad,
        "smoothness_frame_mae": frame_mae,
        "warping_pair_mse": pair_mse,
        "warping_visible_fraction": visible,
        "dynamic_pair_magnitude": magnitudes,
        "dynamic_threshold": np.float64(threshold),
        "dynamic_pairs_needed": np.int64(needed),
        "dynamic_stride": np.int64(stride),
        "flow_size": np.array([height, width], dtype=np.int64),
        **extra,
    }


# -- CLIP frame consistency --------------------------------------------------------------------------------------
def clip_frame_consistency(frame_embeddings: Any) -> float:
    """``mean_{t=2..T} 1/2 [max(0, cos(f_1, f_t)) + max(0, cos(f_{t-1}, f_t))]`` of ``(T, D)`` embeddings.

    Numpy or torch input, computed in float64; NaN for a single frame (nothing to be consistent with).
    """
    if hasattr(frame_embeddings, "detach"):
        frame_embeddings = frame_embeddings.detach().cpu().double().numpy()
    f = np.asarray(frame_embeddings, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 1:
        raise ValueError(f"CLIP frame consistency: expected (T, D) embeddings, got shape {f.shape}")
    if f.shape[0] < 2:
        return float("nan")
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("CLIP frame consistency: embeddings must be finite and non-zero")
    unit = f / norms
    to_first = np.maximum(0.0, unit[1:] @ unit[0])  # (T-1,)
    to_previous = np.maximum(0.0, (unit[1:] * unit[:-1]).sum(axis=1))  # (T-1,)
    return float(np.mean(0.5 * (to_first + to_previous)))


__all__ = [
    "TemporalSettings", "as_video", "clip_frame_consistency", "consecutive_flows", "consecutive_mean_abs_diff",
    "dynamic_degree", "dynamic_pair_magnitudes", "dynamic_pairs_needed", "dynamic_stride", "dynamic_threshold",
    "flicker_from_mad", "flow_frames", "interpolate_middle", "is_dynamic", "motion_smoothness", "pair_warping_error",
    "smoothness_errors", "smoothness_from_errors", "temporal_features", "temporal_flicker", "top_fraction_mean",
    "warping_error", "warping_errors",
]
