"""Controlled defects on uint8 frames ``(T, H, W, 3)``: what the synthetic generator and ``vbench-lite calibrate`` use.

Every defect is a closed form of (frames, strength, a seeded generator), so a test can recompute it by hand. Strength
1 is the defect the demo's runs show; ``calibrate`` sweeps strengths 0.25, 0.5 and 1 (0 is always the clean clip).
Temporal defects saturate at strength 1 (a clip cannot be more than fully frozen); the others grow without bound.

============ ========================================================================================================
defect       frame t of the result, ``s`` = strength
============ ========================================================================================================
flicker      odd frames brightened (dark clips) or darkened (bright clips) by ``30 s`` grey levels
freeze       frame ``min(t, floor((1 - min(s, 1)) (T - 1)))``: the clip stops moving for its last fraction ``s``
             (``s >= 1``: every frame repeats the first)
shuffle      ``k = T`` frames (``s >= 1``) put in a random, non-identity order; for ``s < 1`` only
             ``k = max(2, round(s T))`` random positions are permuted among themselves (never all in place)
noise        i.i.d. Gaussian noise of sigma ``60 s`` grey levels on every pixel
blur         Gaussian blur of sigma ``3 s`` pixels per 64 px of the short side (OpenCV)
drop         ``n = round(min(s, 1) (T - 1) / 2)`` random frames (never the first) dropped, each replaced by a repeat
             of the frame shown before it: at ``s = 1`` half the frames are repeats (a stuttering stream)
compress     re-encoded with H.264 (libx264, yuv420p, one thread) at ``crf = min(51, round(18 + 30 s))``, decoded back
color_shift  every pixel's RGB vector rotated about the grey axis by ``30 s`` degrees (a hue rotation; greys keep)
jitter       frame t sampled at time ``p_t = clip(t + u_t, 0, T - 1)``, ``u_t ~ U(-s/2, s/2)``, blending the two
             neighbouring frames linearly: uneven capture timing
============ ========================================================================================================

``wrong_color`` and ``remove_object`` change the scene before rendering (:mod:`reference_models.synthetic_world`);
they exist only for synthetic clips. Results are rounded to the nearest integer and clipped to [0, 255].
"""

from __future__ import annotations

import io
import math

import numpy as np

#: Defects of the frames alone (any video), in the order reports list them.
FRAME_DEFECTS = ("flicker", "freeze", "shuffle", "noise", "blur", "drop", "compress", "color_shift", "jitter")
#: Temporal defects saturate at strength 1.
SATURATING = frozenset({"freeze", "shuffle", "drop"})


class DefectError(ValueError):
    """An unknown defect or a strength out of range (one line)."""


def compress_crf(strength: float) -> int:
    """The x264 constant rate factor of ``compress`` at ``strength`` (18: visually lossless, 51: the worst)."""
    return int(min(51, max(0, round(18 + 30 * strength))))


def freeze_indices(num_frames: int, strength: float) -> np.ndarray:
    stop = math.floor((1.0 - min(strength, 1.0)) * (num_frames - 1))
    return np.minimum(np.arange(num_frames), stop)


def shuffle_order(num_frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """The frame order of ``shuffle``; at ``strength >= 1`` exactly the permutation the world always drew."""
    if strength >= 1.0:
        order = rng.permutation(num_frames)
        if num_frames > 1:
            while np.all(order == np.arange(num_frames)):
                order = rng.permutation(num_frames)
        return order
    order = np.arange(num_frames)
    k = min(num_frames, max(2, round(strength * num_frames)))
    if num_frames < 2:
        return order
    positions = np.sort(rng.choice(num_frames, size=k, replace=False))
    perm = rng.permutation(k)
    while np.all(perm == np.arange(k)):
        perm = rng.permutation(k)
    order[positions] = positions[perm]
    return order


def drop_indices(num_frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Frame t of ``drop`` shows source frame ``idx[t]``: dropped frames repeat the last kept one."""
    n = round(min(strength, 1.0) * (num_frames - 1) / 2)
    idx = np.arange(num_frames)
    if n <= 0 or num_frames < 2:
        return idx
    dropped = rng.choice(np.arange(1, num_frames), size=n, replace=False)
    keep = np.ones(num_frames, dtype=bool)
    keep[dropped] = False
    return np.maximum.accumulate(np.where(keep, idx, 0))


def hue_rotation(degrees: float) -> np.ndarray:
    """The 3x3 rotation of RGB space about the grey axis (1, 1, 1)/sqrt(3) (Rodrigues' formula)."""
    theta = math.radians(degrees)
    k = np.full(3, 1.0 / math.sqrt(3.0))
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return math.cos(theta) * np.eye(3) + math.sin(theta) * cross + (1.0 - math.cos(theta)) * np.outer(k, k)


def jitter_times(num_frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    u = rng.uniform(-strength / 2.0, strength / 2.0, size=num_frames)
    return np.clip(np.arange(num_frames) + u, 0.0, num_frames - 1.0)


def resample_at(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Frames at fractional times by linear interpolation between neighbours (float32 in, float32 out)."""
    lo = np.floor(times).astype(np.int64)
    hi = np.minimum(lo + 1, len(x) - 1)
    w = (times - lo).astype(np.float32)[:, None, None, None]
    return x[lo] * (1.0 - w) + x[hi] * w


def h264_roundtrip(frames: np.ndarray, crf: int) -> np.ndarray:
    """Encode uint8 frames with libx264 at ``crf`` in memory (one thread, no MB-tree: the same bytes every time)
    and decode them back; odd sizes are edge-padded for yuv420p and cropped after."""
    import av

    t, h, w, _ = frames.shape
    padded = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="matroska", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=8)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "mbtree=0"}
        stream.height, stream.width = padded.shape[1], padded.shape[2]
        stream.thread_count = 1
        for f in padded:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buf.seek(0)
    with av.open(buf, mode="r") as container:
        out = [fr.to_ndarray(format="rgb24") for fr in container.decode(video=0)]
    decoded = np.stack(out)[:, :h, :w]
    if len(decoded) != t:
        raise DefectError(f"compress: decoded {len(decoded)} of {t} frames")
    return decoded


def apply_frame_defect(frames: np.ndarray, defect: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """``defect`` at ``strength`` on uint8 frames ``(T, H, W, 3)``; ``none`` (or strength 0) returns them as they are.

    The byte-exact behaviour of the world's original defects (flicker, freeze, shuffle, noise, blur at strength 1,
    and flicker, noise, blur at any strength) is kept: the demo's clips and the metric tests depend on it.
    """
    if defect == "none" or strength == 0:
        return frames
    if not math.isfinite(strength) or strength < 0:
        raise DefectError(f"defect {defect!r}: strength must be a finite number >= 0, got {strength}")
    x = frames.astype(np.float32)
    if defect == "flicker":
        # Brighten dark clips and darken bright ones, so the change is never lost to clipping at 0 or 255.
        step = 30.0 * strength * (1.0 if x.mean() < 128 else -1.0)
        offsets = np.where(np.arange(len(x)) % 2 == 1, step, 0.0).astype(np.float32)
        x = x + offsets[:, None, None, None]
    elif defect == "freeze":
        x = x[freeze_indices(len(x), strength)]
    elif defect == "shuffle":
        x = x[shuffle_order(len(x), strength, rng)]
    elif defect == "noise":
        x = x + rng.normal(0.0, 60.0 * strength, size=x.shape).astype(np.float32)
    elif defect == "blur":
        import cv2

        sigma = 3.0 * strength * min(x.shape[1], x.shape[2]) / 64.0
        x = np.stack([cv2.GaussianBlur(f, (0, 0), sigmaX=sigma, sigmaY=sigma) for f in x])
    elif defect == "drop":
        x = x[drop_indices(len(x), strength, rng)]
    elif defect == "compress":
        return h264_roundtrip(frames, compress_crf(strength))
    elif defect == "color_shift":
        x = x @ hue_rotation(30.0 * strength).T.astype(np.float32)
    elif defect == "jitter":
        x = resample_at(x, jitter_times(len(x), strength, rng))
    else:
        raise DefectError(f"unknown defect {defect!r} (known: none, {', '.join(FRAME_DEFECTS)})")
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


__all__ = ["FRAME_DEFECTS", "SATURATING", "DefectError", "apply_frame_defect", "compress_crf", "drop_indices",
           "freeze_indices", "h264_roundtrip", "hue_rotation", "jitter_times", "resample_at", "shuffle_order"]
