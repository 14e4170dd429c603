"""Decode and preprocess clips in worker processes, a bounded number of batches ahead of the models.

Each clip is decoded ONCE for all metrics; each metric's CPU preprocessing (its :meth:`~metrics.base.VideoMetric.
preparer`, e.g. FVD's frame selection and 224 px resize) runs in the same worker, right after the decode. A torch
``DataLoader`` keeps at most ``workers * PREFETCH`` batches ready (plus the one the models are on), so memory stays
flat however many clips a run has; ``workers=0`` runs the same steps in the calling process, one batch at a time.
Order is kept (the loader returns batches in order), so features are the same bytes with any number of workers.
On CUDA a metric stacks each batch into pinned memory (FVD's extractor), so its host-to-device copy is
asynchronous.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from vbench_lite.types import Clip, VbenchError
from vbench_lite.video_io import read_video

#: Batches each worker keeps ready ahead of the models (torch's ``prefetch_factor``).
PREFETCH = 2
#: Most decode workers a default picks: beyond this the models, not the decoders, are the bottleneck.
MAX_DEFAULT_WORKERS = 8
#: Seconds a decode worker may take for one batch before the run fails instead of hanging.
WORKER_TIMEOUT_S = 600


def default_workers() -> int:
    """Decode workers when ``--workers`` is not given: the CPUs this process may use (shared by the ranks of
    ``torchrun`` on this node), less one for the main process, at most :data:`MAX_DEFAULT_WORKERS`; 0 (decode in
    process) on a one-CPU share, where a worker would only compete with the models."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    per_rank = cpus // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(MAX_DEFAULT_WORKERS, per_rank - 1))


class PrepError(NamedTuple):
    """A metric's preparer failed on a clip: the one-line error, reported as that metric's failure of the clip."""

    error: BaseException


class Decoded(NamedTuple):
    """One clip out of a worker (a NamedTuple: the loader pins tensors inside it). ``clip`` is None and ``error``
    the one-line reason when decoding failed; ``prepared`` maps metric name to its payload or :class:`PrepError`;
    ``seconds`` maps stage (``decode``, ``preprocess:<metric>``) to the time it took in the worker."""

    index: int
    clip: Clip | None
    error: str | None
    prepared: dict[str, Any]
    seconds: dict[str, float]


class ClipJobs:
    """The map-style dataset of the loader: job ``i`` decodes ``paths[i]`` and runs the preparers it needs."""

    def __init__(self, paths: Sequence[Path], needs: Sequence[set[str]], preparers: dict[str, Callable[[Clip], Any]],
                 decode: dict[str, Any], read: Callable[..., Clip] = read_video) -> None:
        """``read``: the decoder (``video_io.read_video``; picklable, as workers receive it by reference)."""
        self.paths, self.needs, self.preparers, self.decode = list(paths), list(needs), preparers, decode
        self.read = read

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Decoded:
        t0 = time.perf_counter()
        try:
            clip = self.read(self.paths[i], policy="first", num_frames=self.decode["max_frames"],
                              max_side=self.decode["max_side"])
        except VbenchError as exc:
            return Decoded(i, None, str(exc), {}, {"decode": time.perf_counter() - t0})
        seconds = {"decode": time.perf_counter() - t0}
        prepared: dict[str, Any] = {}
        for name, prepare in self.preparers.items():
            if name not in self.needs[i]:
                continue
            t0 = time.perf_counter()
            try:
                prepared[name] = prepare(clip)
            except Exception as exc:  # reported as this metric's failure of this clip only
                prepared[name] = PrepError(exc)
            seconds[f"preprocess:{name}"] = time.perf_counter() - t0
        return Decoded(i, clip, None, prepared, seconds)


def _as_list(batch: list[Decoded]) -> list[Decoded]:
    return batch


def _main_is_gone(pid: int) -> bool:
    """Whether the scoring process ``pid`` has ended (a zombie counts: its parent may reap it only after our
    output pipes close, which is what we are waiting for)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False


def _watch_main(pid: int) -> None:
    while not _main_is_gone(pid):
        time.sleep(0.5)
    os._exit(0)


def _worker_init(main_pid: int, _worker_id: int) -> None:
    """Set up a decode worker.

    - It ends when the scoring process ends. A killed run (SIGKILL) must not leave workers behind holding its
      stdout open (tests/vbench_lite/test_pipeline.py::test_resume_after_kill), and torch's own check (has my
      parent changed?) never fires under a fork server, whose children keep the server alive in turn.
    - It runs at a lower priority (nice +10): when the CPUs are all busy the models' threads, which wait for each
      other at every layer, go first, and the decoders fill the gaps (on 2 cores a preempted I3D thread stalls its
      peer: the contention cost more than the decoders' own CPU time).
    - One thread for OpenCV (torch already sets 1 in workers): ``workers`` processes use ``workers`` cores.
    """
    import threading

    threading.Thread(target=_watch_main, args=(main_pid,), daemon=True, name="watch-main").start()
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def _context():
    """Workers start from a fork server, not a fork of the scoring process: a forked copy inherits OpenCV's and
    OpenMP's thread pools in whatever state the parent's threads left them, and OpenCV deadlocked there (a worker
    hung in ``cv2.setNumThreads`` after the parent had run DIS optical flow). The server is a clean process that
    imports the decoding modules once; each worker is a cheap fork of it."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None  # not Linux: torch's default (spawn) is clean already
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["vbench_lite.streaming", "metrics.fvd_protocol", "metrics.clip_model"])
    return ctx


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads (None: unchanged), restoring the count afterwards."""
    import torch

    previous = torch.get_num_threads()
    if not threads or threads == previous:
        yield
        return
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def stream(jobs: ClipJobs, *, batch_size: int, workers: int, pin_memory: bool = False) -> Iterator[list[Decoded]]:
    """Batches of decoded and prepared clips, in job order, ``workers`` processes decoding ahead (bounded).

    A run of one batch gains nothing from workers (nothing to overlap with): it is decoded in process."""
    from torch.utils.data import DataLoader

    if len(jobs) == 0:
        return iter(())
    workers = max(0, min(int(workers), len(jobs))) if len(jobs) > batch_size else 0
    options: dict[str, Any] = {}
    if workers:
        options = {"prefetch_factor": PREFETCH, "worker_init_fn": functools.partial(_worker_init, os.getpid()),
                   "persistent_workers": False,
                   "multiprocessing_context": _context()}
    if workers > 0:  # a worker stuck on one batch this long (decoding is seconds a clip) is an error, not a hang
        options.setdefault("timeout", WORKER_TIMEOUT_S)
    loader = DataLoader(jobs, batch_size=max(1, batch_size), shuffle=False, num_workers=workers,
                        collate_fn=_as_list, pin_memory=pin_memory, **options)
    return iter(loader)
