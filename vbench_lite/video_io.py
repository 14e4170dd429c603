"""Video decoding, encoding and frame sampling.

Decoding tries decord first (it seeks straight to the frames a sampling policy needs) and falls back to PyAV, which
reads everything FFmpeg reads (GIF, webm, odd codecs, alpha). A folder of numbered PNG/JPEG frames is a video too.
Only the sampled frames are kept, each downscaled as it is decoded. What a caller should know about the frames (a
short decode of a damaged file, transparency composited on black) goes into ``Clip.notes``; FFmpeg's own log lines
never reach the terminal.

Encoding uses PyAV: H.264 (yuv420p, high quality) by default, or lossless RGB H.264 (``libx264rgb``, qp 0); the same
frames always give the same bytes.

Every decode error becomes a one-line :class:`VbenchError` naming the file and the problem.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from vbench_lite.frames import (  # sample_indices and SAMPLING_POLICIES are part of this module's interface too
    ALPHA_NOTE,
    SAMPLING_POLICIES,
    composite_on_black,
    resize_frame,
    sample_indices,
    short_error,
    target_size,
)
from vbench_lite.native import native_stderr_silenced
from vbench_lite.types import Clip, VbenchError
from vbench_lite.video_pyav import probe_quietly, read_pyav

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".gif")
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")

#: Frames larger than this on their longest side are downscaled at decode time (a 4K clip would need ~25 MB a
#: frame); ``None`` keeps the full size.
DEFAULT_MAX_SIDE = 1024


# -- decoding ---------------------------------------------------------------------------------------------------
DECODE_BACKENDS = ("auto", "decord", "pyav")

def read_video(path: str | os.PathLike, *, num_frames: int | None = None, policy: str = "all",
               fps: float | None = None, max_side: int | None = DEFAULT_MAX_SIDE, backend: str = "auto") -> Clip:
    """Decode a video file (or a folder of numbered frames) into a :class:`Clip`.

    ``policy``/``num_frames``/``fps`` select frames (see :func:`sample_indices`); only the selected frames are kept,
    each downscaled as it is decoded. ``max_side`` downscales frames larger than that (area interpolation for frame
    folders, the decoder's scaler for files); ``None`` or ``0`` keeps the full size.

    ``backend``: ``auto`` (decord, then PyAV if decord cannot read the file), ``decord`` (a file decord cannot read
    is an error) or ``pyav``. GIFs, files with an alpha channel and files with fewer frames than their header says
    always decode with PyAV: decord cannot read alpha (it returns extra channels and fails to batch them) and says
    nothing of frames it cannot index. Transparency is composited on black everywhere (see :data:`ALPHA_NOTE`).

    ``clip.notes`` records what a caller should know about the frames: fewer decoded than the file claims (a damaged
    or truncated file), or an alpha channel composited on black.
    """
    path = Path(path)
    if max_side is not None and max_side < 0:
        raise VbenchError(f"max_side must be a positive number of pixels, or 0/None for full size; got {max_side}")
    if backend not in DECODE_BACKENDS:
        raise VbenchError(f"unknown decode backend {backend!r} (known: {', '.join(DECODE_BACKENDS)})")
    if path.is_dir():
        return _read_frame_folder(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
    if not path.exists():
        raise VbenchError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VbenchError(f"{path}: empty file (0 bytes)")
    errors = []
    if backend != "pyav" and path.suffix.lower() not in (".gif",):
        try:
            return _read_decord(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
        except VbenchError:
            raise
        except NeedsPyAV:
            pass  # alpha or a short file: PyAV composites it or notes what is missing
        except Exception as exc:  # decord could not open it: let PyAV try
            errors.append(f"decord: {short_error(exc)}")
            if backend == "decord":
                raise VbenchError(f"{path}: cannot decode with decord ({short_error(exc)})") from exc
    try:
        return read_pyav(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
    except VbenchError:
        raise
    except Exception as exc:
        errors.append(f"PyAV: {short_error(exc)}")
    raise VbenchError(f"{path}: cannot decode as video ({'; '.join(errors)})")


class NeedsPyAV(Exception):
    """decord cannot decode this file faithfully (an alpha channel, fewer frames than its header says): PyAV must."""


def _read_decord(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
    import decord

    with native_stderr_silenced():  # decord's own FFmpeg prints error lines; ours is the one that counts
        probe = probe_quietly(path)
        if probe is not None and probe.alpha:
            raise NeedsPyAV(str(path))
        vr = decord.VideoReader(str(path), num_threads=1)
        total = len(vr)
        if total < 1:
            raise VbenchError(f"{path}: video has no frames")
        if probe is not None and probe.clearly_short(total):  # decord counts what it can index: no word of the rest
            raise NeedsPyAV(str(path))
        src_fps = float(vr.get_avg_fps() or 0) or 25.0
        idx = sample_indices(total, policy, num_frames, src_fps=src_fps, target_fps=fps)
        frames = None
        if probe is not None and min(probe.size) > 0 and target_size(*probe.size, max_side) == probe.size:
            # Kept at full size (the usual case): the header's size spares decoding frame 0 only to learn it. When
            # decord must scale, frame 0 still decides first, because at some sizes (32x48) decord returns 4
            # channels at full size but 3 when scaling: PyAV has always read those, and must keep doing so.
            try:
                frames = _decord_batch(vr, path, idx, probe.size, max_side)
            except Exception:  # that channel quirk fails the batch: frame 0 decides below, as it always did
                frames = None
            if frames is not None and frames.shape[1:3] != probe.size:
                frames = None
        if frames is None:
            first = vr[0].shape
            if first[-1] != 3:  # RGBA, or decord's wrong channel count for some widths: PyAV reads it
                raise NeedsPyAV(str(path))
            frames = _decord_batch(vr, path, idx, first[:2], max_side)
    out_fps = fps if policy == "fps" else src_fps
    return Clip(np.ascontiguousarray(frames[..., :3]), fps=out_fps, source=str(path))


def _decord_batch(vr, path: Path, idx, full: tuple[int, int], max_side) -> np.ndarray:
    """The sampled frames, scaled as decoded to ``target_size(full, max_side)`` (a second reader when it differs)."""
    import decord

    th, tw = target_size(full[0], full[1], max_side)
    if (th, tw) != tuple(full):
        vr = decord.VideoReader(str(path), num_threads=1, width=tw, height=th)  # scales each frame as decoded
    frames = vr.get_batch(list(map(int, idx))).asnumpy()  # only the sampled frames
    if frames.ndim != 4 or frames.shape[-1] != 3:  # an alpha format the probe missed (RGBA): PyAV reads it
        raise NeedsPyAV(str(path))
    return frames


_NUMBER = re.compile(r"(\d+)")


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in _NUMBER.split(name)]


def _read_frame_folder(path: Path, *, num_frames, policy, fps, max_side, folder_fps: float = 8.0) -> Clip:
    files = sorted((p for p in path.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS),
                   key=lambda p: _natural_key(p.name))
    if not files:
        raise VbenchError(f"{path}: folder holds no PNG/JPEG frames")
    idx = sample_indices(len(files), policy, num_frames, src_fps=folder_fps, target_fps=fps)
    loaded: dict[int, np.ndarray] = {}  # only the sampled files, each downscaled as soon as it is read
    full_size = size = None
    transparent = False
    for i in idx.tolist():
        if i in loaded:
            continue
        frame, had_alpha = _read_image(files[i])
        if full_size is None:
            full_size, size = frame.shape, target_size(frame.shape[0], frame.shape[1], max_side)
        elif frame.shape != full_size:
            raise VbenchError(f"{path}: frames differ in size")
        loaded[i] = resize_frame(frame, size)
        transparent |= had_alpha
    clip = Clip(np.stack([loaded[i] for i in idx.tolist()]), fps=fps if policy == "fps" else folder_fps,
                source=str(path))
    if transparent:
        clip.notes.append(ALPHA_NOTE)
    return clip


def _read_image(file: Path) -> tuple[np.ndarray, bool]:
    """RGB uint8 of one frame file and whether it had transparency (composited on black like videos)."""
    from PIL import Image

    try:
        with Image.open(file) as im:
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                rgba = np.asarray(im.convert("RGBA"))
                if rgba[..., 3].min() < 255:
                    return composite_on_black(rgba), True
                return np.ascontiguousarray(rgba[..., :3]), False
            return np.asarray(im if im.mode == "RGB" else im.convert("RGB")), False
    except Exception as exc:
        raise VbenchError(f"{file}: cannot read frame ({short_error(exc)})") from exc


# -- encoding ---------------------------------------------------------------------------------------------------
#: x264 settings of every H.264 clip. One thread, and no macroblock tree: with B-frames, x264's MB-tree rate control
#: depends on memory it never wrote on small frames (7 of 30 sizes from 16 to 144 px, 64x64 among them), so the same
#: frames gave different bytes from run to run (decoded pixels up to 9/255 apart), depending on what the process had
#: freed before. The frames reaching x264 were identical byte for byte; with ``mbtree=0`` the output depends only on
#: them (0 of 30 sizes vary). The cost: a slightly larger file at the same crf.
X264_PARAMS = "mbtree=0"


def write_video(path: str | os.PathLike, clip: Clip, *, lossless: bool = False, crf: int = 12) -> Path:
    """Encode ``clip`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    Default: H.264 yuv420p at ``crf`` (sizes rounded up to even by edge padding, as yuv420p requires).
    ``lossless=True``: RGB H.264 at qp 0 (``libx264rgb``), bit-exact on decode.
    The same clip always gives the same bytes (see :data:`X264_PARAMS`; the container is written bit-exact).
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
        # bitexact: no random Matroska segment id and no muxer version string, so the bytes depend only on the clip
        with av.open(str(tmp), mode="w", options={"fflags": "+bitexact"}) as container:
            if lossless:
                stream = container.add_stream("libx264rgb", rate=rate)
                stream.pix_fmt = "rgb24"
                stream.options = {"qp": "0", "preset": "veryfast", "x264-params": X264_PARAMS}
            else:
                stream = container.add_stream("libx264", rate=rate)
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": X264_PARAMS}
            stream.height, stream.width = frames.shape[1], frames.shape[2]
            stream.thread_count = 1  # reproducible bytes: x264's output depends on its thread count
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


# DOTALL and fullmatch: a prompt text may hold newlines (file names can), and the index is the whole tail. ASCII
# digits only: "²" is a digit to str.isdigit but not to int().
_VBENCH_NAME = re.compile(r"(?P<text>.+)-(?P<index>[0-9]+)", re.DOTALL)
_SAMPLE_INDEX = re.compile(r"[0-9]+")


def parse_video_name(path: Path, root: Path) -> tuple[str, int, str]:
    """``(key, sample, style)`` of a video found under ``root``.

    ``<prompt_id>/<i>.<ext>`` gives ``(prompt_id, i, "id")``; VBench style ``<prompt text>-<i>.<ext>`` gives
    ``(prompt text, i, "text")``. Anything else: the stem as the key, sample 0.
    """
    rel = path.relative_to(root)
    stem = rel.name if path.is_dir() else rel.stem
    if len(rel.parts) >= 2 and _SAMPLE_INDEX.fullmatch(stem):
        return rel.parts[-2], int(stem), "id"
    m = _VBENCH_NAME.fullmatch(stem)
    if m:
        return m.group("text"), int(m.group("index")), "text"
    return stem, 0, "text"


__all__ = [  # frame sampling lives in vbench_lite.frames and is part of this module's interface (DESIGN.md)
    "ALPHA_NOTE", "DECODE_BACKENDS", "DEFAULT_MAX_SIDE", "FRAME_EXTENSIONS", "SAMPLING_POLICIES", "VIDEO_EXTENSIONS",
    "find_videos", "parse_video_name", "read_video", "sample_indices", "write_video",
]
