"""Core types shared by every layer: a clip, a prompt and the one error type users see."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class VbenchError(Exception):
    """An error with a one-line message meant for the user (the CLI prints it without a traceback)."""


@dataclass
class Clip:
    """A video: ``frames`` is ``uint8`` of shape ``(T, H, W, 3)`` (RGB), ``fps`` its frame rate.

    Metrics convert as they need; a clip never holds floats so that caching and hashing are exact.
    """

    frames: np.ndarray
    fps: float = 8.0
    source: str | None = None  # path or generator description, for error messages

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise VbenchError(f"{self.source or 'clip'}: expected frames of shape (T, H, W, 3), got {frames.shape}")
        if frames.dtype != np.uint8:
            raise VbenchError(f"{self.source or 'clip'}: expected uint8 frames, got {frames.dtype}")
        if frames.shape[0] < 1:
            raise VbenchError(f"{self.source or 'clip'}: clip has no frames")
        self.frames = frames

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def to_tensor(self):
        """Frames as a float torch tensor ``(T, 3, H, W)`` in [0, 1]."""
        import torch

        return torch.from_numpy(self.frames).permute(0, 3, 1, 2).float().div_(255.0)


_SLUG_BAD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_len: int = 80) -> str:
    """A stable, file-name-safe id: ascii lowercase, digits and single dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_BAD.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "prompt"


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")


def is_safe_id(prompt_id: str) -> bool:
    return bool(_SAFE_ID.match(prompt_id)) and ".." not in prompt_id


@dataclass
class Prompt:
    """One prompt of a suite.

    ``id`` is a stable slug that is safe as a file name; ``dimensions`` are the tags of what the prompt probes;
    ``fields`` holds structured facts a dimension needs (``objects``, ``colors``, ``motion``, ``camera``, ...).
    """

    id: str
    text: str
    category: str = "uncategorized"
    dimensions: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_safe_id(self.id):
            raise VbenchError(
                f"prompt id {self.id!r} is not a safe file name (use letters, digits, '.', '_' and '-')"
            )
        if not isinstance(self.text, str) or not self.text.strip():
            raise VbenchError(f"prompt {self.id!r} has empty text")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "category": self.category,
                               "dimensions": list(self.dimensions)}
        if self.fields:
            out["fields"] = dict(self.fields)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prompt:
        return cls(id=data["id"], text=data["text"], category=data.get("category", "uncategorized"),
                   dimensions=list(data.get("dimensions", [])), fields=dict(data.get("fields", {})))
