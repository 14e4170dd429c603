"""What the CPU can do that changes a metric's speed or numbers (recorded in results, never assumed)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic: x86 AVX-512 BF16 or AMX-BF16, Arm's BF16 extension.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


def cpu_native_bf16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool | None:
    """Whether this CPU computes bfloat16 natively: ``True``/``False``, or ``None`` when it cannot be told.

    Without native support oneDNN emulates bfloat16 convolutions (convert, compute in float32, round): 1.6x-2.5x
    slower than float32 instead of ~2.5x faster, and FVD moves further from float32 (+1.3% to +1.4% on the mildest
    blur of tests/metrics/test_fvd.py, against +0.9% with AVX-512 BF16). ``torch.backends.cpu.get_cpu_capability()``
    says "AVX512" on both kinds of CPU, so the kernel's flag list is read.
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):  # x86 "flags", arm64 "Features"
            flags.update(value.split())
    if not flags:
        return None
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def default_device() -> str:
    """Where model metrics run unless told otherwise: the GPU when torch sees one."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def tf32_policy(device, allow: bool) -> Iterator[None]:
    """On CUDA, TF32 matmuls and cuDNN convolutions exactly as asked for the duration, restored afterwards.

    PyTorch's defaults (cuDNN TF32 on, matmul TF32 off) moved FVD by 2.3e-5 relative and broke batched == single
    at 1e-5 on an H200 (issue 14): model metrics run in exact float32 on GPUs unless a metric offers an opt-in
    (``fvd.tf32=true``), so GPU and CPU features agree to float32 rounding and may share a cache.
    """
    import torch

    if torch.device(device).type != "cuda":
        yield
        return
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(allow)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
