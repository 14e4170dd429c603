"""Core types shared by every layer: a clip, a prompt and the one error type users see."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: How large `score` and `fvd-stats` decode frames by default (longest side, pixels; 0 = full size). ONE constant for
#: both: the decode rule is part of the FVD protocol, so reference and generated clips must be decoded alike.
SCORE_MAX_SIDE = 512


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
    #: One-line remarks about how the clip was obtained (a short decode, a dropped alpha channel...); the pipeline
    #: records them per video in results.json so that nothing about a clip's frames is silent.
    notes: list[str] = field(default_factory=list)

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


#: Length of the text hash that :func:`prompt_id_for_text` appends (8 hex digits = 32 bits: a collision between two
#: texts with the same slug is a one-in-four-billion event).
TEXT_HASH_LEN = 8


def text_sha256(text: str) -> str:
    """sha256 of the exact text (UTF-8), as feature caches and ad-hoc prompt ids use it."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def prompt_id_for_text(text: str, max_len: int = 80) -> str:
    """A unique, stable id for any prompt text (ad-hoc prompts from file names, imported files).

    The slug alone when it renders the text exactly (``"a cat running"`` -> ``a-cat-running``: dashes back to spaces
    give the text again), else the slug, ``_`` and 8 hex digits of the text's sha256 (``"a cat, running"`` ->
    ``a-cat-running_1a2b3c4d``; ``"猫が走る"`` -> ``prompt_...``). A slug never holds ``_``, so the two forms cannot
    meet, and two texts share an id only if their hashes collide. Builtin suites keep their plain slugs (their ids
    are stored in shipped files); this is for texts that have no id of their own.
    """
    slug = slugify(text, max_len)
    if slug.replace("-", " ") == text:
        return slug
    stem = slug[: max_len - TEXT_HASH_LEN - 1].rstrip("-") or "prompt"
    return f"{stem}_{text_sha256(text)[:TEXT_HASH_LEN]}"


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

    @property
    def has_text(self) -> bool:
        """False for a prompt known only by its id (a ``<prompt_id>/<i>.mp4`` folder not in the suite): its ``text``
        is then the id, and metrics that compare with the text must not use it."""
        return not self.fields.get("no_text", False)

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
