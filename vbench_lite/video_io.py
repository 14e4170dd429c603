"""Video decoding, encoding and frame sampling.

Decoding tries decord first (it seeks straight to the frames a sampling policy needs) and falls back to PyAV, which
reads everything FFmpeg reads (GIF, webm, odd codecs). A folder of numbered PNG/JPEG frames is a video too.
Encoding uses PyAV: H.264 (yuv420p, high quality) by default, or lossless RGB H.264 (``libx264rgb``, qp 0).

Every decode error becomes a one-line :class:`VbenchError` naming the file and the problem.
"""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from vbench_lite.native import native_stderr_silenced
from vbench_lite.types import Clip, VbenchError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".gif")
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")
SAMPLING_POLICIES = ("all", "uniform", "middle", "fps", "first")

#: Frames larger than this on their longest side are downscaled at decode time (a 4K clip would need ~25 MB a
#: frame); ``None`` keeps the full size.
DEFAULT_MAX_SIDE = 1024


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


# -- decoding ---------------------------------------------------------------------------------------------------
def read_video(path: str | os.PathLike, *, num_frames: int | None = None, policy: str = "all",
               fps: float | None = None, max_side: int | None = DEFAULT_MAX_SIDE) -> Clip:
    """Decode a video file (or a folder of numbered frames) into a :class:`Clip`.

    ``policy``/``num_frames``/``fps`` select frames (see :func:`sample_indices`); ``max_side`` downscales large
    frames (area interpolation) at decode time.
    """
    path = Path(path)
    if path.is_dir():
        return _read_frame_folder(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
    if not path.exists():
        raise VbenchError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VbenchError(f"{path}: empty file (0 bytes)")
    errors = []
    if path.suffix.lower() not in (".gif",):
        try:
            return _read_decord(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
        except VbenchError:
            raise
        except Exception as exc:  # decord could not open it: let PyAV try
            errors.append(f"decord: {_short(exc)}")
    try:
        return _read_pyav(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
    except VbenchError:
        raise
    except Exception as exc:
        errors.append(f"PyAV: {_short(exc)}")
    raise VbenchError(f"{path}: cannot decode as video ({'; '.join(errors)})")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _target_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(h, w) <= max_side:
        return h, w
    scale = max_side / max(h, w)
    return max(2, round(h * scale / 2) * 2), max(2, round(w * scale / 2) * 2)


def _resize(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frames.shape[1:3] == size:
        return frames
    import cv2

    return np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA) for f in frames])


def _read_decord(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
    import decord

    with native_stderr_silenced():  # decord prints its own error lines; ours is the one that counts
        vr = decord.VideoReader(str(path), num_threads=1)
    total = len(vr)
    if total < 1:
        raise VbenchError(f"{path}: video has no frames")
    src_fps = float(vr.get_avg_fps() or 0) or 25.0
    idx = sample_indices(total, policy, num_frames, src_fps=src_fps, target_fps=fps)
    h, w = vr[0].shape[:2] if total else (0, 0)
    th, tw = _target_size(h, w, max_side)
    if (th, tw) != (h, w):
        vr = decord.VideoReader(str(path), num_threads=1, width=tw, height=th)
    frames = vr.get_batch(list(map(int, idx))).asnumpy()
    out_fps = fps if policy == "fps" else src_fps
    return Clip(np.ascontiguousarray(frames[..., :3]), fps=out_fps, source=str(path))


def _read_pyav(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
    import av

    av.logging.set_level(av.logging.PANIC)  # FFmpeg's own log lines would duplicate our one-line errors
    try:
        container = av.open(str(path))
    except av.error.InvalidDataError as exc:
        raise VbenchError(f"{path}: not a video file ({_short(exc)})") from exc
    with container:
        if not container.streams.video:
            raise VbenchError(f"{path}: no video stream")
        stream = container.streams.video[0]
        src_fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        frames = []
        size = None
        try:
            for frame in container.decode(stream):
                if size is None:
                    size = _target_size(frame.height, frame.width, max_side)
                if (frame.height, frame.width) != size:
                    frame = frame.reformat(width=size[1], height=size[0])
                frames.append(_to_rgb(frame))
        except av.error.FFmpegError as exc:
            if not frames:
                raise VbenchError(f"{path}: cannot decode ({_short(exc)})") from exc
            # A truncated file: keep the frames decoded before the damage.
    if not frames:
        raise VbenchError(f"{path}: video has no decodable frames")
    idx = sample_indices(len(frames), policy, num_frames, src_fps=src_fps, target_fps=fps)
    out = np.stack([frames[i] for i in idx])
    return Clip(out, fps=fps if policy == "fps" else src_fps, source=str(path))


def _to_rgb(frame) -> np.ndarray:
    """RGB uint8 of a decoded frame; frames with transparency (GIF, webm with alpha) are composited on black."""
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):  # a GIF palette may mark a colour transparent
        rgba = frame.to_ndarray(format="rgba").astype(np.uint16)
        return ((rgba[..., :3] * rgba[..., 3:4] + 127) // 255).astype(np.uint8)
    return frame.to_ndarray(format="rgb24")


_NUMBER = re.compile(r"(\d+)")


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in _NUMBER.split(name)]


def _read_frame_folder(path: Path, *, num_frames, policy, fps, max_side, folder_fps: float = 8.0) -> Clip:
    from PIL import Image

    files = sorted((p for p in path.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS),
                   key=lambda p: _natural_key(p.name))
    if not files:
        raise VbenchError(f"{path}: folder holds no PNG/JPEG frames")
    idx = sample_indices(len(files), policy, num_frames, src_fps=folder_fps, target_fps=fps)
    frames = []
    for i in idx:
        try:
            with Image.open(files[i]) as im:
                frames.append(np.asarray(im.convert("RGB")))
        except Exception as exc:
            raise VbenchError(f"{files[i]}: cannot read frame ({_short(exc)})") from exc
    if len({f.shape for f in frames}) > 1:
        raise VbenchError(f"{path}: frames differ in size")
    arr = np.stack(frames)
    arr = _resize(arr, _target_size(arr.shape[1], arr.shape[2], max_side))
    return Clip(arr, fps=fps if policy == "fps" else folder_fps, source=str(path))


# -- encoding ---------------------------------------------------------------------------------------------------
def write_video(path: str | os.PathLike, clip: Clip, *, lossless: bool = False, crf: int = 12) -> Path:
    """Encode ``clip`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    Default: H.264 yuv420p at ``crf`` (sizes rounded up to even by edge padding, as yuv420p requires).
    ``lossless=True``: RGB H.264 at qp 0 (``libx264rgb``), bit-exact on decode.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    frames = clip.frames
    if not lossless and (frames.shape[1] % 2 or frames.shape[2] % 2):
        frames = np.pad(frames, ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0)), mode="edge")
    rate = Fraction(clip.fps).limit_denominator(1001)
    try:
        with av.open(str(tmp), mode="w") as container:
            if lossless:
                stream = container.add_stream("libx264rgb", rate=rate)
                stream.pix_fmt = "rgb24"
                stream.options = {"qp": "0", "preset": "veryfast"}
            else:
                stream = container.add_stream("libx264", rate=rate)
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            stream.height, stream.width = frames.shape[1], frames.shape[2]
            stream.thread_count = 1  # reproducible bytes
            for f in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# -- finding videos ---------------------------------------------------------------------------------------------
def find_videos(directory: str | os.PathLike) -> list[Path]:
    """Every video under ``directory``: files with a video extension, and folders of numbered frames.

    Sorted, so the order is stable. Hidden files (temporary files of an interrupted write) are skipped.
    """
    root = Path(directory)
    if not root.is_dir():
        raise VbenchError(f"{root}: not a directory")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        visible = [f for f in filenames if not f.startswith(".")]
        if here != root and visible and all(Path(f).suffix.lower() in FRAME_EXTENSIONS for f in visible):
            found.append(here)
            dirnames[:] = []
            continue
        found.extend(here / f for f in sorted(visible) if Path(f).suffix.lower() in VIDEO_EXTENSIONS)
    return sorted(found)


_VBENCH_NAME = re.compile(r"^(?P<text>.+)-(?P<index>\d+)$")


def parse_video_name(path: Path, root: Path) -> tuple[str, int, str]:
    """``(key, sample, style)`` of a video found under ``root``.

    ``<prompt_id>/<i>.<ext>`` gives ``(prompt_id, i, "id")``; VBench style ``<prompt text>-<i>.<ext>`` gives
    ``(prompt text, i, "text")``. Anything else: the stem as the key, sample 0.
    """
    rel = path.relative_to(root)
    stem = rel.name if path.is_dir() else rel.stem
    if len(rel.parts) >= 2 and stem.isdigit():
        return rel.parts[-2], int(stem), "id"
    m = _VBENCH_NAME.match(stem)
    if m:
        return m.group("text"), int(m.group("index")), "text"
    return stem, 0, "text"
