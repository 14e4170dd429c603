"""VBench's quality-dimension formulas, pure (numpy/torch in, numbers out), read from VBench's published code.

Source: github.com/Vchitect/VBench at commit 45e79ec14e69a2187202c675d2dbce1a71843d53, files ``vbench/utils.py``
(``dino_transform``, ``clip_transform``), ``vbench/subject_consistency.py``, ``vbench/background_consistency.py``,
``vbench/aesthetic_quality.py``, ``vbench/imaging_quality.py``, ``vbench/dynamic_degree.py`` and the repository's
``static_filter.py``. Frame tensors there are ``torch.Tensor(uint8 frames)``, i.e. float32 in [0, 255], so resizes
run on floats with no rounding and no clamping; we do the same.

Consistency (subject: DINO CLS features; background: CLIP image features), frames ``f_0 .. f_{T-1}``::

    c_t = 1/2 [max(0, cos(f_t, f_0)) + max(0, cos(f_t, f_{t-1}))]      t = 1 .. T-1
    video value = mean_t c_t                                            (NaN for one frame)

Aesthetic quality: ``mean_t head(f_t / |f_t|) / 10`` (CLIP ViT-L/14 features, LAION linear head).
Imaging quality: ``mean_t MUSIQ(frame_t) / 100`` (VBench divides the mean over videos by 100; same number).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# -- consistency -------------------------------------------------------------------------------------------------
def _as_float64(features: Any, what: str) -> np.ndarray:
    if hasattr(features, "detach"):
        features = features.detach().cpu().double().numpy()
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 1:
        raise ValueError(f"{what}: expected (T, D) features, got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{what}: features must be finite")
    return f


def consistency_terms(features: Any) -> np.ndarray:
    """``c_t`` for t = 1 .. T-1 (float64 ``(T-1,)``) of per-frame features ``(T, D)``.

    VBench L2-normalises with ``F.normalize`` (eps 1e-12) and then takes ``F.cosine_similarity`` (eps 1e-8): for
    non-zero features both are the plain cosine; an all-zero feature row gives cosine 0 there, and here too.
    """
    f = _as_float64(features, "consistency")
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    unit = np.divide(f, norms, out=np.zeros_like(f), where=norms > 0)
    to_first = np.maximum(0.0, unit[1:] @ unit[0])
    to_previous = np.maximum(0.0, (unit[1:] * unit[:-1]).sum(axis=1))
    return 0.5 * (to_first + to_previous)


def vbench_consistency(features: Any) -> float:
    """Mean of :func:`consistency_terms`; NaN for a single frame (VBench divides by zero there)."""
    terms = consistency_terms(features)
    return float(terms.mean()) if len(terms) else float("nan")


def aesthetic_from_scores(scores: Any) -> float:
    """VBench's per-video aesthetic quality: mean over frames of the head's outputs, divided by 10."""
    s = _as_float64(np.asarray(scores, dtype=np.float64).reshape(-1, 1), "aesthetic scores")
    return float(s.mean() / 10.0)


def imaging_from_scores(scores: Any) -> float:
    """Per-video imaging quality: mean over frames of MUSIQ's MOS (0-100), divided by 100."""
    s = _as_float64(np.asarray(scores, dtype=np.float64).reshape(-1, 1), "imaging scores")
    return float(s.mean() / 100.0)


# -- preprocessing geometry (torchvision's rules, written out) --------------------------------------------------
def short_side_resize(height: int, width: int, size: int) -> tuple[int, int]:
    """torchvision ``Resize(size)``: the short side becomes ``size``, the long one ``int(size * long / short)``."""
    if min(height, width) < 1 or size < 1:
        raise ValueError(f"resize: bad sizes {height}x{width} -> {size}")
    if width <= height:
        return int(size * height / width), size
    return size, int(size * width / height)


def center_crop_offsets(height: int, width: int, size: int) -> tuple[int, int]:
    """torchvision ``CenterCrop(size)`` on an image at least ``size`` a side: ``(top, left)``."""
    return round((height - size) / 2.0), round((width - size) / 2.0)


def imaging_resize(height: int, width: int, mode: str = "longer", limit: int = 512) -> tuple[int, int]:
    """VBench's imaging-quality sizes (``imaging_quality.transform``): ``longer`` (default) scales the long side
    down to ``limit`` when it is larger; ``shorter`` scales the short side; ``none`` keeps the size. Sizes are
    ``int(scale * side)``."""
    if mode == "none":
        return height, width
    side = max(height, width) if mode == "longer" else min(height, width) if mode == "shorter" else None
    if side is None:
        raise ValueError(f"imaging quality: unknown preprocessing mode {mode!r} (longer, shorter, none)")
    if side <= limit:
        return height, width
    scale = limit / side
    return int(scale * height), int(scale * width)


def resize_float(frames: Any, size: tuple[int, int], mode: str) -> Any:
    """float torch ``(N, 3, H, W)`` resized as torchvision's tensor ``Resize(..., antialias=False)`` does."""
    import torch.nn.functional as F

    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return F.interpolate(frames, size=size, mode=mode, align_corners=False)


def vbench_pixels(frames: Any, transform: str, size: int = 224, mean: Any = None, std: Any = None) -> Any:
    """uint8 ``(T, H, W, 3)`` -> float32 ``(T, 3, h, w)`` model input, as VBench's transforms make it.

    ``dino``: ``Resize(224)`` bilinear without antialias (no crop: DINO interpolates its position embeddings),
    /255, ImageNet mean/std. ``clip``: ``Resize(224, bicubic)`` without antialias or clamping, ``CenterCrop(224)``,
    /255, CLIP mean/std (``size``, ``mean``, ``std`` override the defaults for another CLIP, e.g. the toy one).
    ``musiq_longer``/``musiq_shorter``/``musiq_none``: bilinear resize by
    :func:`imaging_resize`, /255 (MUSIQ normalises itself).
    """
    import torch

    x = torch.as_tensor(np.asarray(frames))
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 frames (T, H, W, 3), got {tuple(x.shape)} {x.dtype}")
    x = x.permute(0, 3, 1, 2).float()  # VBench: torch.Tensor(frames), 0..255 floats
    h, w = x.shape[-2:]
    if transform == "dino":
        x = resize_float(x, short_side_resize(h, w, size), "bilinear")
        mean, std = mean or IMAGENET_MEAN, std or IMAGENET_STD
    elif transform == "clip":
        x = resize_float(x, short_side_resize(h, w, size), "bicubic")
        top, left = center_crop_offsets(x.shape[-2], x.shape[-1], size)
        x = x[:, :, top:top + size, left:left + size]
        mean, std = mean or CLIP_MEAN, std or CLIP_STD
    elif transform.startswith("musiq_"):
        return resize_float(x, imaging_resize(h, w, transform[len("musiq_"):]), "bilinear") / 255.0
    else:
        raise ValueError(f"unknown VBench transform {transform!r}")
    x = x / 255.0
    mean_t = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


# -- RAFT-based rules: dynamic degree and the static filter --------------------------------------------------------
def top_cut_mean(magnitude: np.ndarray, fraction: float) -> float:
    """Mean of the ``int(h * w * fraction)`` largest values (VBench's ``cut_index``); NaN when that is 0."""
    flat = np.asarray(magnitude, dtype=np.float64).ravel()
    k = int(flat.size * fraction)
    if k < 1:
        return float("nan")
    return float(np.partition(flat, flat.size - k)[flat.size - k:].mean())


def vbench_dynamic(pair_scores: Any, height: int, width: int, num_frames: int) -> float:
    """VBench's ``check_move``: 1.0 when at least ``round(4 * N / 16)`` pairs score above ``6 * min(h, w) / 256``.

    ``pair_scores`` are the top-5% mean flow magnitudes of consecutive pairs of the N frames sampled at about 8 fps.
    When that count rounds to 0 (N <= 2), VBench's loop returns True at the first pair, whatever its score.
    """
    scores = np.asarray(pair_scores, dtype=np.float64)
    thres = 6.0 * min(height, width) / 256.0
    count_num = round(4 * (num_frames / 16.0))  # Python's round, as VBench: half to even
    if len(scores) == 0:
        return 0.0
    if count_num == 0:
        return 1.0
    return 1.0 if int((scores > thres).sum()) >= count_num else 0.0


def vbench_static(pair_scores: Any, closure_scores: Any, height: int, width: int, num_frames: int) -> bool:
    """VBench's ``StaticFilter.check_static``: the clip is static (kept for temporal flickering) when at most
    ``round(2 * N / 16)`` consecutive pairs score above ``3 * min(h, w) / 256`` and both loop-closure pairs
    (first -> last, last -> first) score at most ``thres * count_num * 2``. Scores are top-2% mean magnitudes."""
    scores = np.asarray(pair_scores, dtype=np.float64)
    closure = np.asarray(closure_scores, dtype=np.float64)
    if closure.shape != (2,):
        raise ValueError(f"static filter: expected 2 loop-closure scores, got {closure.shape}")
    thres = 3.0 * min(height, width) / 256.0
    count_num = round(2 * (num_frames / 16.0))
    if int((scores > thres).sum()) > count_num:
        return False
    return bool(np.all(closure <= thres * count_num * 2))


def dynamic_sample_interval(fps: float) -> int:
    """VBench's frame interval for dynamic degree: ``max(1, round(fps / 8))``."""
    if not fps > 0 or not math.isfinite(fps):
        raise ValueError(f"dynamic degree: fps must be positive, got {fps}")
    return max(1, round(fps / 8))


__all__ = [
    "CLIP_MEAN", "CLIP_STD", "IMAGENET_MEAN", "IMAGENET_STD", "aesthetic_from_scores", "center_crop_offsets",
    "consistency_terms", "dynamic_sample_interval", "imaging_from_scores", "imaging_resize", "resize_float",
    "short_side_resize", "top_cut_mean", "vbench_consistency", "vbench_dynamic", "vbench_pixels", "vbench_static",
]
