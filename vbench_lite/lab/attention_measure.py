"""Measuring primitives of the attention lab: latency, peak memory, where the time goes, the matmul peak.

The sweep that uses them is :mod:`vbench_lite.lab.attention_sweep`; what the numbers mean:

- **Latency**: ``torch.utils.benchmark.Timer`` (``num_threads = torch.get_num_threads()``, CUDA synchronisation
  handled by the Timer) with ``adaptive_autorange``: at least 4 timed blocks after a warm-up, until the IQR is
  within 10% of the median or the time budget is spent. Rows carry the median and the IQR.
- **Peak memory** of one call, beyond what was live before it (output included): on CUDA
  ``max_memory_allocated`` after ``reset_peak_memory_stats``; on CPU the process's peak resident set (``VmHWM``)
  after resetting it through ``/proc/self/clear_refs`` and returning freed heap pages with ``malloc_trim``, minus
  the resident set before the call. Elsewhere it is left empty.
- **Peak matmul**: FLOP/s of dense square matmuls measured in the same run (fp32, and the sweep's dtype): the
  fastest block of probes taken before, between the strategies of, and after the sweep, the denominator of
  ``fraction_of_peak = analytic matmul FLOPs / median latency / peak`` (and of ``fraction_of_peak_best``, which uses
  the fastest block of the configuration, like for like with the peak).
- **Scaling exponent** per strategy: least squares of ``log latency`` on ``log tokens`` over the sweep; the
  analytic exponent (same fit on the analytic FLOPs) is reported beside it. A measured exponent well below the
  analytic one means the strategy pays a per-call cost that does not grow with its FLOPs (overhead-bound).
- **Scope** ``core`` (default) times ``VideoAttention.core``: the strategy's reshapes and attention on projected
  ``qkv``, the part that differs between strategies. ``module`` times the whole module, projections included.
- **Problems** are the independent (sequence, head) attention problems of a configuration (``B*T*h`` for spatial,
  ``B*H*W*h`` for temporal); ``us_per_problem`` = core latency / problems exposes a fixed cost per problem, the
  signature of overhead-bound strategies (thousands of tiny ``T x T`` problems). ``breakdown`` adds the ops that
  take the most self time (torch profiler), e.g. the fused kernel versus the copies a reshape makes.
- Running out of memory is a result (``"OOM at N tokens"``), and configurations whose analytic working set exceeds
  the memory cap are not run (``"skipped: would need X GiB"``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from vbench_lite.native import native_stderr_silenced

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


# -- latency --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LatencyStats:
    median_s: float
    iqr_s: float
    runs: int  # timed blocks
    number_per_run: int
    min_s: float = math.nan  # the fastest block, per call


def time_callable(fn: Callable[[], Any], *, min_run_time: float = 0.05, max_run_time: float = 1.0,
                  threshold: float = 0.1, min_blocks: int = 3, label: str = "", device: str = "cpu") -> LatencyStats:
    """Median and IQR of one call of ``fn`` with ``torch.utils.benchmark.Timer`` at this process's thread count.

    ``adaptive_autorange`` stops once 4 blocks agree within ``threshold`` (IQR / median) or the budget is spent;
    the budget grows so that a slow call still gets about ``min_blocks`` timed blocks.
    """
    from torch.utils import benchmark

    is_cuda = torch.device(device).type == "cuda"
    start = time.perf_counter()
    fn()  # warm-up, and a first estimate of one call
    if is_cuda:
        torch.cuda.synchronize(device)
    once = time.perf_counter() - start
    budget = max(max_run_time, (min_blocks - 0.5) * once)
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads(), label=label)
    m = timer.adaptive_autorange(threshold=threshold, min_run_time=min_run_time, max_run_time=budget)
    return LatencyStats(median_s=float(m.median), iqr_s=float(m.iqr), runs=len(m.raw_times),
                        number_per_run=int(m.number_per_run), min_s=float(min(m.times)))


# -- memory ---------------------------------------------------------------------------------------------------
def _proc_status_bytes(*keys: str) -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in keys:
                out[key] = int(value.split()[0]) * 1024  # reported in kB
    return out


def _release_freed_memory() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def cpu_peak_memory_supported() -> bool:
    return os.path.exists("/proc/self/status") and _reset_peak_rss()


def measure_peak_memory(fn: Callable[[], Any], device: str = "cpu") -> int | None:
    """Peak bytes one call of ``fn`` adds to what was live before it (its output included); None if unmeasurable."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        out = fn()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        del out
        return int(peak)
    if not os.path.exists("/proc/self/status"):
        return None
    _release_freed_memory()
    if not _reset_peak_rss():
        return None
    before = _proc_status_bytes("VmRSS")["VmRSS"]
    out = fn()
    peak = _proc_status_bytes("VmHWM")["VmHWM"] - before
    del out
    return max(int(peak), 0)


# -- where the time goes -----------------------------------------------------------------------------------------
def op_breakdown(fn: Callable[[], Any], *, repeats: int = 3, top: int = 4) -> list[dict[str, Any]]:
    """The ops that take the most self time in ``fn`` (torch profiler, CPU and CUDA activities), per call."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    fn()
    with native_stderr_silenced(), profile(activities=activities) as prof:
        for _ in range(repeats):
            fn()
    events = prof.key_averages()

    def self_time(e) -> float:
        device = getattr(e, "self_device_time_total", 0) or 0
        return float(e.self_cpu_time_total + device)

    total = sum(self_time(e) for e in events) or 1.0
    ranked = sorted(events, key=self_time, reverse=True)[:top]
    return [{"op": e.key.removeprefix("aten::"), "ms": self_time(e) / repeats / 1e3,
             "share": self_time(e) / total, "calls": e.count // repeats} for e in ranked]


_SHORT_OP_NAMES = {"_scaled_dot_product_flash_attention_for_cpu": "sdpa_flash_cpu",
                   "_scaled_dot_product_flash_attention": "sdpa_flash", "_efficient_attention_forward": "sdpa_mem_eff",
                   "_scaled_dot_product_efficient_attention": "sdpa_mem_eff"}


def format_breakdown(ops: Sequence[dict[str, Any]], min_share: float = 0.01) -> str:
    """``"sdpa_flash_cpu 89%, copy_ 10%"``: ops with at least ``min_share`` of the self time."""
    return ", ".join(f"{_SHORT_OP_NAMES.get(o['op'], o['op'])} {100 * o['share']:.0f}%" for o in ops
                     if o["share"] >= min_share)


# -- peak matmul ------------------------------------------------------------------------------------------------
def measure_matmul_peak(device: str = "cpu", dtype: str = "float32", sizes: Sequence[int] = (1024, 2048),
                        min_run_time: float = 0.05, max_run_time: float = 0.5) -> dict[str, Any]:
    """Peak FLOP/s of dense square ``n x n @ n x n`` matmuls (``2 n^3`` FLOPs): the fastest timed block of the
    best size, since a peak is what the machine can do (the median of that size is kept beside it)."""
    best: dict[str, Any] = {"dtype": dtype, "device": device, "flops_per_s": 0.0}
    for n in sizes:
        a = torch.randn(n, n, device=device).to(TORCH_DTYPES[dtype])
        b = torch.randn(n, n, device=device).to(TORCH_DTYPES[dtype])
        stats = time_callable(lambda a=a, b=b: a @ b, min_run_time=min_run_time, max_run_time=max_run_time,
                              label=f"matmul {n}", device=device)
        rate = 2 * n**3 / stats.min_s
        if rate > best["flops_per_s"]:
            best = {"dtype": dtype, "device": device, "n": n, "min_s": stats.min_s, "median_s": stats.median_s,
                    "flops_per_s": rate, "median_flops_per_s": 2 * n**3 / stats.median_s}
    return best
