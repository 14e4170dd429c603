"""``python``: call ``module:callable`` in this process.

``--generator-args callable=my_pkg.gen:make_video[,pass=text]``

The callable is called as ``fn(prompt, seed=..., num_frames=..., size=(H, W))`` where ``prompt`` is the prompt text
(``pass=text``, the default) or the :class:`~vbench_lite.types.Prompt` (``pass=prompt``). It returns a
:class:`Clip`, or frames as a uint8 array ``(T, H, W, 3)``, or floats in [0, 1] (numpy or torch, ``(T, H, W, 3)``
or ``(T, 3, H, W)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vbench_lite.generators.base import Generator
from vbench_lite.registry import load_object
from vbench_lite.types import Clip, Prompt, VbenchError


def frames_to_clip(obj: Any, fps: float, source: str) -> Clip:
    """Normalise what a user's callable returned into a uint8 ``(T, H, W, 3)`` clip."""
    if isinstance(obj, Clip):
        return obj
    if hasattr(obj, "detach"):  # torch tensor
        obj = obj.detach().cpu().numpy()
    arr = np.asarray(obj)
    if arr.ndim != 4:
        raise VbenchError(f"{source}: expected frames (T, H, W, 3), got shape {arr.shape}")
    if arr.shape[-1] != 3 and arr.shape[1] == 3:
        arr = arr.transpose(0, 2, 3, 1)  # (T, 3, H, W) -> (T, H, W, 3)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise VbenchError(f"{source}: frames must be uint8 or float in [0, 1], got {arr.dtype}")
        arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    return Clip(np.ascontiguousarray(arr), fps=fps, source=source)


class PythonGenerator(Generator):
    name = "python"

    def __init__(self, callable: str | None = None, fps: str | float = 8.0, **kwargs: str) -> None:
        target = callable or kwargs.pop("fn", None)
        if not target:
            raise VbenchError("python generator: give --generator-args callable=module:function")
        pass_as = kwargs.pop("pass", "text")
        if pass_as not in ("text", "prompt"):
            raise VbenchError(f"python generator: pass must be text or prompt, got {pass_as!r}")
        if kwargs:
            raise VbenchError(f"python generator: unknown arguments {sorted(kwargs)}")
        super().__init__(callable=target, fps=float(fps), **{"pass": pass_as})
        self.fn = load_object(target)
        self.pass_as = pass_as
        self.fps = float(fps)

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        arg = prompt.text if self.pass_as == "text" else prompt
        out = self.fn(arg, seed=seed, num_frames=num_frames, size=size)
        return frames_to_clip(out, self.fps, f"{self.args['callable']}:{prompt.id}")
