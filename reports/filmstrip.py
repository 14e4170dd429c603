"""Filmstrips: a few frames of a clip side by side in one small JPEG, so a reader sees what was scored.

Frames come from ``vbench_lite.video_io.read_video(path, policy="uniform", num_frames=4)`` (evenly spread over the
clip), are scaled down to at most ``max_height`` pixels (never up: the browser enlarges small clips
with ``image-rendering: pixelated``, which keeps the file tiny) and tiled with a thin gap.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from vbench_lite.types import VbenchError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".gif", ".mov")


def tile_frames(frames: np.ndarray, max_height: int = 128, gap: int = 2) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 -> ``(h, T*w + (T-1)*gap, 3)`` uint8, frames downscaled to at most ``max_height``."""
    from PIL import Image

    frames = np.asarray(frames, dtype=np.uint8)
    t, h, w, _ = frames.shape
    if h > max_height:
        new_w = max(1, round(w * max_height / h))
        frames = np.stack([np.asarray(Image.fromarray(f).resize((new_w, max_height), Image.Resampling.LANCZOS))
                           for f in frames])
        h, w = max_height, new_w
    strip = np.full((h, t * w + (t - 1) * gap, 3), 255, dtype=np.uint8)
    for i, frame in enumerate(frames):
        strip[:, i * (w + gap): i * (w + gap) + w] = frame
    return strip


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="JPEG", quality=quality, subsampling=0)
    return buf.getvalue()


def filmstrip_jpeg(path: str | os.PathLike, num_frames: int = 4, max_height: int = 128) -> tuple[bytes, int, int]:
    """JPEG bytes of the clip's filmstrip and its (width, height); :class:`VbenchError` when it cannot be read."""
    from vbench_lite.video_io import read_video

    clip = read_video(path, policy="uniform", num_frames=num_frames)
    strip = tile_frames(clip.frames, max_height=max_height)
    return encode_jpeg(strip), strip.shape[1], strip.shape[0]


def filmstrip_data_uri(path: str | os.PathLike, num_frames: int = 4, max_height: int = 128
                       ) -> dict[str, Any]:
    """``{"src", "width", "height", "error"}`` for an ``<img>``; ``src`` is ``None`` and ``error`` one line when the
    clip cannot be read."""
    try:
        jpeg, width, height = filmstrip_jpeg(path, num_frames, max_height)
    except VbenchError as exc:
        return no_filmstrip(str(exc))
    except Exception as exc:  # a report must not die on one odd file
        return no_filmstrip(f"{path}: {type(exc).__name__}: {exc}")
    return {"src": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"), "width": width,
            "height": height, "error": ""}


def no_filmstrip(error: str) -> dict[str, Any]:
    return {"src": None, "width": 0, "height": 0, "error": error}


def clip_path(run_dir: str | os.PathLike, row: dict[str, Any]) -> Path | None:
    """The file of one ``per_video.csv`` row: ``RUN/clips/<prompt_id>/<sample>.*`` (a moved or copied run folder
    still finds its own clips), else ``path`` as recorded (absolute, or relative to the run's parent or the current
    folder). ``None`` when none exists."""
    run_dir = Path(run_dir)
    candidates: list[Path] = []
    pid, sample = str(row.get("prompt_id") or ""), row.get("sample")
    if pid and sample is not None and str(sample) != "":
        try:
            stem = str(int(float(sample)))
        except ValueError:
            stem = str(sample)
        folder = run_dir / "clips" / pid
        candidates += [folder / f"{stem}{s}" for s in VIDEO_SUFFIXES] + [folder / stem]
    recorded = Path(str(row.get("path") or ""))
    if str(recorded) not in ("", "."):
        candidates += [recorded] if recorded.is_absolute() else [run_dir.parent / recorded, recorded]
    for c in candidates:
        if c.exists():
            return c
    return None


__all__ = ["clip_path", "encode_jpeg", "filmstrip_data_uri", "filmstrip_jpeg", "no_filmstrip", "tile_frames"]
