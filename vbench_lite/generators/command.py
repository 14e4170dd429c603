"""``command``: run an external program per clip, without a shell.

``--generator-args "argv=python gen.py --prompt {prompt} --seed {seed} --out {out},timeout=600"``

The template is split once with :func:`shlex.split` (it is the user's own command line); placeholders are then
replaced inside each argument, so a prompt always arrives as exactly one argument and never passes through a shell.
Placeholders: ``{prompt}`` ``{prompt_id}`` ``{seed}`` ``{out}`` ``{num_frames}`` ``{height}`` ``{width}``.
The program must write a video (or a folder of frames) to ``{out}``.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path

from vbench_lite.generators.base import Generator
from vbench_lite.types import Clip, Prompt, VbenchError
from vbench_lite.video_io import read_video

PLACEHOLDERS = ("prompt", "prompt_id", "seed", "out", "num_frames", "height", "width")


class CommandGenerator(Generator):
    name = "command"

    def __init__(self, argv: str | None = None, timeout: str | float = 600, ext: str = "mp4", cwd: str | None = None
                 ) -> None:
        if not argv:
            raise VbenchError("command generator: give --generator-args argv='prog --prompt {prompt} --out {out}'")
        super().__init__(argv=argv, timeout=float(timeout), ext=ext, cwd=cwd)
        try:
            self.template = shlex.split(argv)
        except ValueError as exc:
            raise VbenchError(f"command generator: cannot split argv {argv!r}: {exc}") from exc
        if not any("{out}" in part for part in self.template):
            raise VbenchError("command generator: the argv template must contain {out}")
        self.timeout = float(timeout)
        self.ext = ext.lstrip(".")
        self.cwd = cwd

    def build_argv(self, prompt: Prompt, *, seed: int, out: Path, num_frames: int, size: tuple[int, int]) -> list[str]:
        values = {"prompt": prompt.text, "prompt_id": prompt.id, "seed": str(seed), "out": str(out),
                  "num_frames": str(num_frames), "height": str(size[0]), "width": str(size[1])}
        argv = []
        for part in self.template:
            for key in PLACEHOLDERS:
                part = part.replace("{" + key + "}", values[key])
            argv.append(part)
        return argv

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        with tempfile.TemporaryDirectory(prefix="vbench-lite-cmd-") as tmp:
            out = Path(tmp) / f"clip.{self.ext}"
            argv = self.build_argv(prompt, seed=seed, out=out, num_frames=num_frames, size=size)
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, cwd=self.cwd,
                                      shell=False, check=False)
            except FileNotFoundError as exc:
                raise VbenchError(f"command generator: program not found: {argv[0]!r}") from exc
            except subprocess.TimeoutExpired as exc:
                raise VbenchError(f"command generator: {argv[0]} timed out after {self.timeout:g}s "
                                  f"on prompt {prompt.id!r}") from exc
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
                raise VbenchError(f"command generator: {argv[0]} exited {proc.returncode} on prompt "
                                  f"{prompt.id!r}: {last}")
            if not out.exists():
                raise VbenchError(f"command generator: {argv[0]} wrote nothing to {{out}} for prompt {prompt.id!r}")
            return read_video(out)
