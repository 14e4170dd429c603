"""Generators and metrics that die on purpose, for the resume-after-kill tests (run in a subprocess)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from tests.fixtures.brightness import BrightnessMetric
from vbench_lite.generators.synthetic import SyntheticGenerator


def _tick(env_name: str) -> None:
    """SIGKILL this process on the N-th call, N from ``$env_name`` (a counter file beside it counts calls)."""
    limit = os.environ.get(env_name)
    if not limit:
        return
    counter = Path(os.environ["CRASHY_COUNTER"])
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    if n >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def synthetic_then_die(prompt, *, seed, num_frames, size):
    _tick("CRASHY_KILL_AT_GENERATE")
    if os.environ.get("VBENCH_FAIL_PROMPT") == prompt.id:
        raise RuntimeError(f"refusing to draw {prompt.id} (on purpose)")
    gen = SyntheticGenerator()
    return gen.generate(prompt, seed=seed, num_frames=num_frames, size=size)


class BrightnessThenDie(BrightnessMetric):
    name = "crashy_brightness"

    def extract(self, clips, prompts):
        _tick("CRASHY_KILL_AT_SCORE")
        log = os.environ.get("CRASHY_EXTRACT_LOG")
        if log:
            with open(log, "a") as fh:
                fh.write(f"{len(clips)}\n")
        return [{"brightness": np.float64(c.frames.mean() / 255.0)} for c in clips]
