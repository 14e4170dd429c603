"""``command``: run an external program per clip, without a shell.

``--generator-args "argv=python gen.py --prompt {prompt} --seed {seed} --out {out},timeout=600"``

The template is split once with :func:`shlex.split` (it is the user's own command line); placeholders are then
replaced inside each argument of the template in one pass, so a prompt always arrives as exactly one argument, never
passes through a shell, and is never itself searched for placeholders (a prompt containing ``{seed}`` arrives
verbatim). Placeholders: ``{prompt}`` ``{prompt_id}`` ``{seed}`` ``{out}`` ``{num_frames}`` ``{height}``
``{width}``. The program must write a video (or a folder of frames) to ``{out}``.

The program dies with us. It runs in its own session (process group), so a timeout kills the group; on Linux it also
gets ``PR_SET_PDEATHSIG`` = SIGKILL, so it is killed when this process dies, even by ``kill -9`` (strictly: when
the thread that started it ends; the pipeline generates in the main thread). Programs the program itself starts are
in its group (killed on timeout) but only die with us if they ask for the same. Its ``{out}``
lives in a scratch folder inside the run folder (``tmp/``, emptied when a run starts), so a killed run leaves no
temp files behind for longer than the next run.
"""

from __future__ import annotations

import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from vbench_lite.generators.base import Generator
from vbench_lite.types import Clip, Prompt, VbenchError
from vbench_lite.video_io import read_video

PLACEHOLDERS = ("prompt", "prompt_id", "seed", "out", "num_frames", "height", "width")
_PLACEHOLDER = re.compile("{(" + "|".join(PLACEHOLDERS) + ")}")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def expand_placeholders(token: str, values: dict[str, str]) -> str:
    """One template argument with its placeholders replaced in a single pass (values are never re-scanned)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], token)


def _die_with_parent(parent_pid: int):
    """A ``preexec_fn``: ask Linux to SIGKILL the child when its parent dies; ``None`` where prctl is missing.

    libc is looked up here, in the parent: after ``fork`` the child should do as little as possible.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


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
        return [expand_placeholders(part, values) for part in self.template]

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        if self.work_dir is not None:
            Path(self.work_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="vbench-lite-cmd-", dir=self.work_dir) as tmp:
            out = Path(tmp) / f"clip.{self.ext}"
            argv = self.build_argv(prompt, seed=seed, out=out, num_frames=num_frames, size=size)
            returncode, stderr = self.run_program(argv, prompt)
            if returncode != 0:
                last = (stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
                raise VbenchError(f"command generator: {argv[0]} exited {returncode} on prompt "
                                  f"{prompt.id!r}: {last}")
            if not out.exists():
                raise VbenchError(f"command generator: {argv[0]} wrote nothing to {{out}} for prompt {prompt.id!r}")
            return read_video(out)

    def run_program(self, argv: list[str], prompt: Prompt) -> tuple[int, str]:
        """Run ``argv`` (no shell) in its own process group, tied to our life; returns (exit code, stderr)."""
        preexec = _die_with_parent(os.getpid()) if sys.platform.startswith("linux") else None
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                    text=True, errors="replace", cwd=self.cwd, shell=False, start_new_session=True,
                                    preexec_fn=preexec)
        except FileNotFoundError as exc:
            raise VbenchError(f"command generator: program not found: {argv[0]!r}") from exc
        except PermissionError as exc:
            raise VbenchError(f"command generator: cannot run {argv[0]!r}: permission denied") from exc
        try:
            _, stderr = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise VbenchError(f"command generator: {argv[0]} timed out after {self.timeout:g}s "
                              f"on prompt {prompt.id!r}") from exc
        except BaseException:  # interrupted (Ctrl-C...): take the program and its children down with us
            _kill_group(proc)
            raise
        return proc.returncode, stderr or ""


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the program's whole process group (it leads its own session) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.communicate()
