"""The roofs of the attention lab: a compute roof that is really the top, and a measured memory bandwidth.

- **Compute roof**: dense square matmuls of growing size ``n`` (doubling from ``start``) until the throughput
  stops rising (less than ``gain`` better than the best so far, twice in a row), ``max_n`` is reached or the
  operands would exceed the memory budget; the roof is the fastest timed block of the best size, reported with
  that size. A fixed 2048^3 probe read 666 TFLOP/s on an H200 whose 8192^3 bf16 matmul runs at 796 (issue 20):
  the growing probe does not stop at the first size.
- **Memory bandwidth**: a device-to-device copy ``dst.copy_(src)`` of ``copy_bytes``, counted as read + write
  (``2 x bytes`` per copy), fastest timed block. On CPU the buffers are sized well above the last-level cache.
- **Roofline per row** (:func:`add_roofline`): ``bound = min(roof, intensity x bandwidth)`` with the analytic
  intensity of :meth:`metrics.attention_cost.CostPlan.arithmetic_intensity`; ``fraction_of_roofline`` = achieved
  / bound, beside ``fraction_of_peak`` = achieved / compute roof.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from metrics.attention_cost import ridge_point, roofline_bound
from vbench_lite.lab.attention_measure import TORCH_DTYPES, time_callable


def measure_matmul_roof(device: str = "cpu", dtype: str = "float32", *, start: int = 256, max_n: int | None = None,
                        gain: float = 0.03, sizes: Sequence[int] | None = None, max_run_time: float = 0.3,
                        memory_budget: int | None = None) -> dict[str, Any]:
    """Peak FLOP/s of ``n x n @ n x n`` (``2 n^3`` FLOPs) with ``n`` grown until throughput is flat.

    ``sizes`` pins the sizes instead (tests, quick runs). Returns ``flops_per_s``, ``n`` (the best size) and
    ``probed`` (``[n, FLOP/s]`` of every size tried)."""
    is_cuda = torch.device(device).type == "cuda"
    max_n = max_n or (16384 if is_cuda else 2048)
    budget = memory_budget or (8 * 2**30 if is_cuda else 2**30)
    elem = torch.empty((), dtype=TORCH_DTYPES[dtype]).element_size()
    plan = list(sizes) if sizes else []
    if not plan:
        n = start
        while n <= max_n and 3 * n * n * elem <= budget:
            plan.append(n)
            n *= 2
    best: dict[str, Any] = {"dtype": dtype, "device": device, "flops_per_s": 0.0, "n": None, "probed": []}
    flat = 0
    for n in plan:
        a = torch.randn(n, n, device=device).to(TORCH_DTYPES[dtype])
        b = torch.randn(n, n, device=device).to(TORCH_DTYPES[dtype])
        stats = time_callable(lambda a=a, b=b: a @ b, min_run_time=0.02, max_run_time=max_run_time,
                              label=f"matmul {n}", device=device)
        rate = 2 * n**3 / stats.min_s
        best["probed"].append([n, rate])
        if rate > best["flops_per_s"] * (1 + gain):
            flat = 0
        else:
            flat += 1
        if rate > best["flops_per_s"]:
            best.update(n=n, min_s=stats.min_s, median_s=stats.median_s, flops_per_s=rate,
                        median_flops_per_s=2 * n**3 / stats.median_s)
        del a, b
        if flat >= 2 and not sizes:
            break
    return best


def measure_copy_bandwidth(device: str = "cpu", *, copy_bytes: int | None = None,
                           max_run_time: float = 0.3) -> dict[str, Any]:
    """Bytes/s of a device-to-device copy (read + write counted)."""
    is_cuda = torch.device(device).type == "cuda"
    size = copy_bytes or (2 * 2**30 if is_cuda else 256 * 2**20)
    src = torch.ones(size // 4, device=device)
    dst = torch.empty_like(src)
    stats = time_callable(lambda: dst.copy_(src), min_run_time=0.02, max_run_time=max_run_time, label="copy",
                          device=device)
    moved = 2 * src.numel() * src.element_size()
    return {"device": device, "bytes": moved // 2, "bytes_per_s": moved / stats.min_s,
            "median_bytes_per_s": moved / stats.median_s}


def add_roofline(rows: list[dict[str, Any]], peak_flops_per_s: float, bandwidth_bytes_per_s: float) -> None:
    """Add ``roofline_flops_per_s``, ``bound`` (compute or memory) and ``fraction_of_roofline`` to measured rows
    that carry ``arithmetic_intensity``; rows without a latency get the bound only."""
    ridge = ridge_point(peak_flops_per_s, bandwidth_bytes_per_s)
    for row in rows:
        intensity = row.get("arithmetic_intensity")
        if intensity is None:
            continue
        bound = roofline_bound(intensity, peak_flops_per_s, bandwidth_bytes_per_s)
        row["roofline_flops_per_s"] = bound
        row["bound"] = "compute" if intensity >= ridge else "memory"
        if row.get("achieved_flops_per_s"):
            row["fraction_of_roofline"] = row["achieved_flops_per_s"] / bound
