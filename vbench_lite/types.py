"""Core types shared by every layer: a clip, a prompt and the one error type users see."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
import unicodedata
from collections.abc import Mapping
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


# -- typed settings ----------------------------------------------------------------------------------------------
_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def parse_settings(owner: str, cls: type, values: Mapping[str, Any], *, aliases: Mapping[str, str] | None = None,
                   base: Any = None) -> Any:
    """Build the frozen settings dataclass ``cls`` from ``values`` (CLI strings or typed values), the one place where
    ``--metric-args`` text becomes typed settings.

    Each value is converted to its field's declared type (``bool``, ``int``, ``float``, ``str``, ``X | None`` and
    ``Literal[...]`` choices); a nested settings dataclass is reached through ``aliases`` (``{"flow_method":
    "flow.method"}``). ``base`` is an instance to start from (default: ``cls()``'s defaults). Every problem is one
    :class:`VbenchError` line in one style: ``"fvd: num_frames must be an integer, got 'x'"``.
    """
    import difflib

    aliases = dict(aliases or {})
    hints = typing.get_type_hints(cls)
    known = sorted({*(f.name for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[f.name])),
                    *aliases})
    unknown = sorted(k for k in values if k not in known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise VbenchError(f"{owner}: unknown settings {unknown} ({hint}known: {', '.join(known) or 'none'})")
    nested: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, raw in values.items():
        path = aliases.get(key, key)
        head, dot, leaf = path.partition(".")
        target = _field_type(cls, head) if dot else None
        kind = _field_type(target, leaf) if dot else _field_type(cls, head)
        value = convert_setting(owner, key, raw, kind)
        if dot:
            nested.setdefault(head, {})[leaf] = value
        else:
            top[head] = value
    start = base if base is not None else None
    try:  # the dataclasses check their own ranges (ValueError): one line in the same style
        for head, changes in nested.items():
            inner = getattr(start, head) if start is not None else None
            top[head] = (dataclasses.replace(inner, **changes) if inner is not None
                         else _field_type(cls, head)(**changes))
        return dataclasses.replace(start, **top) if start is not None else cls(**top)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        raise VbenchError(message if message.startswith(f"{owner}:") else f"{owner}: {message}") from None


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def convert_setting(owner: str, name: str, raw: Any, kind: Any) -> Any:
    """``raw`` (a CLI string or a typed value) as ``kind``, or ``"owner: name must be ..., got 'raw'"``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "none")):
            return None
        return convert_setting(owner, name, raw, inner[0] if len(inner) == 1 else str)
    if origin is typing.Literal:
        text = raw if not isinstance(raw, str) else raw.strip()
        if text not in args:
            raise VbenchError(f"{owner}: {name} must be one of {', '.join(map(str, args))}, got {raw!r}")
        return text
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in _TRUE_WORDS + _FALSE_WORDS:
            raise VbenchError(f"{owner}: {name} must be true or false, got {raw!r}")
        return text in _TRUE_WORDS
    if kind is int:
        if isinstance(raw, float) and not raw.is_integer():
            raise VbenchError(f"{owner}: {name} must be an integer, got {raw!r}")
        try:
            return int(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise VbenchError(f"{owner}: {name} must be an integer, got {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise VbenchError(f"{owner}: {name} must be a number, got {raw!r}") from None
    return raw if kind is Any else str(raw)
