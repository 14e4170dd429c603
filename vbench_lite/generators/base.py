"""The generator interface: ``generate(prompt, *, seed, num_frames, size) -> Clip``.

Adapters are registered in :mod:`vbench_lite.registry` (``@register_generator("name")`` or a lazy entry) and built
from the command line with ``--generator NAME --generator-args k=v,k=v``.
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any

import numpy as np

from vbench_lite.registry import GENERATORS
from vbench_lite.types import Clip, Prompt, VbenchError

#: Float frames are accepted only inside [0, 1] (scaled by 255 and rounded). Values up to this far outside are
#: float arithmetic slack (under 0.03 of a grey level) and are clipped; anything further out is refused, because a
#: [0, 255] or [-1, 1] output read as [0, 1] silently becomes a white or black clip.
FLOAT_RANGE_SLACK = 1e-4


class Generator:
    """Base class of adapters. Subclasses take their ``--generator-args`` as keyword arguments (strings)."""

    name = "generator"
    #: Names accepted through ``**kwargs`` besides the named parameters of ``__init__``; ``None`` (the default)
    #: means such an adapter accepts any name, so :func:`build_generator` cannot check them.
    extra_arguments: tuple[str, ...] | None = None
    #: Whether clips come out with the requested ``num_frames`` and ``size`` (checked by the pipeline). ``False``
    #: for adapters that return videos made elsewhere (``folder``).
    honours_shape = True
    #: A folder for scratch files, set by the pipeline to the run folder's ``tmp/`` (emptied when a run starts,
    #: so a killed run leaves nothing behind for long); ``None`` means the system temp folder.
    work_dir: Path | None = None

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


def adapter_arguments(cls: Any) -> list[str] | None:
    """The ``--generator-args`` names an adapter class takes, or ``None`` when it takes any name."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # a builtin or an object without a signature: nothing to check against
        return None
    named = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        extra = getattr(cls, "extra_arguments", None)
        if extra is None:
            return None
        named += [n for n in extra if n not in named]
    return named


def unknown_arguments_error(adapter: str, unknown: list[str], valid: list[str]) -> VbenchError:
    """One line: the unknown names, the closest valid name for each, and every valid name."""
    hints = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    word = "argument" if len(unknown) == 1 else "arguments"
    return VbenchError(f"--generator-args: unknown {word} {', '.join(hints)} for generator {adapter!r}; "
                       f"valid arguments: {', '.join(valid) or 'none'}")


def build_generator(name: str, args: dict[str, str] | None = None) -> Generator:
    cls = GENERATORS.get(name)
    args = dict(args or {})
    valid = adapter_arguments(cls)
    if valid is not None:
        unknown = [k for k in args if k not in valid]
        if unknown:
            raise unknown_arguments_error(name, unknown, valid)
    try:
        gen = cls(**args)
    except (TypeError, ValueError) as exc:  # e.g. fps=fast: float() refuses it inside the adapter
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise VbenchError(f"--generator-args: bad arguments {args} for generator {name!r}: {first}") from exc
    if not getattr(gen, "name", None) or gen.name == "generator":
        gen.name = name
    return gen


# -- what a generator returned -> a clip -------------------------------------------------------------------------
def as_clip(obj: Any, source: str, fps: float = 8.0, *, num_frames: int | None = None,
            size: tuple[int, int] | None = None) -> Clip:
    """Validate what a generator returned and make it a uint8 ``(T, H, W, 3)`` :class:`Clip`.

    Accepted: a :class:`Clip`; or frames (numpy or torch) ``(T, H, W, 3)`` or ``(T, 3, H, W)`` (channels last wins
    when both read as 3) that are uint8, integers all in 0..255 (converted exactly), or floats all in [0, 1]
    (times 255, rounded; see :data:`FLOAT_RANGE_SLACK`). Refused with a one-line :class:`VbenchError`: NaN or
    infinite values, floats outside [0, 1], integers outside 0..255, booleans, other shapes, empty clips.

    ``num_frames`` / ``size``, when given, must match exactly: the run records the requested shape in run.json and
    results.json, and scoring a clip of another shape under that record would be a silent wrong answer (a generator
    that ignores the request is told so, once per clip, instead of being compared at a shape it did not make).
    """
    if isinstance(obj, Clip):
        clip = obj
    else:
        clip = Clip(_frames_as_uint8(obj, source), fps=fps, source=source)
    if num_frames is not None and size is not None:
        got = (clip.num_frames, clip.size)
        if got != (num_frames, tuple(size)):
            raise VbenchError(f"{source}: the generator returned {got[0]} frames of {got[1][0]}x{got[1][1]} but "
                              f"{num_frames} frames of {size[0]}x{size[1]} were asked (--frames/--size)")
    return clip


def _frames_as_uint8(obj: Any, source: str) -> np.ndarray:
    if hasattr(obj, "detach"):  # torch tensor; bfloat16 has no numpy dtype, float32 holds it exactly
        obj = obj.detach().cpu()
        if obj.is_floating_point():
            obj = obj.float()
        obj = obj.numpy()
    try:
        arr = np.asarray(obj)
    except (TypeError, ValueError) as exc:
        raise VbenchError(f"{source}: the generator returned {type(obj).__name__}, not frames") from exc
    if arr.ndim != 4 or 0 in arr.shape:
        raise VbenchError(f"{source}: expected frames (T, H, W, 3) or (T, 3, H, W), got shape {arr.shape}")
    if arr.shape[-1] != 3 and arr.shape[1] == 3:
        arr = arr.transpose(0, 2, 3, 1)  # (T, 3, H, W) -> (T, H, W, 3)
    if arr.shape[-1] != 3:
        raise VbenchError(f"{source}: expected 3 colour channels (RGB), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise VbenchError(f"{source}: frames must be uint8, integers in 0..255 or floats in [0, 1], got {arr.dtype}")
    if np.issubdtype(arr.dtype, np.integer):
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high > 255:
            raise VbenchError(f"{source}: integer frames must lie in 0..255, got values in [{low}, {high}]")
        return np.ascontiguousarray(arr.astype(np.uint8))
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int((~finite).sum())
        raise VbenchError(f"{source}: the generator returned {bad} NaN or infinite values")
    low, high = float(arr.min()), float(arr.max())
    if low < -FLOAT_RANGE_SLACK or high > 1.0 + FLOAT_RANGE_SLACK:
        raise VbenchError(f"{source}: float frames must lie in [0, 1], got values in [{low:.4g}, {high:.4g}] "
                          "(scale them to [0, 1] or return uint8)")
    scaled = np.rint(np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0)
    return np.ascontiguousarray(scaled.astype(np.uint8))
