"""Dense optical flow with OpenCV and the few operations the temporal metrics build on it.

Conventions (all of ``metrics.functional.temporal`` relies on them):

* A flow field is float32 ``(H, W, 2)`` holding ``(u, v) = (dx, dy)`` in pixels; ``flow(a -> b)`` maps a pixel ``x``
  of frame ``a`` to ``x + flow(x)`` in frame ``b``.
* Flow is computed on grayscale frames (``cv2.COLOR_RGB2GRAY``: ``0.299 R + 0.587 G + 0.114 B``, uint8).
* :func:`warp_backward` samples ``image(x + flow(x))`` with bilinear interpolation (``cv2.remap``, which quantizes
  sampling positions to 1/32 pixel) and replicates the border; :func:`inside_frame` says which samples fell inside.
* Frames larger than ``max_side`` are area-downscaled (``cv2.INTER_AREA``) before flow so that 720p clips cost about
  as much as 256-pixel ones; flow magnitudes are then in pixels of the downscaled frame.

Two estimators, both deterministic (each output pixel is computed independently of OpenCV's thread split):

* ``dis`` (default): Dense Inverse Search (Kroeger et al., ECCV 2016), OpenCV preset ``medium``. Its patches are
  mean-normalized, so a global brightness change is not mistaken for motion, and it finds motion at low luminance
  contrast (a green shape on a grey background differs by 5 grey levels) where Farneback sees almost none.
* ``farneback``: Farneback (SCIA 2003) with OpenCV's customary parameters (pyramid scale 0.5, 3 levels, window 15,
  3 iterations, polynomial n=5, sigma 1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

FLOW_METHODS = ("dis", "farneback", "raft_large", "raft_small")
#: Learned estimators: their network is built outside this pure layer (``metrics.raft_flow``) and passed in.
LEARNED_METHODS = ("raft_large", "raft_small")
DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
#: DIS refuses frames smaller than this on either side (its coarsest pyramid level needs room for a patch).
MIN_FLOW_SIDE = 12


@dataclass(frozen=True)
class FlowSettings:
    """Which estimator runs and at what resolution; :meth:`describe` is what results record."""

    method: str = "dis"
    max_side: int = 256
    dis_preset: str = "medium"
    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2
    #: RAFT's recurrent refinement steps (VBench: ``iters=20``; torchvision's default is 12).
    raft_iterations: int = 20

    def __post_init__(self) -> None:
        if self.method not in FLOW_METHODS:
            raise ValueError(f"optical flow: unknown method {self.method!r} (known: {', '.join(FLOW_METHODS)})")
        if self.dis_preset not in DIS_PRESETS:
            raise ValueError(f"optical flow: unknown DIS preset {self.dis_preset!r} (known: {', '.join(DIS_PRESETS)})")
        if self.raft_iterations < 1:
            raise ValueError(f"optical flow: raft_iterations must be positive, got {self.raft_iterations}")
        if self.max_side < MIN_FLOW_SIDE:
            raise ValueError(f"optical flow: max_side={self.max_side} is below the minimum of {MIN_FLOW_SIDE} pixels")

    def describe(self) -> dict[str, Any]:
        """Every parameter the estimator runs with (DIS preset values are read back from OpenCV)."""
        out: dict[str, Any] = {"method": self.method, "max_side": self.max_side, "color": "gray (RGB2GRAY)",
                               "downscale": "cv2.INTER_AREA", "opencv": cv2.__version__}
        if self.method in LEARNED_METHODS:
            out.update(color="RGB", raft={"iterations": self.raft_iterations, "padding": "replicate to a multiple "
                                          "of 8, centred (RAFT's InputPadder), flow cropped back"})
        elif self.method == "dis":
            dis = cv2.DISOpticalFlow_create(DIS_PRESETS[self.dis_preset])
            out["dis"] = {"preset": self.dis_preset, "finest_scale": dis.getFinestScale(),
                          "patch_size": dis.getPatchSize(), "patch_stride": dis.getPatchStride(),
                          "gradient_descent_iterations": dis.getGradientDescentIterations(),
                          "variational_refinement_iterations": dis.getVariationalRefinementIterations(),
                          "variational_refinement_alpha": dis.getVariationalRefinementAlpha(),
                          "variational_refinement_delta": dis.getVariationalRefinementDelta(),
                          "variational_refinement_gamma": dis.getVariationalRefinementGamma(),
                          "mean_normalization": dis.getUseMeanNormalization(),
                          "spatial_propagation": dis.getUseSpatialPropagation()}
        else:
            out["farneback"] = {"pyr_scale": self.pyr_scale, "levels": self.levels, "winsize": self.winsize,
                                "iterations": self.iterations, "poly_n": self.poly_n, "poly_sigma": self.poly_sigma,
                                "flags": 0}
        return out


class FlowEstimator:
    """``estimator(prev_gray, next_gray) -> flow(prev -> next)``, float32 ``(H, W, 2)``."""

    wants_rgb = False

    def __init__(self, settings: FlowSettings | None = None) -> None:
        self.settings = settings or FlowSettings()
        if self.settings.method in LEARNED_METHODS:
            raise ValueError(f"optical flow: {self.settings.method} needs its network "
                             "(metrics.raft_flow.RaftEstimator)")
        self._dis = (cv2.DISOpticalFlow_create(DIS_PRESETS[self.settings.dis_preset])
                     if self.settings.method == "dis" else None)

    def __call__(self, prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
        if prev_gray.shape != next_gray.shape or prev_gray.ndim != 2 or prev_gray.dtype != np.uint8:
            raise ValueError(f"optical flow: expected two uint8 (H, W) frames of one size, got "
                              f"{prev_gray.shape} {prev_gray.dtype} and {next_gray.shape} {next_gray.dtype}")
        if min(prev_gray.shape) < MIN_FLOW_SIDE:
            raise ValueError(f"optical flow: frames of {prev_gray.shape[0]}x{prev_gray.shape[1]} are too small "
                              f"(at least {MIN_FLOW_SIDE} pixels a side)")
        if self._dis is not None:
            flow = self._dis.calc(prev_gray, next_gray, None)
        else:
            s = self.settings
            flow = cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, s.pyr_scale, s.levels, s.winsize,
                                                s.iterations, s.poly_n, s.poly_sigma, 0)
        return np.ascontiguousarray(flow, dtype=np.float32)


# -- frames ------------------------------------------------------------------------------------------------------
def flow_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """``(h, w)`` at which flow is computed: unchanged up to ``max_side``, else the long side becomes ``max_side``."""
    if max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``(T, H, W, C)`` -> ``(T, h, w, C)`` by area averaging (a no-op copy-free return at the same size)."""
    height, width = size
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def to_gray(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB ``(T, H, W, 3)`` -> uint8 luma ``(T, H, W)``."""
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])


# -- warping and flow checks -------------------------------------------------------------------------------------
def sampling_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel samples: ``(x + u, y + v)`` as two float32 ``(H, W)`` maps for ``cv2.remap``."""
    height, width = flow.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    return xs + flow[..., 0], ys + flow[..., 1]


def warp_backward(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(x) = image(x + flow(x))``, bilinear, border replicated; float32 with ``image``'s channels."""
    map_x, map_y = sampling_maps(flow)
    return cv2.remap(np.asarray(image, dtype=np.float32), map_x, map_y, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def inside_frame(flow: np.ndarray) -> np.ndarray:
    """bool ``(H, W)``: ``x + flow(x)`` lands on the frame's area.

    Pixel centres sit at integer coordinates, so the frame covers ``[-1/2, W - 1/2] x [-1/2, H - 1/2]``; a sample
    within half a pixel of the outermost centres takes the replicated border value.
    """
    height, width = flow.shape[:2]
    map_x, map_y = sampling_maps(flow)
    return (map_x >= -0.5) & (map_x <= width - 0.5) & (map_y >= -0.5) & (map_y <= height - 0.5)


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
    """``|flow|`` per pixel, float32 ``(H, W)``."""
    return np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2)


def occlusion_mask(flow_fw: np.ndarray, flow_bw: np.ndarray, alpha1: float = 0.01, alpha2: float = 0.5
                   ) -> np.ndarray:
    """Forward-backward consistency check (Sundaram et al. 2010; Ruder et al. 2016; Lai et al. 2018).

    With ``flow_fw = flow(a -> b)``, ``flow_bw = flow(b -> a)`` and ``B(x) = flow_bw(x + flow_fw(x))`` (bilinear),
    pixel ``x`` of frame ``a`` is occluded (or its flow unreliable) when

        |flow_fw(x) + B(x)|^2 > alpha1 * (|flow_fw(x)|^2 + |B(x)|^2) + alpha2

    Returns bool ``(H, W)``, True where occluded.
    """
    bw_at_target = warp_backward(flow_bw, flow_fw)  # (H, W, 2)
    round_trip = flow_fw + bw_at_target
    lhs = (round_trip ** 2).sum(axis=-1)
    rhs = alpha1 * ((flow_fw ** 2).sum(axis=-1) + (bw_at_target ** 2).sum(axis=-1)) + alpha2
    return lhs > rhs


__all__ = [
    "DIS_PRESETS", "FLOW_METHODS", "LEARNED_METHODS", "MIN_FLOW_SIDE", "FlowEstimator", "FlowSettings",
    "flow_magnitude", "flow_size", "inside_frame", "occlusion_mask", "resize_frames", "sampling_maps", "to_gray",
    "warp_backward",
]
