"""The generator interface: ``generate(prompt, *, seed, num_frames, size) -> Clip``.

Adapters are registered in :mod:`vbench_lite.registry` (``@register_generator("name")`` or a lazy entry) and built
from the command line with ``--generator NAME --generator-args k=v,k=v``.
"""

from __future__ import annotations

from typing import Any

from vbench_lite.registry import GENERATORS
from vbench_lite.types import Clip, Prompt, VbenchError


class Generator:
    """Base class of adapters. Subclasses take their ``--generator-args`` as keyword arguments (strings)."""

    name = "generator"

    def __init__(self, **args: Any) -> None:
        self.args = dict(args)

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Name and arguments as recorded in ``results.json``."""
        return {"name": self.name, "args": {k: v for k, v in self.args.items()}}

    def provenance(self) -> dict[str, Any]:
        """Weights sha256 and the like."""
        return {}


def parse_generator_args(text: str | None) -> dict[str, str]:
    """``"k=v,k2=v2"`` -> dict. A value may contain ``=``; a comma inside a value is written ``\\,``."""
    if not text:
        return {}
    out: dict[str, str] = {}
    parts, buf, escaped = [], "", False
    for ch in text:
        if escaped:
            buf += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    for part in parts:
        if not part.strip():
            continue
        if "=" not in part:
            raise VbenchError(f"--generator-args: expected k=v, got {part!r}")
        key, value = part.split("=", 1)
        out[key.strip()] = value
    return out


def build_generator(name: str, args: dict[str, str] | None = None) -> Generator:
    cls = GENERATORS.get(name)
    try:
        gen = cls(**(args or {}))
    except TypeError as exc:
        raise VbenchError(f"generator {name!r}: bad arguments {args}: {exc}") from exc
    if not getattr(gen, "name", None) or gen.name == "generator":
        gen.name = name
    return gen
