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
