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

import math
import os
import re
from dataclasses import dataclass, field
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
DECODE_BACKENDS = ("auto", "decord", "pyav")

#: With an unknown frame count (GIF, webm, mkv) and a policy that needs it, PyAV keeps at most this many decoded
#: frames (or twice the requested count) while it learns the length; a longer file is decoded a second time for the
#: sampled frames only. Memory follows what is kept, never the file's length.
WINDOW_FRAMES = 32

#: The one rule for transparency, in every back-end and in frame folders: composite on black (premultiply). The
#: colour under a transparent pixel is arbitrary (a GIF's transparent palette entry, whatever an encoder left under
#: alpha 0), so dropping alpha would score invisible values; black is also what GIFs always decoded to here.
ALPHA_NOTE = "alpha channel composited on black (transparent pixels read as black)"


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
        except _NeedsPyAV:
            pass  # alpha or a short file: PyAV composites it or notes what is missing
        except Exception as exc:  # decord could not open it: let PyAV try
            errors.append(f"decord: {_short(exc)}")
            if backend == "decord":
                raise VbenchError(f"{path}: cannot decode with decord ({_short(exc)})") from exc
    try:
        return _read_pyav(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)
    except VbenchError:
        raise
    except Exception as exc:
        errors.append(f"PyAV: {_short(exc)}")
    raise VbenchError(f"{path}: cannot decode as video ({'; '.join(errors)})")


class _NeedsPyAV(Exception):
    """decord cannot decode this file faithfully (an alpha channel, fewer frames than its header says): PyAV must."""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _target_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(h, w) <= max_side:
        return h, w
    scale = max_side / max(h, w)
    return max(2, round(h * scale / 2) * 2), max(2, round(w * scale / 2) * 2)


def _resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.shape[:2] == size:
        return frame
    import cv2

    return cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def _composite_on_black(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 -> ``(H, W, 3)`` uint8: colour times alpha, rounded (see :data:`ALPHA_NOTE`)."""
    out = np.empty((*rgba.shape[:2], 3), np.uint8)
    for top in range(0, rgba.shape[0], 256):  # in row blocks: a 16-bit copy of a whole 8K frame would be 384 MB
        block = rgba[top:top + 256]
        out[top:top + 256] = (block[..., :3].astype(np.uint16) * block[..., 3:4] + 127) // 255
    return out


def _read_decord(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
    import decord

    with native_stderr_silenced():  # decord's own FFmpeg prints error lines; ours is the one that counts
        probe = _probe_quietly(path)
        if probe is not None and probe.alpha:
            raise _NeedsPyAV(str(path))
        vr = decord.VideoReader(str(path), num_threads=1)
        total = len(vr)
        if total < 1:
            raise VbenchError(f"{path}: video has no frames")
        if probe is not None and probe.clearly_short(total):  # decord counts what it can index: no word of the rest
            raise _NeedsPyAV(str(path))
        src_fps = float(vr.get_avg_fps() or 0) or 25.0
        idx = sample_indices(total, policy, num_frames, src_fps=src_fps, target_fps=fps)
        first = vr[0].shape
        if first[-1] != 3:  # an alpha format the probe missed: decord returns RGBA here and cannot batch it
            raise _NeedsPyAV(str(path))
        th, tw = _target_size(first[0], first[1], max_side)
        if (th, tw) != first[:2]:
            vr = decord.VideoReader(str(path), num_threads=1, width=tw, height=th)  # scales each frame as decoded
        frames = vr.get_batch(list(map(int, idx))).asnumpy()  # only the sampled frames
    out_fps = fps if policy == "fps" else src_fps
    return Clip(np.ascontiguousarray(frames[..., :3]), fps=out_fps, source=str(path))


def _stream_has_alpha(stream) -> bool:
    fmt = stream.codec_context.format
    if fmt is not None and any(c.is_alpha for c in fmt.components):
        return True
    return stream.metadata.get("alpha_mode") == "1"  # VP8/VP9 in WebM keep alpha beside the colour frames


@dataclass
class _Probe:
    """What a file's headers say, before decoding."""

    src_fps: float
    claimed: int  # frames the container lists; 0 when it does not say (webm, mkv)
    estimated: int  # without a list: duration x frame rate (0 when unknown), only good to a frame or so
    alpha: bool

    def clearly_short(self, decoded: int) -> bool:
        """Fewer frames than the file says it has (an estimate must be off by more than rounding and 5%)."""
        if self.claimed:
            return decoded < self.claimed
        return bool(self.estimated) and decoded + max(1, round(0.05 * self.estimated)) < self.estimated


def _probe(container) -> _Probe:
    import av

    stream = container.streams.video[0]
    src_fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
    estimated = 0
    if not stream.frames and container.duration and stream.average_rate:
        estimated = round(container.duration / av.time_base * float(stream.average_rate))
    return _Probe(src_fps, int(stream.frames or 0), estimated, _stream_has_alpha(stream))


def _probe_quietly(path: Path) -> _Probe | None:
    import av

    try:
        with av.open(str(path)) as container:
            return _probe(container) if container.streams.video else None
    except Exception:  # PyAV cannot open it either: let decord try and report
        return None


def _open_pyav(path: Path):
    import av

    try:
        container = av.open(str(path))
    except av.error.InvalidDataError as exc:
        raise VbenchError(f"{path}: not a video file ({_short(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise VbenchError(f"{path}: no video stream")
    return container


def _alpha_decoder(stream):
    """libvpx for VP8/VP9 with alpha: FFmpeg's own decoders ignore the alpha side channel. None: the stream's own."""
    if stream.metadata.get("alpha_mode") != "1" or stream.codec_context.name not in ("vp8", "vp9"):
        return None
    import av

    try:
        return av.CodecContext.create("libvpx-vp9" if stream.codec_context.name == "vp9" else "libvpx", "r")
    except Exception:  # FFmpeg built without libvpx: colour only, and a note says so
        return None


def _decoded_frames(container, stream, decoder):
    if decoder is None:
        yield from container.decode(stream)
        return
    for packet in container.demux(stream):
        yield from decoder.decode(packet)


@dataclass
class _Pass:
    """What one PyAV decode pass kept and saw."""

    kept: dict[int, np.ndarray] = field(default_factory=dict)  # frame index -> RGB frame at the target size
    decoded: int = 0  # frames decoded before the pass stopped
    ended: bool = False  # the stream ran out (cleanly or at damage) rather than the pass stopping early
    damage: str | None = None  # the decode error that ended the stream
    overflow: bool = False  # the window filled up: nothing kept, frames only counted
    transparent: bool = False  # a kept frame had a pixel with alpha < 255
    alpha_lost: bool = False  # the stream has alpha that this FFmpeg cannot decode


def _pyav_pass(path: Path, max_side, *, wanted: set[int] | None = None, stop: int | None = None,
               window: int | None = None) -> _Pass:
    """Decode ``path`` once, keeping frames ``wanted`` (``None``: all, up to ``window``); stop after ``stop`` frames.

    Each kept frame is downscaled as it is decoded; frames not kept are never converted.
    """
    import av

    result = _Pass()
    size = None
    with _open_pyav(path) as container:
        stream = container.streams.video[0]
        decoder = _alpha_decoder(stream)
        result.alpha_lost = decoder is None and stream.metadata.get("alpha_mode") == "1"
        try:
            for frame in _decoded_frames(container, stream, decoder):
                index = result.decoded
                result.decoded += 1
                if size is None:  # every frame gets the first frame's size, even if the stream changes resolution
                    size = _target_size(frame.height, frame.width, max_side)
                if (index in wanted) if wanted is not None else not result.overflow:
                    if (frame.height, frame.width) != size:
                        frame = frame.reformat(width=size[1], height=size[0])
                    result.kept[index], transparent = _to_rgb(frame)
                    result.transparent |= transparent
                    if window is not None and len(result.kept) > window:
                        result.kept.clear()
                        result.overflow = True
                if stop is not None and result.decoded >= stop:
                    return result
        except av.error.FFmpegError as exc:  # damaged or truncated: keep the frames decoded before the damage
            result.damage = _short(exc)
    result.ended = True
    return result


def _read_pyav(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
    import av

    av.logging.set_level(av.logging.PANIC)  # FFmpeg's own log lines would duplicate our one-line errors
    with native_stderr_silenced():  # and libraries (libvpx, a second FFmpeg) that print anyway
        return _read_pyav_quietly(path, num_frames=num_frames, policy=policy, fps=fps, max_side=max_side)


def _read_pyav_quietly(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
    with _open_pyav(path) as container:
        probe = _probe(container)
    src_fps, claimed = probe.src_fps, probe.claimed
    sample_indices(1, policy, num_frames, src_fps=src_fps, target_fps=fps)  # a bad policy fails before decoding
    if policy == "all":
        first = _pyav_pass(path, max_side)
    elif claimed or policy == "first":  # the indices are known up front: keep only those, stop after the last
        idx = sample_indices(claimed or num_frames, policy, num_frames, src_fps=src_fps, target_fps=fps)
        first = _pyav_pass(path, max_side, wanted=set(idx.tolist()), stop=int(idx.max()) + 1)
    else:  # the length is needed but unknown: keep a bounded window while counting
        first = _pyav_pass(path, max_side, window=max(WINDOW_FRAMES, 2 * (num_frames or 0)))
    if first.decoded == 0:
        raise VbenchError(f"{path}: cannot decode ({first.damage})" if first.damage
                          else f"{path}: video has no decodable frames")
    total = first.decoded if first.ended else (claimed or first.decoded)
    idx = sample_indices(total, policy, num_frames, src_fps=src_fps, target_fps=fps)
    used = first
    if not set(idx.tolist()) <= first.kept.keys():  # the count differed from the claim, or the window overflowed
        used = _pyav_pass(path, max_side, wanted=set(idx.tolist()), stop=int(idx.max()) + 1)
        if not set(idx.tolist()) <= used.kept.keys():
            raise VbenchError(f"{path}: decodes differently on a second pass (frames {first.decoded} then "
                              f"{used.decoded}); the file is unreliable")
    frames = np.stack([used.kept[i] for i in idx.tolist()])
    clip = Clip(frames, fps=fps if policy == "fps" else src_fps, source=str(path))
    clip.notes.extend(_decode_notes(first, probe, used))
    return clip


def _decode_notes(first: _Pass, probe: _Probe, used: _Pass) -> list[str]:
    notes = []
    if first.ended and probe.clearly_short(first.decoded):
        tail = (f"the file is damaged after frame {first.decoded}" if first.damage
                else "the rest are missing from the file")
        of = (f"{probe.claimed} frames" if probe.claimed
              else f"about {probe.estimated} frames (the file's duration times its frame rate)")
        notes.append(f"decoded {first.decoded} of {of}; {tail}")
    elif first.damage:
        notes.append(f"decoded {first.decoded} frames; the file is damaged after frame {first.decoded}")
    if used.transparent:
        notes.append(ALPHA_NOTE)
    if used.alpha_lost:
        notes.append("the file's alpha channel could not be decoded (no libvpx in this FFmpeg); colour used as is")
    return notes


def _to_rgb(frame) -> tuple[np.ndarray, bool]:
    """RGB uint8 of a decoded frame and whether it had transparency (composited on black, see :data:`ALPHA_NOTE`)."""
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):  # a GIF palette may mark a colour transparent
        rgba = frame.to_ndarray(format="rgba")
        if rgba[..., 3].min() == 255:  # opaque: compositing would change nothing
            return np.ascontiguousarray(rgba[..., :3]), False
        return _composite_on_black(rgba), True
    return frame.to_ndarray(format="rgb24"), False


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
            full_size, size = frame.shape, _target_size(frame.shape[0], frame.shape[1], max_side)
        elif frame.shape != full_size:
            raise VbenchError(f"{path}: frames differ in size")
        loaded[i] = _resize_frame(frame, size)
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
                    return _composite_on_black(rgba), True
                return np.ascontiguousarray(rgba[..., :3]), False
            return np.asarray(im if im.mode == "RGB" else im.convert("RGB")), False
    except Exception as exc:
        raise VbenchError(f"{file}: cannot read frame ({_short(exc)})") from exc


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
