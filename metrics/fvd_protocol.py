"""The FVD protocol: which frames of a clip the I3D sees and how they are resized (pytorch-fid's "preprocessing").

The default is StyleGAN-V's: 16 consecutive frames from the start, each frame resized to 224x224 (bilinear,
``align_corners=False``, no antialiasing), RGB scaled to [-1, 1]. StyleGAN-V draws a random start for real videos;
we keep a fixed ``start`` setting so results are reproducible. Every protocol has a name and a hash that go into
results and reference statistics files, and statistics of another protocol are refused.

The decode rule is part of the protocol: ``score`` and ``fvd-stats`` decode frames at most ``--max-side`` pixels on
the long side (default ``vbench_lite.types.SCORE_MAX_SIDE``, 512; area downscaling) *before* the 224 px resize, so
videos larger than that give other features than the full-size frames StyleGAN-V reads. ``--max-side 0`` decodes at
full size, the canonical protocol.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from reference_models.i3d import I3D_MIN_FRAMES
from vbench_lite.types import SCORE_MAX_SIDE, VbenchError

RESIZE_RULES = ("bilinear", "short_side_crop")
#: The decode rule of every protocol hash made before the rule was part of the protocol: `fvd-stats` hard-coded 512
#: and `score` defaulted to it. A protocol decoding at 512 keeps that hash (files made under it stay valid); any
#: other rule is folded into the hash. Fixed forever, whatever the default decode size becomes.
LEGACY_DECODE_MAX_SIDE = 512


@dataclass(frozen=True)
class FvdProtocol:
    """How a clip becomes the I3D input: which frames, how they are resized, what happens to short clips.

    Frames ``start, start + stride, ..., start + (num_frames - 1) * stride``; a clip with fewer frames is refused,
    or, with ``loop_short``, read cyclically (frame ``i mod T``). ``resize``: ``"bilinear"`` stretches every frame to
    ``size x size`` (StyleGAN-V); ``"short_side_crop"`` scales the short side to ``size`` and centre-crops.
    """

    num_frames: int = 16
    stride: int = 1
    start: int = 0
    resize: str = "bilinear"
    size: int = 224
    loop_short: bool = False
    #: Frames are decoded at most this many pixels on the long side before the resize above (0: full size).
    decode_max_side: int = SCORE_MAX_SIDE

    #: Fixed facts folded into the hash, so changing them invalidates cached features and statistics.
    FIXED: ClassVar[dict[str, Any]] = {"version": 1, "value_range": [-1, 1], "interpolation": "bilinear",
                                       "align_corners": False, "antialias": False}

    def __post_init__(self) -> None:
        if self.num_frames < I3D_MIN_FRAMES:
            raise VbenchError(f"FVD protocol: num_frames={self.num_frames} is below the I3D minimum of "
                              f"{I3D_MIN_FRAMES} frames")
        if self.stride < 1 or self.start < 0:
            raise VbenchError(f"FVD protocol: need stride >= 1 and start >= 0, got {self.stride} and {self.start}")
        if self.resize not in RESIZE_RULES:
            raise VbenchError(f"FVD protocol: unknown resize rule {self.resize!r} (known: {', '.join(RESIZE_RULES)})")
        if self.size < 32:
            raise VbenchError(f"FVD protocol: size={self.size} is too small for the I3D (at least 32)")
        if self.decode_max_side < 0:
            raise VbenchError(f"FVD protocol: decode max_side={self.decode_max_side} must be >= 0 (0: full size)")

    @property
    def frames_needed(self) -> int:
        return self.start + (self.num_frames - 1) * self.stride + 1

    def feature_settings(self) -> dict[str, Any]:
        """The settings that define the features of a clip long enough for the protocol (all but ``loop_short``:
        looping only decides what happens to shorter clips, and each looped clip is noted in the results)."""
        return {k: v for k, v in asdict(self).items() if k != "loop_short"}

    @property
    def name(self) -> str:
        """"stylegan-v" for its frame selection and resize under any decode rule (the hash tells decode rules
        apart, and results note clips shrunk at decode); "custom" otherwise."""
        mine, default = self.feature_settings(), FvdProtocol().feature_settings()
        mine.pop("decode_max_side")
        default.pop("decode_max_side")
        return "stylegan-v" if mine == default else "custom"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def hash(self) -> str:
        settings = self.feature_settings()
        if settings["decode_max_side"] == LEGACY_DECODE_MAX_SIDE:
            del settings["decode_max_side"]  # the rule every earlier hash was made under: keep those hashes
        blob = json.dumps({**settings, **self.FIXED}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def decode_rule(self) -> str:
        return f"--max-side {self.decode_max_side}" if self.decode_max_side else "--max-side 0 (full size)"

    def describe(self) -> dict[str, Any]:
        """What results record: name, hash and every setting."""
        return {"name": self.name, "hash": self.hash(), **self.to_dict(), **self.FIXED}


def select_frames(total: int, protocol: FvdProtocol, source: str = "clip") -> np.ndarray:
    """Indices of the protocol's frames in a clip of ``total`` frames (looped only if the protocol says so)."""
    idx = protocol.start + protocol.stride * np.arange(protocol.num_frames)
    if total >= protocol.frames_needed:
        return idx
    if protocol.loop_short:
        return idx % total
    raise VbenchError(f"{source}: {total} frames, FVD protocol needs {protocol.frames_needed} (start {protocol.start}"
                      f" + {protocol.num_frames} frames at stride {protocol.stride}); shorter clips are refused "
                      f"unless loop_short=true")


def preprocess_clip(frames: np.ndarray, protocol: FvdProtocol, source: str = "clip") -> torch.Tensor:
    """uint8 ``(T, H, W, 3)`` -> float32 ``(3, num_frames, size, size)`` in [-1, 1], the I3D input of one clip."""
    frames = np.asarray(frames)
    picked = frames[select_frames(frames.shape[0], protocol, source)]  # (F, H, W, 3)
    x = torch.from_numpy(np.ascontiguousarray(picked)).permute(0, 3, 1, 2).float()  # (F, 3, H, W)
    x = x / 127.5 - 1.0
    size = protocol.size
    if protocol.resize == "bilinear":
        target = (size, size)
    else:  # short_side_crop: scale the short side to `size`, then take the centre
        h, w = x.shape[-2:]
        scale = size / min(h, w)
        target = (max(size, round(h * scale)), max(size, round(w * scale)))
    if tuple(x.shape[-2:]) != target:
        x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=False)
    if protocol.resize == "short_side_crop":
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top:top + size, left:left + size]
    return x.permute(1, 0, 2, 3).contiguous()  # (3, F, size, size)


@dataclass(frozen=True)
class ClipPreprocessor:
    """``preprocess_clip`` of a :class:`~vbench_lite.types.Clip` under one protocol: a small picklable object, so
    the pipeline's decode worker processes can run it (it holds no model)."""

    protocol: FvdProtocol

    def __call__(self, clip: Any) -> torch.Tensor:
        return preprocess_clip(clip.frames, self.protocol, getattr(clip, "source", None) or "clip")
