"""Seconds per stage of a scoring run (cache lookup, decode, each metric's preprocessing and model, aggregation),
printed at the end of ``score`` and measured by ``benchmarks/bench_pipeline.py``.

Decode and preprocessing times are summed over the worker processes (CPU-seconds, overlapping the models), so the
stages may add up to more than the wall time; the breakdown says which stage to speed up, the wall time how fast
the run was.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class StageTimes:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + float(seconds)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)

    def wall(self) -> float:
        return time.perf_counter() - self.started

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}

    def lines(self, clips: int | None = None) -> list[str]:
        """The breakdown as console lines: stage, seconds, share of the wall time."""
        wall = max(self.wall(), 1e-9)
        head = f"stage times ({wall:.1f} s wall" + (f", {clips / wall:.2f} clips/s" if clips else "") + ")"
        rows = [f"  {stage:<24} {sec:8.2f} s  {100 * sec / wall:5.1f}%" for stage, sec in self.seconds.items()]
        return [head, *rows]
