"""pytest-benchmark suite of the attention strategies (reference_models/attention.py), for CI regression gates.

It lives outside ``tests/`` so the normal test run skips it, and ``pyproject.toml`` disables benchmarks by default
(``--benchmark-disable``), so enable them explicitly. Save a baseline once, then compare and fail on regressions::

    pytest benchmarks/test_attention_bench.py --benchmark-enable --benchmark-autosave
    pytest benchmarks/test_attention_bench.py --benchmark-enable --benchmark-compare \\
        --benchmark-compare-fail=median:15%

``--benchmark-compare`` without a value compares with the latest saved run of this machine (``.benchmarks/``);
name one with ``--benchmark-compare=0001``. Select a subset with ``-k``, e.g. ``-k "temporal and sdpa"``.

What is timed: ``VideoAttention.core`` (the strategy's reshapes and attention on projected qkv) at one size per
strategy, fused (``sdpa``) and explicit (``plain``) paths, float32, plus the whole module forward for the five
strategies the reference DiT offers. ``extra_info`` carries the analytic FLOPs and achieved GFLOP/s, so saved runs
are comparable across sizes. Sizes are small enough for a 2-core CPU (each case well under a second).
"""

from __future__ import annotations

import pytest
import torch

from metrics.attention_cost import attention_plan
from reference_models.attention import ATTENTION_STRATEGIES, build_attention

T, H, W, DIM, HEADS, WINDOW = 8, 16, 16, 256, 4, (4, 8, 8)
DIT_STRATEGIES = ["full", "spatial", "temporal", "divided", "window"]


def _module(strategy: str, impl: str):
    torch.manual_seed(0)
    kwargs = {"window": WINDOW} if strategy == "window" else {}
    return build_attention(strategy, DIM, HEADS, impl=impl, **kwargs).eval()


def _run(benchmark, fn, flops: int) -> None:
    with torch.inference_mode():
        benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update({"flops": flops, "tokens": T * H * W, "threads": torch.get_num_threads(),
                                 "gflop_per_s": flops / benchmark.stats.stats.median / 1e9})


@pytest.mark.parametrize("impl", ["sdpa", "plain"])
@pytest.mark.parametrize("strategy", list(ATTENTION_STRATEGIES))
def test_core(benchmark, strategy, impl):
    module = _module(strategy, impl)
    qkv = torch.randn(1, T, H * W, 3, HEADS, DIM // HEADS)
    plan = attention_plan(strategy, T, H, W, DIM, HEADS, window=WINDOW)
    benchmark.group = f"core T={T} grid={H}x{W} C={DIM}"
    _run(benchmark, lambda: module.core(qkv, (H, W)), plan.core_flops)


@pytest.mark.parametrize("strategy", DIT_STRATEGIES)
def test_module(benchmark, strategy):
    module = _module(strategy, "sdpa")
    x = torch.randn(1, T, H * W, DIM)
    plan = attention_plan(strategy, T, H, W, DIM, HEADS, window=WINDOW)
    benchmark.group = f"module T={T} grid={H}x{W} C={DIM}"
    _run(benchmark, lambda: module(x, (H, W)), plan.matmul_flops)


# -- goals of issue 20 (benchmarks, never timed tests) -----------------------------------------------------------
# Run with --benchmark-enable; with benchmarks disabled (the default) they skip. Each measures the roof in the same
# process (vbench_lite/lab/attention_roofline.py) and asserts the goal as a fraction of it.
def _goal_setup(benchmark):
    if benchmark.disabled:
        pytest.skip("goal benchmarks run with --benchmark-enable")
    from vbench_lite.lab import attention_roofline

    return attention_roofline


def _best_of(fn) -> float:
    from vbench_lite.lab.attention_measure import time_callable

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return time_callable(fn, min_run_time=0.1, max_run_time=2.0, device=device).min_s


def test_goal_cpu_full_attention_at_75_percent_of_fp32_peak(benchmark):
    """On the CPU: full attention (fused SDPA, fp32, 4096 tokens, head dim 64) >= 75% of the measured fp32 roof."""
    roof = _goal_setup(benchmark)
    peak = roof.measure_matmul_roof("cpu", "float32")["flops_per_s"]
    qkv = torch.randn(1, 4, 32 * 32, 3, 8, 64)
    module = build_attention("full", 512, 8).eval()
    with torch.inference_mode():
        seconds = _best_of(lambda: module.core(qkv, (32, 32)))
    achieved = attention_plan("full", 4, 32, 32, 512, 8).core_flops / seconds
    benchmark.extra_info.update({"fraction_of_peak": achieved / peak, "peak_gflop_per_s": peak / 1e9})
    benchmark.pedantic(lambda: None, rounds=1)
    assert achieved / peak >= 0.75, f"full attention at {100 * achieved / peak:.1f}% of the fp32 roof (goal 75%)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU goals need CUDA")
@pytest.mark.parametrize("head_dim", [128, 64])
def test_goal_gpu_full_attention_at_70_percent_of_bf16_roof(benchmark, head_dim):
    """H100/H200: full attention >= 70% of the measured bf16 roof at 16k tokens, best SDPA backend (64: reported)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    roof = _goal_setup(benchmark)
    peak = roof.measure_matmul_roof("cuda", "bfloat16")["flops_per_s"]
    heads, n = 2048 // head_dim, 16 * 32 * 32
    q, k, v = (torch.randn(1, heads, n, head_dim, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    fractions = {}
    for backend in (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
        try:
            with sdpa_kernel(backend):
                seconds = _best_of(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v))
        except RuntimeError:
            continue
        fractions[backend.name] = 4 * heads * head_dim * n * n / seconds / peak
    benchmark.extra_info.update({"fractions": fractions, "peak_tflop_per_s": peak / 1e12})
    benchmark.pedantic(lambda: None, rounds=1)
    if head_dim == 128:
        assert max(fractions.values()) >= 0.70, fractions


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU goals need CUDA")
@pytest.mark.parametrize("strategy", ["temporal", "window", "packed"])
def test_goal_gpu_sparse_strategies_at_50_percent_of_their_roofline(benchmark, strategy):
    """H100/H200: temporal, window and packed through the fused flex path >= 50% of their roofline bound."""
    from vbench_lite.lab.attention_sweep import SweepSettings, run_sweep

    _goal_setup(benchmark)
    settings = SweepSettings(strategies=(strategy,), frames=(64,), grids=((32, 32),), dim=2048, heads=16,
                             impl="flex", flex_layout="grouped", dtype="bfloat16", device="cuda", measure=True,
                             measure_memory=False)
    row = run_sweep(settings).rows[0]
    benchmark.extra_info.update({k: row.get(k) for k in ("fraction_of_roofline", "arithmetic_intensity", "status")})
    benchmark.pedantic(lambda: None, rounds=1)
    assert row["status"] == "ok" and row["fraction_of_roofline"] >= 0.5, row
