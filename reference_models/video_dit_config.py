"""The video DiT's configuration: the config dataclass, the named sizes of ``dit_configs/vdit.json``, and the bounds
every config read from a file (a checkpoint's metadata) is checked against before anything is built."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from reference_models.attention import resolve_strategy
from reference_models.synthetic_world import BACKGROUNDS, COLORS, MOTIONS, SHAPES

CONFIG_TABLE = Path(__file__).with_name("dit_configs") / "vdit.json"
PREDICTIONS = ("x0", "velocity")


def default_vocab() -> dict[str, list[str]]:
    """The synthetic world's vocabulary, in a fixed order (new words must be appended, never inserted)."""
    return {"background": list(BACKGROUNDS), "color": list(COLORS), "shape": list(SHAPES), "motion": list(MOTIONS)}


# -- configuration --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoDiTConfig:
    """Everything that defines a model's shape; the name table ``dit_configs/vdit.json`` holds the named sizes."""

    name: str = "VDiT-T"
    frames: int = 16
    size: tuple[int, int] = (32, 32)  # (H, W)
    channels: int = 3
    tubelet: tuple[int, int, int] = (4, 4, 4)  # (pt, ph, pw)
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    strategy: str = "full"
    window: tuple[int, int, int] = (2, 4, 4)  # in tokens (wt, wh, ww); only the window strategy uses it
    max_objects: int = 2
    prediction: str = "x0"  # what the network outputs: "x0" (the clean clip) or "velocity" (eps - x0)
    time_shift: float = 3.0  # noise levels t = shift_time(u), u uniform, in training and in the sampler
    vocab: dict[str, list[str]] = field(default_factory=default_vocab)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", resolve_strategy(self.strategy))
        for name in ("size", "tubelet", "window"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if len(self.size) != 2 or len(self.tubelet) != 3 or len(self.window) != 3:
            raise ValueError(f"{self.name}: size must be (H, W), tubelet and window (t, h, w)")
        pt, ph, pw = self.tubelet
        if self.frames % pt or self.size[0] % ph or self.size[1] % pw:
            raise ValueError(f"{self.name}: tubelet {self.tubelet} does not tile clips of {self.frames} frames of "
                             f"{self.size[0]}x{self.size[1]}")
        if self.dim % self.heads:
            raise ValueError(f"{self.name}: dim {self.dim} is not divisible by heads {self.heads}")
        if self.dim % 16:
            raise ValueError(f"{self.name}: dim {self.dim} must be a multiple of 16 (3D sin-cos position embedding)")
        if self.time_shift <= 0:
            raise ValueError(f"{self.name}: time_shift must be > 0, got {self.time_shift}")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"{self.name}: prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        missing = {"background", "color", "shape", "motion"} - set(self.vocab)
        if missing:
            raise ValueError(f"{self.name}: vocab lacks {sorted(missing)}")

    @property
    def token_grid(self) -> tuple[int, int, int]:
        """``(T', H', W')``: tokens along time, rows and columns."""
        pt, ph, pw = self.tubelet
        return self.frames // pt, self.size[0] // ph, self.size[1] // pw

    @property
    def num_tokens(self) -> int:
        t, h, w = self.token_grid
        return t * h * w

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("size", "tubelet", "window"):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoDiTConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)} (known: {sorted(known)})")
        return cls(**data)


#: Bounds of every config field read from a file (a checkpoint's metadata), checked by
#: :func:`validate_config_dict` before anything is built. Generous next to the table's sizes (VDiT-B: 2048 tokens,
#: dim 384, depth 12) yet small enough that no file can ask for hours of sampling or for gigabytes at build time.
CONFIG_INT_BOUNDS = {"frames": (1, 256), "channels": (3, 3), "dim": (16, 4096), "depth": (1, 64), "heads": (1, 64),
                     "max_objects": (0, 8)}
CONFIG_TUPLE_BOUNDS = {"size": (2, 1, 1024), "tubelet": (3, 1, 64), "window": (3, 1, 1024)}  # (length, low, high)
CONFIG_FLOAT_BOUNDS = {"mlp_ratio": (0.25, 16.0), "time_shift": (1e-3, 1e3)}
MAX_TOKENS = 4096  # tokens per clip: 2x VDiT-B; attention grows with their square (16384 tokens of a VDiT-T
#                    width take ~10 s per sampling step on one CPU thread, 4096 under 1 s)
MAX_CLIP_VALUES = 1 << 24  # frames * height * width of one clip (64 frames of 512x512)
MAX_VOCAB_WORDS = 4096  # words per vocabulary table (each is an embedding row of dim values per object slot)


def validate_config_dict(data: Any) -> dict[str, Any]:
    """Check a config read from a file: known fields, types, bounds and consistency; raise a one-line ValueError.

    Returns the dict unchanged, ready for :meth:`VideoDiTConfig.from_dict`. Booleans are not numbers here (JSON
    ``true`` is not a frame count) and floats must be finite.
    """
    if not isinstance(data, dict):
        raise ValueError(f"config must be a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(VideoDiTConfig)}
    unknown = sorted(map(str, set(data) - known))
    if unknown:
        raise ValueError(f"unknown config fields {unknown}")
    for name, (low, high) in CONFIG_INT_BOUNDS.items():
        if name in data:
            _check_int(name, data[name], low, high)
    for name, (length, low, high) in CONFIG_TUPLE_BOUNDS.items():
        if name in data:
            value = data[name]
            if not isinstance(value, (list, tuple)) or len(value) != length:
                raise ValueError(f"config {name} must be a list of {length} integers, got {value!r:.80}")
            for v in value:
                _check_int(name, v, low, high)
    for name, (low, high) in CONFIG_FLOAT_BOUNDS.items():
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValueError(f"config {name} must be a number in [{low:g}, {high:g}], got {value!r:.80}")
    for name in ("name", "strategy", "prediction"):
        if name in data and (not isinstance(data[name], str) or len(data[name]) > 100):
            raise ValueError(f"config {name} must be a string of at most 100 characters, got {data[name]!r:.80}")
    if "vocab" in data:
        _check_vocab(data["vocab"])
    defaults = VideoDiTConfig.__dataclass_fields__

    def get(name: str) -> Any:  # a field's value or its default (only fields with plain defaults are asked)
        return data.get(name, defaults[name].default)

    frames, size, tubelet = get("frames"), get("size"), get("tubelet")
    if frames * size[0] * size[1] > MAX_CLIP_VALUES:
        raise ValueError(f"config clips of {frames} frames of {size[0]}x{size[1]} exceed {MAX_CLIP_VALUES} pixels")
    tokens = (frames // tubelet[0]) * (size[0] // tubelet[1]) * (size[1] // tubelet[2])
    if tokens > MAX_TOKENS:
        raise ValueError(f"config has {tokens} tokens per clip, more than {MAX_TOKENS}")
    if get("dim") % get("heads"):
        raise ValueError(f"config dim {get('dim')} is not divisible by heads {get('heads')}")
    return data


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"config {name} must be an integer in [{low}, {high}], got {value!r:.80}")


def _check_vocab(vocab: Any) -> None:
    if not isinstance(vocab, dict):
        raise ValueError(f"config vocab must be an object of word lists, got {type(vocab).__name__}")
    for key, words in vocab.items():
        if not isinstance(words, list) or len(words) > MAX_VOCAB_WORDS:
            raise ValueError(f"config vocab {key!r:.40} must be a list of at most {MAX_VOCAB_WORDS} words")
        if not all(isinstance(w, str) and len(w) <= 100 for w in words):
            raise ValueError(f"config vocab {key!r:.40} must hold strings of at most 100 characters")


def load_config_table(path: str | Path = CONFIG_TABLE) -> dict[str, dict[str, Any]]:
    """The name table: ``{"VDiT-T": {...}, ...}`` (JSON keys starting with ``_`` are comments)."""
    table = json.loads(Path(path).read_text())
    return {name: spec for name, spec in table.items() if not name.startswith("_")}


def config_by_name(name: str, **overrides: Any) -> VideoDiTConfig:
    """A named size (case-insensitive), e.g. ``config_by_name("VDiT-T", strategy="window")``."""
    table = load_config_table()
    by_key = {key.lower(): key for key in table}
    if name.lower() not in by_key:
        raise ValueError(f"unknown video DiT config {name!r} (known: {', '.join(table)})")
    key = by_key[name.lower()]
    return replace(VideoDiTConfig.from_dict({"name": key, **table[key]}), **overrides)
