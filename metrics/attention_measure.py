"""Measured cost of the attention strategies: latency, peak memory, scaling exponents, fraction of matmul peak.

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
import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metrics.attention_cost import (
    attention_plan,
    dtype_bytes,
    human_bytes,
    sig3,
    token_count,
)
from reference_models.attention import ATTENTION_STRATEGIES, DEFAULT_WINDOW, build_attention, resolve_strategy
from vbench_lite.native import native_stderr_silenced

DEFAULT_STRATEGIES = tuple(ATTENTION_STRATEGIES)
DEFAULT_FRAMES = (4, 8, 16)
DEFAULT_GRIDS = ((16, 16),)
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
GIB = 2**30


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


# -- fits -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalingFit:
    exponent: float
    prefactor: float
    r2: float
    points: int


def fit_scaling_exponent(tokens: Sequence[float], values: Sequence[float]) -> ScalingFit | None:
    """Least squares ``log value = exponent * log tokens + log prefactor``; None with fewer than 2 token counts."""
    x = np.log(np.asarray(tokens, dtype=float))
    y = np.log(np.asarray(values, dtype=float))
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return ScalingFit(float(slope), float(math.exp(intercept)), r2, len(x))


@dataclass(frozen=True)
class OverheadFit:
    """``latency = fixed_s * problems + flops / flop_rate``: a fixed cost per (sequence, head) problem plus FLOPs."""

    fixed_s_per_problem: float
    flop_rate: float  # FLOP/s of the part that scales with FLOPs (inf when the fit finds none)
    r2: float


def fit_overhead(problems: Sequence[float], flops: Sequence[float], seconds: Sequence[float]) -> OverheadFit | None:
    """Non-negative least squares of latency on (problems, FLOPs); None when the two do not vary independently
    (e.g. spatial attention over a frames sweep, where both grow with T)."""
    from scipy.optimize import nnls

    design = np.column_stack([problems, flops]).astype(float)
    y = np.asarray(seconds, dtype=float)
    if len(y) < 2 or (design <= 0).any():
        return None
    scale = design.max(axis=0)
    normed = design / scale
    if np.linalg.matrix_rank(normed, tol=1e-3) < 2 or np.linalg.cond(normed) > 20:
        return None
    coef, _ = nnls(normed, y)
    fixed, per_flop = coef / scale
    residual = y - design @ (coef / scale)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return OverheadFit(float(fixed), float(1.0 / per_flop) if per_flop > 0 else math.inf, r2)


def scaling_fits(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per strategy: measured exponent of latency vs tokens, the analytic exponent of the timed FLOPs, and (where
    problems and FLOPs vary independently, core scope) the fixed cost per problem and the marginal FLOP rate."""
    out = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy and r.get("flops") is not None]
        analytic = fit_scaling_exponent([r["tokens"] for r in mine], [max(r["flops"], 1) for r in mine])
        timed = [r for r in mine if r.get("latency_median_s")]
        measured = fit_scaling_exponent([r["tokens"] for r in timed], [r["latency_median_s"] for r in timed])
        overhead = None
        if timed and all(r.get("scope", "core") == "core" and r.get("attention_problems") for r in timed):
            overhead = fit_overhead([r["attention_problems"] for r in timed], [r["flops"] for r in timed],
                                    [r["latency_median_s"] for r in timed])
        out.append({"strategy": strategy,
                    "analytic_exponent": None if analytic is None else round(analytic.exponent, 3),
                    "measured_exponent": None if measured is None else round(measured.exponent, 3),
                    "measured_r2": None if measured is None else round(measured.r2, 4),
                    "points": 0 if measured is None else measured.points,
                    "fixed_us_per_problem": None if overhead is None else round(overhead.fixed_s_per_problem * 1e6, 3),
                    "marginal_gflop_per_s": None if overhead is None or math.isinf(overhead.flop_rate)
                    else round(overhead.flop_rate / 1e9, 2),
                    "overhead_fit_r2": None if overhead is None else round(overhead.r2, 4)})
    return out


def add_overhead_shares(rows: list[dict[str, Any]], fits: Sequence[dict[str, Any]]) -> None:
    """``overhead_share``: the fitted fixed per-problem cost as a fraction of each measured latency."""
    fixed = {f["strategy"]: f["fixed_us_per_problem"] for f in fits if f.get("fixed_us_per_problem") is not None}
    for row in rows:
        if row.get("latency_median_s") and row["strategy"] in fixed:
            share = fixed[row["strategy"]] * 1e-6 * row["attention_problems"] / row["latency_median_s"]
            row["overhead_share"] = round(min(share, 1.0), 4)


# -- sweeps -----------------------------------------------------------------------------------------------------
@dataclass
class SweepSettings:
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    frames: tuple[int, ...] = DEFAULT_FRAMES
    grids: tuple[tuple[int, int], ...] = DEFAULT_GRIDS
    dim: int = 512
    heads: int = 8
    batch: int = 1
    window: tuple[int, int, int] = DEFAULT_WINDOW
    impl: str = "sdpa"
    dtype: str = "float32"
    device: str = "cpu"
    scope: str = "core"  # "core": reshapes + attention on projected qkv; "module": projections included
    measure: bool = False
    measure_memory: bool = True
    breakdown: bool = False  # profile each configuration once: the ops that take the time
    threads: int | None = None  # torch.set_num_threads for the sweep (None: leave as is)
    memory_cap_bytes: int | None = None  # None: default_memory_cap(device)
    min_run_time: float = 0.05
    max_run_time: float = 1.0
    matmul_sizes: tuple[int, ...] = (1024, 2048)
    seed: int = 0

    def __post_init__(self) -> None:
        self.strategies = tuple(resolve_strategy(s) for s in self.strategies)
        if self.impl not in ("sdpa", "plain"):
            raise ValueError(f"impl must be sdpa or plain, got {self.impl!r}")
        if self.dtype not in TORCH_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(TORCH_DTYPES)}, got {self.dtype!r}")
        if self.scope not in ("core", "module"):
            raise ValueError(f"scope must be core or module, got {self.scope!r}")


def default_memory_cap(device: str = "cpu") -> int:
    """Half of the memory available now (at most 8 GiB on CPU), so a sweep leaves room for everything else."""
    if torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free * 0.8)
    try:
        with open("/proc/meminfo") as fh:
            available = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        available = 8 * GIB
    return int(min(8 * GIB, available // 2))


def analytic_row(settings: SweepSettings, strategy: str, frames: int, grid: tuple[int, int]) -> dict[str, Any]:
    """The analytic columns of one configuration (status "invalid: ..." when the strategy cannot run on it)."""
    height, width = grid
    tokens = token_count(frames, height, width)
    row: dict[str, Any] = {
        "strategy": strategy, "impl": settings.impl, "dtype": settings.dtype, "device": settings.device,
        "scope": settings.scope, "batch": settings.batch, "frames": frames, "height": height, "width": width,
        "tokens": tokens, "dim": settings.dim, "heads": settings.heads}
    try:
        plan = attention_plan(strategy, frames, height, width, settings.dim, settings.heads, batch=settings.batch,
                              window=settings.window)
    except ValueError as exc:  # e.g. a window that does not tile this grid: the rest of the sweep still runs
        return {**row, "status": f"invalid: {exc}"}
    activations = 4 * settings.batch * tokens * settings.dim * dtype_bytes(settings.dtype)  # q, k, v, output
    row.update({
        "pairs": plan.pairs, "attention_problems": plan.problems, "core_flops": plan.core_flops,
        "module_flops": plan.matmul_flops,
        "flops": plan.core_flops if settings.scope == "core" else plan.matmul_flops,
        "softmax_flops_est": plan.softmax_flops, "score_matrix_bytes": plan.score_matrix_bytes(settings.dtype),
        "plain_attention_bytes": plan.plain_attention_bytes(), "flash_state_bytes": plan.flash_state_bytes(),
        "attention_bytes": plan.attention_bytes(settings.impl),
        "estimated_peak_bytes": plan.attention_bytes(settings.impl) + activations,
        "status": "analytic",
    })
    return row


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "not enough memory" in text)


def _build_call(settings: SweepSettings, strategy: str, frames: int, grid: tuple[int, int]) -> Callable[[], Any]:
    """The callable a configuration times, with its inputs allocated."""
    device, dtype = torch.device(settings.device), TORCH_DTYPES[settings.dtype]
    gen = torch.Generator().manual_seed(settings.seed)
    kwargs: dict[str, Any] = {"impl": settings.impl}
    if strategy == "window":
        kwargs["window"] = settings.window
    module = build_attention(strategy, settings.dim, settings.heads, **kwargs).to(device=device, dtype=dtype).eval()
    B, T, S = settings.batch, frames, grid[0] * grid[1]
    if settings.scope == "core":
        head_dim = settings.dim // settings.heads
        qkv = torch.randn(B, T, S, 3, settings.heads, head_dim, generator=gen).to(device=device, dtype=dtype)

        def call() -> torch.Tensor:
            with torch.inference_mode():
                return module.core(qkv, grid)
    else:
        x = torch.randn(B, T, S, settings.dim, generator=gen).to(device=device, dtype=dtype)

        def call() -> torch.Tensor:
            with torch.inference_mode():
                return module(x, grid)
    return call


def measure_row(settings: SweepSettings, row: dict[str, Any], memory_cap: int,
                peak_flops: float | None) -> dict[str, Any]:
    """Add measured columns (or the reason there are none) to an analytic row."""
    row = dict(row)
    if row["status"] != "analytic":
        return row
    if row["estimated_peak_bytes"] > memory_cap:
        row["status"] = (f"skipped: would need {row['estimated_peak_bytes'] / GIB:.2f} GiB "
                         f"(cap {memory_cap / GIB:.2f} GiB)")
        return row
    call = None
    try:
        call = _build_call(settings, row["strategy"], row["frames"], (row["height"], row["width"]))
        stats = time_callable(call, min_run_time=settings.min_run_time, max_run_time=settings.max_run_time,
                              label=f"{row['strategy']} T={row['frames']}", device=settings.device)
        peak = measure_peak_memory(call, settings.device) if settings.measure_memory else None
        ops = format_breakdown(op_breakdown(call)) if settings.breakdown else None
    except Exception as exc:  # a failing configuration is a result, not a crash of the sweep
        if not _is_oom(exc):
            row["status"] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return row
        row["status"] = f"OOM at {row['tokens']} tokens"
        return row
    finally:
        del call
        if torch.device(settings.device).type == "cuda":
            torch.cuda.empty_cache()
    achieved = row["flops"] / stats.median_s if stats.median_s > 0 else None
    row.update({"status": "ok", "latency_median_s": stats.median_s, "latency_iqr_s": stats.iqr_s,
                "latency_min_s": stats.min_s, "latency_runs": stats.runs, "peak_memory_bytes": peak,
                "achieved_flops_per_s": achieved,
                "fraction_of_peak": achieved / peak_flops if achieved and peak_flops else None,
                "us_per_problem": 1e6 * stats.median_s / row["attention_problems"] if settings.scope == "core"
                else None})
    if ops is not None:
        row["top_ops"] = ops
    return row


@dataclass
class SweepResult:
    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


def environment(device: str = "cpu") -> dict[str, Any]:
    """What produced the numbers: versions, threads, CPU or GPU name."""
    info: dict[str, Any] = {"torch": torch.__version__, "python": platform.python_version(),
                            "threads": torch.get_num_threads(), "machine": platform.machine(),
                            "device": device}
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), None)
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    with contextlib.suppress(Exception):
        from vbench_lite import __version__

        info["vbench_lite"] = __version__
    return info


def run_sweep(settings: SweepSettings, progress: Callable[[dict[str, Any]], None] | None = None) -> SweepResult:
    """Analytic rows for every (strategy, frames, grid); with ``settings.measure`` also latency and memory."""
    started = time.time()
    if settings.threads is not None:
        if settings.threads < 1:
            raise ValueError(f"threads must be at least 1, got {settings.threads}")
        torch.set_num_threads(settings.threads)
    rows = [analytic_row(settings, s, t, g) for g in settings.grids for s in settings.strategies
            for t in settings.frames]
    meta: dict[str, Any] = {"settings": {k: v for k, v in asdict(settings).items()},
                            "environment": environment(settings.device)}
    if settings.measure:
        torch.manual_seed(settings.seed)
        cap = settings.memory_cap_bytes if settings.memory_cap_bytes is not None else default_memory_cap(
            settings.device)
        dtypes = list(dict.fromkeys([settings.dtype, "float32"]))

        def probe(sizes: Sequence[int], budget: float) -> dict[str, dict[str, Any]]:
            return {d: measure_matmul_peak(settings.device, d, sizes, max_run_time=budget) for d in dtypes}

        # A shared machine's throughput drifts: probe the peak before, between strategies and after the sweep,
        # and keep the best probe, so that the fraction of peak is not flattered by one slow probe.
        probes = [probe(settings.matmul_sizes, 0.5)]
        measured = []
        for i, row in enumerate(rows):
            measured.append(measure_row(settings, row, cap, None))
            if progress:
                progress(measured[-1])
            if i + 1 < len(rows) and rows[i + 1]["strategy"] != row["strategy"]:
                probes.append(probe(settings.matmul_sizes[:1], 0.1))
        probes.append(probe(settings.matmul_sizes, 0.5))
        peaks = {d: max((p[d] for p in probes), key=lambda p: p["flops_per_s"]) for d in dtypes}
        peak = peaks[settings.dtype]["flops_per_s"]
        for row in measured:
            if row.get("achieved_flops_per_s"):
                row["fraction_of_peak"] = row["achieved_flops_per_s"] / peak
                row["fraction_of_peak_best"] = row["flops"] / row["latency_min_s"] / peak
        rows = measured
        meta.update({"memory_cap_bytes": cap, "matmul_peak": peaks,
                     "matmul_peak_probes": {d: [round(p[d]["flops_per_s"] / 1e9, 2) for p in probes] for d in dtypes},
                     "peak_memory_method": "cuda max_memory_allocated" if settings.device.startswith("cuda")
                     else ("VmHWM after clear_refs" if cpu_peak_memory_supported() else "unavailable")})
    meta["fits"] = scaling_fits(rows)
    add_overhead_shares(rows, meta["fits"])
    meta["elapsed_s"] = round(time.time() - started, 3)
    return SweepResult(rows, meta)


# -- reports ----------------------------------------------------------------------------------------------------
SUMMARY_COLUMNS = [
    ("strategy", "strategy", str),
    ("frames", "T", str),
    ("grid", "grid", str),
    ("tokens", "tokens", lambda v: f"{v:,}"),
    ("pairs", "pairs/head", sig3),
    ("attention_problems", "problems", lambda v: f"{v:,}"),
    ("core_flops", "core GFLOP", lambda v: f"{v / 1e9:.3f}"),
    ("module_flops", "module GFLOP", lambda v: f"{v / 1e9:.3f}"),
    ("plain_attention_bytes", "plain attn mem", human_bytes),
    ("flash_state_bytes", "flash attn mem", human_bytes),
]
MEASURED_COLUMNS = [
    ("latency_median_s", "median ms", lambda v: f"{v * 1e3:.3f}"),
    ("latency_iqr_s", "IQR ms", lambda v: f"{v * 1e3:.3f}"),
    ("peak_memory_bytes", "peak mem", human_bytes),
    ("achieved_flops_per_s", "GFLOP/s", lambda v: f"{v / 1e9:.1f}"),
    ("fraction_of_peak", "% peak", lambda v: f"{100 * v:.1f}"),
    ("fraction_of_peak_best", "best %", lambda v: f"{100 * v:.1f}"),
    ("us_per_problem", "us/problem", lambda v: f"{v:.2f}"),
    ("status", "status", lambda v: v if len(v) <= 72 else v[:69] + "..."),
]


def _cell(row: dict[str, Any], key: str, fmt: Callable[[Any], str]) -> str:
    value = f"{row['height']}x{row['width']}" if key == "grid" else row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt(value)


def format_rows(rows: Sequence[dict[str, Any]], measured: bool | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the summary table (measured columns when any row was measured)."""
    if measured is None:
        measured = any(not str(r.get("status", "analytic")).startswith(("analytic", "invalid")) for r in rows)
    columns = SUMMARY_COLUMNS + (MEASURED_COLUMNS if measured else MEASURED_COLUMNS[-1:])
    if any(r.get("top_ops") for r in rows):
        columns = [*columns[:-1], ("top_ops", "top ops (self time)", str), columns[-1]]
    return [c[1] for c in columns], [[_cell(r, key, fmt) for key, _, fmt in columns] for r in rows]


def text_table(header: Sequence[str], cells: Sequence[Sequence[str]], left: Sequence[str] = ("strategy", "status",
                                                                                           "model")) -> str:
    """A fixed-width table: numbers right-aligned, the named text columns left-aligned."""
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if h in left else v.rjust(w)
                         for v, w, h in zip(values, widths, header)).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(c) for c in cells)])


def markdown_table(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header)))
             + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines)


def _as_rows(df_or_rows: Any) -> list[dict[str, Any]]:
    if hasattr(df_or_rows, "to_dict"):
        records = df_or_rows.to_dict(orient="records")
        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in records]
    return [dict(r) for r in df_or_rows]


def write_attention_report(df_or_rows: Any, out_dir: str | Path, meta: dict[str, Any] | None = None
                           ) -> dict[str, Path]:
    """Write ``attention.csv``, ``attention.md``, ``attention_meta.json`` and plots into ``out_dir``.

    Returns the paths by kind: ``csv``, ``markdown``, ``meta``, ``plot_cost_vs_frames`` and, when latencies were
    measured, ``plot_latency_vs_tokens``. Accepts a pandas DataFrame or a list of row dicts from :func:`run_sweep`.
    """
    import pandas as pd

    rows = _as_rows(df_or_rows)
    if not rows:
        raise ValueError("write_attention_report: no rows to report")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    meta.setdefault("fits", scaling_fits(rows))
    paths: dict[str, Path] = {"csv": out / "attention.csv", "markdown": out / "attention.md",
                              "meta": out / "attention_meta.json"}
    pd.DataFrame(rows).to_csv(paths["csv"], index=False)
    paths["meta"].write_text(json.dumps(meta, indent=2, default=str) + "\n")
    paths.update(_plots(rows, out))
    paths["markdown"].write_text(_markdown(rows, meta, {k: p.name for k, p in paths.items()}))
    return paths


def _markdown(rows: list[dict[str, Any]], meta: dict[str, Any], names: dict[str, str]) -> str:
    header, cells = format_rows(rows)
    parts = ["# Attention cost", ""]
    env = meta.get("environment")
    if env:
        parts.append("Produced by " + ", ".join(f"{k} {v}" for k, v in env.items() if v is not None) + ".")
    settings = meta.get("settings")
    if settings:
        keep = ("dim", "heads", "batch", "impl", "dtype", "device", "scope", "window")
        parts.append("Settings: " + ", ".join(f"{k}={settings[k]}" for k in keep if k in settings) + ".")
    for dtype, peak in (meta.get("matmul_peak") or {}).items():
        parts.append(f"Measured dense matmul peak ({dtype}, n={peak.get('n')}): "
                     f"{peak['flops_per_s'] / 1e9:.1f} GFLOP/s.")
    parts += ["", "FLOPs are matmul FLOPs (2 per multiply-add); pairs are query-key pairs per head; 'plain attn "
              "mem' is the analytic peak of live score and softmax matrices of the plain path, 'flash attn mem' the "
              "per-row softmax statistics a flash-style kernel keeps instead.", "", markdown_table(header, cells), ""]
    fits = meta.get("fits") or []
    if fits:
        keys = ("analytic_exponent", "measured_exponent", "measured_r2", "points", "fixed_us_per_problem",
                "marginal_gflop_per_s")
        parts += ["## Scaling exponents and overhead fit", "",
                  "Exponents: log-log least squares of analytic FLOPs and of measured latency against tokens. "
                  "Overhead fit: latency = fixed cost x problems + FLOPs / marginal rate (non-negative least "
                  "squares; only where problems and FLOPs vary independently over the sweep).", "",
                  markdown_table(["strategy", "analytic exp.", "measured exp.", "R^2", "points",
                                  "fixed us/problem", "marginal GFLOP/s"],
                                 [[f["strategy"], *("-" if f.get(k) is None else str(f[k]) for k in keys)]
                                  for f in fits]), ""]
    plots = [names[k] for k in ("plot_cost_vs_frames", "plot_latency_vs_tokens") if k in names]
    if plots:
        parts += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(parts)


def _plots(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: dict[str, Path] = {}
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    grids = list(dict.fromkeys((r["height"], r["width"]) for r in rows))
    styles = ["-", "--", ":", "-."]
    timed = [r for r in rows if r.get("latency_median_s")]
    panels = 2 if timed else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.5), squeeze=False)
    for gi, grid in enumerate(grids):
        for si, strategy in enumerate(strategies):
            color = f"C{si % 10}"
            mine = sorted((r for r in rows if r["strategy"] == strategy and (r["height"], r["width"]) == grid),
                          key=lambda r: r["frames"])
            label = strategy if len(grids) == 1 else f"{strategy} {grid[0]}x{grid[1]}"
            axes[0][0].plot([r["frames"] for r in mine], [max(r["flops"], 1) for r in mine], styles[gi % 4],
                            color=color, marker="o", label=label)
            mine_t = [r for r in mine if r.get("latency_median_s")]
            if panels == 2 and mine_t:
                axes[0][1].plot([r["frames"] for r in mine_t], [r["latency_median_s"] * 1e3 for r in mine_t],
                                styles[gi % 4], color=color, marker="o", label=label)
    axes[0][0].set(xscale="log", yscale="log", xlabel="frames T", ylabel="analytic matmul FLOPs (timed scope)",
                   title="Attention cost vs frames")
    if panels == 2:
        axes[0][1].set(xscale="log", yscale="log", xlabel="frames T", ylabel="median latency (ms)",
                       title="Measured latency vs frames")
    for ax in axes[0]:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths["plot_cost_vs_frames"] = out / "attention_cost_vs_frames.png"
    fig.savefig(paths["plot_cost_vs_frames"], dpi=110)
    plt.close(fig)
    if timed:
        fits = {f["strategy"]: f for f in scaling_fits(rows)}
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for si, strategy in enumerate(strategies):
            mine = sorted((r for r in timed if r["strategy"] == strategy), key=lambda r: r["tokens"])
            if not mine:
                continue
            slope = fits[strategy]["measured_exponent"]
            label = strategy if slope is None else f"{strategy} (slope {slope:.2f})"
            ax.plot([r["tokens"] for r in mine], [r["latency_median_s"] * 1e3 for r in mine], marker="o",
                    color=f"C{si % 10}", label=label)
        ax.set(xscale="log", yscale="log", xlabel="tokens N", ylabel="median latency (ms)",
               title="Latency vs tokens (log-log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths["plot_latency_vs_tokens"] = out / "attention_latency_vs_tokens.png"
        fig.savefig(paths["plot_latency_vs_tokens"], dpi=110)
        plt.close(fig)
    return paths
