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

import numpy as np
import torch

from metrics.attention_cost import attention_plan, dtype_bytes, token_count
from reference_models.attention import ATTENTION_STRATEGIES, DEFAULT_WINDOW, build_attention, resolve_strategy
from reports.attention_report import sweep_markdown, sweep_plots
from vbench_lite.lab.attention_measure import (
    TORCH_DTYPES,
    cpu_peak_memory_supported,
    format_breakdown,
    measure_matmul_peak,
    measure_peak_memory,
    op_breakdown,
    time_callable,
)

DEFAULT_STRATEGIES = tuple(ATTENTION_STRATEGIES)
DEFAULT_FRAMES = (4, 8, 16)
DEFAULT_GRIDS = ((16, 16),)
GIB = 2**30


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
