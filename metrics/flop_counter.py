"""FLOP counting with ``torch.utils.flop_counter.FlopCounterMode``, fused attention on CPU included.

``FlopCounterMode`` counts matmul-like ops only (mm, addmm, bmm, convolutions, the fused attention kernels), at
2 FLOPs per multiply-add; elementwise ops (softmax, scaling, norms, activations) count 0.

``F.scaled_dot_product_attention`` on CPU dispatches to ``aten._scaled_dot_product_flash_attention_for_cpu``.
A torch build whose FLOP registry has no formula for that op counts 0 for every fused attention on CPU.
Checked on torch 2.15.0: the stock registry *does* hold one (``sdpa_flop``, registered together with the CUDA
flash, efficient and cuDNN kernels), so stock counting is already right there; tests pin this down either way.
:func:`register_sdpa_cpu_flop_formula` adds our formula only where torch lacks one, and :func:`count_flops`
always counts with it, so the numbers are the same on every torch we support.

The formula, for ``q: (B, h, Lq, d)``, ``k: (B, h_kv, Lk, d)``, ``v: (B, h_kv, Lk, dv)`` (grouped-query heads
are broadcast to ``h``): ``2*B*h*Lq*Lk*d`` for ``q k^T`` plus ``2*B*h*Lq*Lk*dv`` for ``softmax(.) v``, exactly what
the same computation written as two ``bmm`` calls is counted as.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

SDPA_CPU_OP = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu


def sdpa_cpu_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of one fused attention call from the shapes of q, k and v (causal masks are not discounted)."""
    batch, heads, q_len, head_dim = query_shape
    k_len = key_shape[-2]
    v_dim = value_shape[-1]
    return 2 * batch * heads * q_len * k_len * head_dim + 2 * batch * heads * q_len * k_len * v_dim


def stock_counts_sdpa_on_cpu() -> bool:
    """Whether this torch's FLOP registry has a formula for the CPU fused-attention op."""
    return SDPA_CPU_OP in flop_counter.flop_registry


def register_sdpa_cpu_flop_formula() -> bool:
    """Register :func:`sdpa_cpu_flops` for the CPU fused-attention op unless torch has a formula; True if we did.

    ``FlopCounterMode`` copies the registry when it is created, so register before creating one.
    """
    if stock_counts_sdpa_on_cpu():
        return False
    flop_counter.register_flop_formula(SDPA_CPU_OP)(sdpa_cpu_flops)
    return True


@dataclass
class FlopCount:
    """Total matmul FLOPs of a call and their split by aten op name."""

    total: int
    by_op: dict[str, int] = field(default_factory=dict)
    result: Any = None

    @property
    def macs(self) -> int:
        return self.total // 2


def count_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> FlopCount:
    """Run ``fn(*args, **kwargs)`` under ``FlopCounterMode`` (with the CPU attention formula) and count."""
    register_sdpa_cpu_flop_formula()
    with FlopCounterMode(display=False) as mode:
        result = fn(*args, **kwargs)
    by_op = {str(op).rsplit(".", 1)[-1]: int(n) for op, n in mode.get_flop_counts().get("Global", {}).items()}
    return FlopCount(total=int(mode.get_total_flops()), by_op=by_op, result=result)
