"""Frame sampling and the per-frame helpers every decoder shares (sizes, downscaling, transparency).

Kept apart from the decoders so that metrics can sample frames without importing any video library.
"""

from __future__ import annotations

import math

import numpy as np

from vbench_lite.types import VbenchError

SAMPLING_POLICIES = ("all", "uniform", "middle", "fps", "first")

# -- frame sampling ---------------------------------------------------------------------------------------------
def sample_indices(total_frames: int, policy: str = "all", k: int | None = None, *, src_fps: float | None = None,
                   target_fps: float | None = None) -> np.ndarray:
    """Indices of the frames a policy keeps, in increasing order (repeats allowed when upsampling fps).

    - ``all``: every frame.
    - ``first``: the first ``k`` frames (consecutive; what FVD-style protocols use).
    - ``uniform``: ``k`` evenly spaced frames including the first and the last (``round(linspace)``).
    - ``middle``: the middle frame of each of ``k`` equal segments (TSN-style test sampling).
    - ``fps``: resample to ``target_fps``: frame ``floor(i * src_fps / target_fps)`` for each output time step,
      optionally capped at ``k`` frames.
    """
    if total_frames < 1:
        raise VbenchError("cannot sample frames of an empty video")
    if policy == "all":
        return np.arange(total_frames)
    if policy == "fps":
        if not src_fps or not target_fps or src_fps <= 0 or target_fps <= 0:
            raise VbenchError("sampling policy 'fps' needs positive source and target fps")
        n_out = max(1, math.floor(total_frames * target_fps / src_fps + 1e-9))
        idx = np.floor(np.arange(n_out) * (src_fps / target_fps) + 1e-9).astype(np.int64)
        idx = idx[idx < total_frames]
        return idx[:k] if k else idx
    if k is None or k < 1:
        raise VbenchError(f"sampling policy {policy!r} needs a positive frame count k")
    if policy == "first":
        return np.arange(min(k, total_frames))
    if policy == "uniform":
        if k == 1:
            return np.array([(total_frames - 1) // 2])
        return np.round(np.linspace(0, total_frames - 1, k)).astype(np.int64)
    if policy == "middle":
        edges = np.linspace(0, total_frames, k + 1)
        return np.minimum(((edges[:-1] + edges[1:]) / 2).astype(np.int64), total_frames - 1)
    raise VbenchError(f"unknown sampling policy {policy!r} (known: {', '.join(SAMPLING_POLICIES)})")



# -- per-frame helpers ------------------------------------------------------------------------------------------
#: The one rule for transparency, in every back-end and in frame folders: composite on black (premultiply). The
#: colour under a transparent pixel is arbitrary (a GIF's transparent palette entry, whatever an encoder left under
#: alpha 0), so dropping alpha would score invisible values; black is also what GIFs always decoded to here.
ALPHA_NOTE = "alpha channel composited on black (transparent pixels read as black)"


def short_error(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line, cut at ``limit`` characters, for a one-line error (its type name if it says
    nothing): the one helper for the ``(Type: message)`` tails of vbench-lite's errors."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def target_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(h, w) <= max_side:
        return h, w
    scale = max_side / max(h, w)
    return max(2, round(h * scale / 2) * 2), max(2, round(w * scale / 2) * 2)


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.shape[:2] == size:
        return frame
    import cv2

    return cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def composite_on_black(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 -> ``(H, W, 3)`` uint8: colour times alpha, rounded (see :data:`ALPHA_NOTE`)."""
    out = np.empty((*rgba.shape[:2], 3), np.uint8)
    for top in range(0, rgba.shape[0], 256):  # in row blocks: a 16-bit copy of a whole 8K frame would be 384 MB
        block = rgba[top:top + 256]
        out[top:top + 256] = (block[..., :3].astype(np.uint16) * block[..., 3:4] + 127) // 255
    return out
