"""``python``: call ``module:callable`` in this process.

``--generator-args callable=my_pkg.gen:make_video[,pass=text]``

The callable is called as ``fn(prompt, seed=..., num_frames=..., size=(H, W))`` where ``prompt`` is the prompt text
(``pass=text``, the default) or the :class:`~vbench_lite.types.Prompt` (``pass=prompt``). It returns a
:class:`Clip`, or frames (numpy or torch, ``(T, H, W, 3)`` or ``(T, 3, H, W)``) that are uint8, or floats in
[0, 1]: see :func:`vbench_lite.generators.base.as_clip` for the exact rule (NaN, infinities and floats outside
[0, 1] are refused, never clipped into a white or black clip). The clip must have the requested ``num_frames`` and
``size``; anything else fails that clip with a one-line reason. An exception, ``sys.exit()`` included, fails only
that clip.
"""

from __future__ import annotations

from typing import Any

from vbench_lite.generators.base import Generator, adapter_arguments, as_clip, unknown_arguments_error
from vbench_lite.registry import load_object
from vbench_lite.types import Clip, Prompt, VbenchError


def frames_to_clip(obj: Any, fps: float, source: str) -> Clip:
    """Normalise what a user's callable returned into a uint8 ``(T, H, W, 3)`` clip (see :func:`as_clip`)."""
    return as_clip(obj, source, fps)


class PythonGenerator(Generator):
    name = "python"
    extra_arguments = ("fn", "pass")

    def __init__(self, callable: str | None = None, fps: str | float = 8.0, **kwargs: str) -> None:
        target = callable or kwargs.pop("fn", None)
        if not target:
            raise VbenchError("python generator: give --generator-args callable=module:function")
        pass_as = kwargs.pop("pass", "text")
        if pass_as not in ("text", "prompt"):
            raise VbenchError(f"python generator: pass must be text or prompt, got {pass_as!r}")
        if kwargs:
            raise unknown_arguments_error(self.name, sorted(kwargs), adapter_arguments(type(self)) or [])
        super().__init__(callable=target, fps=float(fps), **{"pass": pass_as})
        self.fn = load_object(target)
        self.pass_as = pass_as
        self.fps = float(fps)

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        arg = prompt.text if self.pass_as == "text" else prompt
        out = self.fn(arg, seed=seed, num_frames=num_frames, size=size)
        return frames_to_clip(out, self.fps, f"{self.args['callable']}:{prompt.id}")
