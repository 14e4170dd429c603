"""metrics/hardware.py: what the CPU can do, read from its flags."""

from __future__ import annotations

from pathlib import Path

from metrics.hardware import cpu_native_bf16


def test_the_cpu_flags_tell_native_bfloat16(tmp_path):
    def cpu(text: str) -> Path:
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        return path

    assert cpu_native_bf16(cpu("processor : 0\nflags : fpu avx2 avx512f avx512bw avx512_bf16 amx_tile\n")) is True
    assert cpu_native_bf16(cpu("flags\t\t: fpu avx2 amx_bf16 amx_tile\n")) is True
    # The CI machine of issue 12: AVX-512, but no AVX-512 BF16.
    assert cpu_native_bf16(cpu("flags : fpu avx2 avx512f avx512bw avx512vl avx512_vnni\n")) is False
    assert cpu_native_bf16(cpu("Features : fp asimd bf16 i8mm\n")) is True  # arm64
    assert cpu_native_bf16(cpu("Features : fp asimd\n")) is False
    assert cpu_native_bf16(cpu("model name : something\n")) is None
    assert cpu_native_bf16(tmp_path / "absent") is None
