"""Decoding with PyAV: what decord cannot read faithfully (GIF, alpha, webm/mkv without a frame list, damaged files).

Only the sampled frames are converted and kept, each downscaled as it is decoded; a file whose length is unknown is
counted within a bounded window first. What the file's headers claim is compared with what decodes, and the
difference becomes a one-line note (:func:`decode_notes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vbench_lite.frames import ALPHA_NOTE, composite_on_black, sample_indices, short_error, target_size
from vbench_lite.native import native_stderr_silenced
from vbench_lite.types import Clip, VbenchError

#: With an unknown frame count (GIF, webm, mkv) and a policy that needs it, PyAV keeps at most this many decoded
#: frames (or twice the requested count) while it learns the length; a longer file is decoded a second time for the
#: sampled frames only. Memory follows what is kept, never the file's length.
WINDOW_FRAMES = 32

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
    #: The coded frame size the stream header states, (0, 0) when it does not say.
    size: tuple[int, int] = (0, 0)

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
    size = (int(stream.codec_context.height or 0), int(stream.codec_context.width or 0))
    return _Probe(src_fps, int(stream.frames or 0), estimated, _stream_has_alpha(stream), size)


def probe_quietly(path: Path) -> _Probe | None:
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
        raise VbenchError(f"{path}: not a video file ({short_error(exc)})") from exc
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
                    size = target_size(frame.height, frame.width, max_side)
                if (index in wanted) if wanted is not None else not result.overflow:
                    if (frame.height, frame.width) != size:
                        frame = frame.reformat(width=size[1], height=size[0])
                    result.kept[index], transparent = to_rgb(frame)
                    result.transparent |= transparent
                    if window is not None and len(result.kept) > window:
                        result.kept.clear()
                        result.overflow = True
                if stop is not None and result.decoded >= stop:
                    return result
        except av.error.FFmpegError as exc:  # damaged or truncated: keep the frames decoded before the damage
            result.damage = short_error(exc)
    result.ended = True
    return result


def read_pyav(path: Path, *, num_frames, policy, fps, max_side) -> Clip:
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


def to_rgb(frame) -> tuple[np.ndarray, bool]:
    """RGB uint8 of a decoded frame and whether it had transparency (composited on black, see :data:`ALPHA_NOTE`)."""
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):  # a GIF palette may mark a colour transparent
        rgba = frame.to_ndarray(format="rgba")
        if rgba[..., 3].min() == 255:  # opaque: compositing would change nothing
            return np.ascontiguousarray(rgba[..., :3]), False
        return composite_on_black(rgba), True
    return frame.to_ndarray(format="rgb24"), False
