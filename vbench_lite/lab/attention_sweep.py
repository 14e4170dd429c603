"""The attention-cost sweep: analytic and measured rows for every (strategy, frames, grid), scaling fits, files.

``vbench-lite attention --measure`` and the demo run it; the measuring primitives are
:mod:`vbench_lite.lab.attention_measure` (its docstring says how each number is measured), the analytic counts
:mod:`metrics.attention_cost`, the tables and charts :mod:`reports.attention_report`.
"""

from __future__ import annotations

import contextlib
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from metrics.attention_cost import attention_plan, dtype_bytes, packed_plan, padded_plan, token_count
from reference_models.attention import ATTENTION_STRATEGIES, DEFAULT_WINDOW, IMPLS, build_attention, resolve_strategy
from reference_models.attention_flex import LAYOUTS, computed_pairs, flex_options
from reference_models.packing import navit_clip_mix, packed_attention, padded_attention
from reports.attention_report import sweep_markdown, sweep_plots
from vbench_lite.lab.attention_fits import (  # noqa: F401  (re-exported: the sweep's public names)
    OverheadFit,
    ScalingFit,
    add_overhead_shares,
    fit_overhead,
    fit_scaling_exponent,
    scaling_fits,
)
from vbench_lite.lab.attention_measure import (
    TORCH_DTYPES,
    cpu_peak_memory_supported,
    format_breakdown,
    measure_peak_memory,
    op_breakdown,
    time_callable,
)
from vbench_lite.lab.attention_roofline import add_roofline, measure_copy_bandwidth, measure_matmul_roof

DEFAULT_STRATEGIES = tuple(ATTENTION_STRATEGIES)
#: NaViT packing as sweep strategies: the clip mix of reference_models.packing.navit_clip_mix in one sequence with
#: a block-diagonal mask ("packed"), or padded to the longest clip and batched ("padded").
PACKING_STRATEGIES = ("packed", "padded")
SDPA_BACKENDS = ("auto", "flash", "efficient", "cudnn", "math")
FLEX_TILE_COUNT_MAX_TOKENS = 65536  # building a block mask evaluates the mask on every (q, k) pair
DEFAULT_FRAMES = (4, 8, 16)
DEFAULT_GRIDS = ((16, 16),)
GIB = 2**30


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
    matmul_sizes: tuple[int, ...] = ()  # empty: grow the matmul until its throughput is flat (the roof)
    matmul_max_n: int | None = None  # largest probe (default 2048 on CPU, 16384 on CUDA)
    copy_bytes: int | None = None  # bandwidth probe size (default 256 MiB on CPU, 2 GiB on CUDA)
    sdpa_backend: str = "auto"  # auto, flash, efficient, cudnn, math (torch.nn.attention.sdpa_kernel)
    flex_compile: bool = True  # impl flex: torch.compile'd fused kernel (False: flex's eager reference)
    flex_layout: str = "frame"  # impl flex: frame-major tokens, or grouped (each group contiguous)
    flex_block_size: int = 128  # impl flex: tile side of the block mask (temporal groups of T tokens fill T/128)
    seed: int = 0

    def __post_init__(self) -> None:
        try:
            self.strategies = tuple(s if s in PACKING_STRATEGIES else resolve_strategy(s) for s in self.strategies)
        except ValueError as exc:
            raise ValueError(f"{exc}; sweep-only: {', '.join(PACKING_STRATEGIES)}") from None
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {', '.join(IMPLS)}, got {self.impl!r}")
        if self.sdpa_backend not in SDPA_BACKENDS:
            raise ValueError(f"sdpa backend must be one of {', '.join(SDPA_BACKENDS)}, got {self.sdpa_backend!r}")
        if self.flex_layout not in LAYOUTS:
            raise ValueError(f"flex layout must be one of {', '.join(LAYOUTS)}, got {self.flex_layout!r}")
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
        "tokens": tokens, "dim": settings.dim, "heads": settings.heads, "sdpa_backend": settings.sdpa_backend}
    if settings.impl == "flex":
        row.update(flex_layout=settings.flex_layout, flex_block_size=settings.flex_block_size)
    try:
        if strategy in PACKING_STRATEGIES:
            clips = navit_clip_mix(frames, grid)
            plan = (packed_plan if strategy == "packed" else padded_plan)(clips, settings.dim, settings.heads)
            useful = packed_plan(clips, settings.dim, settings.heads)
            tokens = sum(t * h * w for t, h, w in clips)
            row.update(tokens=tokens, clips=" + ".join(f"{t}x{h}x{w}" for t, h, w in clips),
                       useful_core_flops=useful.core_flops)
        else:
            plan = attention_plan(strategy, frames, height, width, settings.dim, settings.heads,
                                  batch=settings.batch, window=settings.window)
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
        "bytes_moved": plan.bytes_moved(settings.dtype),
        "arithmetic_intensity": plan.arithmetic_intensity(settings.dtype) if settings.scope == "core" else None,
        "estimated_peak_bytes": plan.attention_bytes(settings.impl) + activations,
        "status": "analytic",
    })
    if settings.impl == "flex" and strategy not in PACKING_STRATEGIES and tokens <= FLEX_TILE_COUNT_MAX_TOKENS:
        with contextlib.suppress(ValueError):  # factorised_encoder has no single-sequence flex form
            computed = computed_pairs(strategy, frames, grid, heads=settings.heads, window=settings.window,
                                      layout=settings.flex_layout, block_size=settings.flex_block_size) * settings.batch
            row["flex_computed_core_flops"] = 4 * settings.dim * computed
            row["flex_tile_fill"] = plan.core_flops / row["flex_computed_core_flops"]
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
    if strategy in PACKING_STRATEGIES:
        head_dim = settings.dim // settings.heads
        clips = [torch.randn(t * h * w, 3, settings.heads, head_dim, generator=gen).to(device=device, dtype=dtype)
                 for t, h, w in navit_clip_mix(frames, grid)]
        run = packed_attention if strategy == "packed" else padded_attention
        impl = "sdpa" if strategy == "padded" and settings.impl == "flex" else settings.impl

        def call() -> Any:
            with torch.inference_mode():
                return run(clips, impl)
        return _with_kernel_choice(settings, call)
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
    return _with_kernel_choice(settings, call)


def _with_kernel_choice(settings: SweepSettings, call: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``call`` under the chosen SDPA backend and flex options (an unavailable backend fails the row)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}

    def chosen() -> Any:
        with contextlib.ExitStack() as stack:
            if settings.sdpa_backend != "auto":
                stack.enter_context(sdpa_kernel(backends[settings.sdpa_backend]))
            if settings.impl == "flex":
                stack.enter_context(flex_options(compile=settings.flex_compile, layout=settings.flex_layout,
                                                 block_size=settings.flex_block_size))
            return call()
    return chosen


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
            return {d: measure_matmul_roof(settings.device, d, sizes=sizes or None, max_n=settings.matmul_max_n,
                                           max_run_time=budget) for d in dtypes}

        # A shared machine's throughput drifts: probe the roof before (growing the matmul until it is flat),
        # between strategies and after the sweep at the size found, and keep the best probe, so that the
        # fraction of peak is not flattered by one slow probe.
        probes = [probe(settings.matmul_sizes, 0.5)]
        roof_n = {d: probes[0][d]["n"] for d in dtypes}
        bandwidth = measure_copy_bandwidth(settings.device, copy_bytes=settings.copy_bytes)
        measured = []
        for i, row in enumerate(rows):
            measured.append(measure_row(settings, row, cap, None))
            if progress:
                progress(measured[-1])
            if i + 1 < len(rows) and rows[i + 1]["strategy"] != row["strategy"]:
                probes.append({d: measure_matmul_roof(settings.device, d, sizes=[roof_n[d]], max_run_time=0.1)
                               for d in dtypes})
        probes.append({d: measure_matmul_roof(settings.device, d, sizes=[roof_n[d]], max_run_time=0.5)
                       for d in dtypes})
        peaks = {d: max((p[d] for p in probes), key=lambda p: p["flops_per_s"]) for d in dtypes}
        peak = peaks[settings.dtype]["flops_per_s"]
        for row in measured:
            if row.get("achieved_flops_per_s"):
                row["fraction_of_peak"] = row["achieved_flops_per_s"] / peak
                row["fraction_of_peak_best"] = row["flops"] / row["latency_min_s"] / peak
        add_roofline(measured, peak, bandwidth["bytes_per_s"])
        rows = measured
        meta.update({"memory_cap_bytes": cap, "matmul_peak": peaks, "copy_bandwidth": bandwidth,
                     "matmul_peak_probes": {d: [round(p[d]["flops_per_s"] / 1e9, 2) for p in probes] for d in dtypes},
                     "peak_memory_method": "cuda max_memory_allocated" if settings.device.startswith("cuda")
                     else ("VmHWM after clear_refs" if cpu_peak_memory_supported() else "unavailable")})
    meta["fits"] = scaling_fits(rows)
    add_overhead_shares(rows, meta["fits"])
    meta["elapsed_s"] = round(time.time() - started, 3)
    return SweepResult(rows, meta)


# -- files ------------------------------------------------------------------------------------------------------
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
    paths.update(sweep_plots(rows, meta["fits"], out))
    paths["markdown"].write_text(sweep_markdown(rows, meta, {k: p.name for k, p in paths.items()}))
    return paths
