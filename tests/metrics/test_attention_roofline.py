"""Roofline arithmetic (metrics/attention_cost.py), the roof probes (vbench_lite/lab/attention_roofline.py), and
the sweep's roofline, flex, SDPA-backend and packing rows, on hand cases and tiny CPU runs."""

from __future__ import annotations

import math

import pytest

import vbench_lite.lab.attention_roofline as roof
from metrics.attention_cost import (
    attention_plan,
    core_plan,
    packed_plan,
    padded_plan,
    ridge_point,
    roofline_bound,
)
from vbench_lite.lab.attention_measure import LatencyStats
from vbench_lite.lab.attention_sweep import SweepSettings, run_sweep

TINY = {"frames": (2,), "grids": ((4, 4),), "dim": 32, "heads": 4, "window": (2, 2, 2), "min_run_time": 0.002,
        "max_run_time": 0.02, "matmul_sizes": (64,), "copy_bytes": 2**20, "measure": True, "measure_memory": False}


def test_roofline_bound_on_hand_cases():
    # peak 100 FLOP/s, 10 B/s: ridge at 10 FLOP/B; below it the memory roof, above it the compute roof
    assert ridge_point(100.0, 10.0) == 10.0
    assert roofline_bound(2.0, 100.0, 10.0) == 20.0
    assert roofline_bound(10.0, 100.0, 10.0) == 100.0
    assert roofline_bound(50.0, 100.0, 10.0) == 100.0
    with pytest.raises(ValueError):
        roofline_bound(1.0, 0.0, 10.0)


@pytest.mark.parametrize("T,expected_tflops", [(16, 33.7), (64, 134.7)])
def test_temporal_memory_roof_of_the_issue_h200_probe(T, expected_tflops):
    """Issue 20: temporal attention, bf16, 16 heads x 64, 4.21 TB/s copy bandwidth: roofs of ~34 (T=16) and ~135
    TFLOP/s (T=64). By hand: FLOPs 4*C*S*T^2, bytes 4*S*T*C*2, intensity T/2 FLOP/B."""
    plan = core_plan("temporal", T, 32, 32, 1024, 16)
    assert plan.bytes_moved("bfloat16") == 4 * 32 * 32 * T * 1024 * 2
    assert plan.arithmetic_intensity("bfloat16") == T / 2
    bound = roofline_bound(plan.arithmetic_intensity("bfloat16"), 783e12, 4.21e12)
    assert bound / 1e12 == pytest.approx(expected_tflops, abs=0.05)


def test_intensity_of_full_and_window_and_divided():
    # full: 4*C*N^2 FLOPs over 4*N*C*4 bytes (fp32) = N/4; window: volume/4; divided: two calls, bytes add up
    N = 4 * 8 * 8
    assert core_plan("full", 4, 8, 8, 64, 4).arithmetic_intensity("float32") == N / 4
    assert core_plan("window", 4, 8, 8, 64, 4, window=(2, 4, 4)).arithmetic_intensity("float32") == 32 / 4
    divided = core_plan("divided", 4, 8, 8, 64, 4)
    assert divided.bytes_moved("float32") == 2 * 4 * N * 64 * 4
    assert divided.arithmetic_intensity("float32") == pytest.approx((4 * 64 * (64 * 16 + 4 * 64**2)) /
                                                                    (2 * 4 * N * 64 * 4))


def test_packed_and_padded_plans_count_pairs_by_hand():
    clips = [(4, 4, 6), (2, 4, 6), (4, 2, 3), (1, 2, 3)]  # 96, 48, 24, 6 tokens
    packed, padded = packed_plan(clips, 32, 4), padded_plan(clips, 32, 4)
    assert packed.pairs == 96**2 + 48**2 + 24**2 + 6**2
    assert padded.pairs == 4 * 96**2
    assert packed.core_flops == 4 * 32 * packed.pairs and padded.core_flops == 4 * 32 * padded.pairs
    assert packed.linear_flops == 8 * (96 + 48 + 24 + 6) * 32**2
    assert packed.arithmetic_intensity("float32") < attention_plan("full", 4, 4, 6, 32, 4).arithmetic_intensity()


def test_matmul_roof_grows_until_throughput_is_flat(monkeypatch):
    """A saturating fake machine: 10, 50, 80, 81, 81.5, 90 GFLOP/s at n = 256 ... 8192. The probe stops after
    two sizes that gain under 3% and reports the best size seen (4096), never reaching 8192."""
    rates = {256: 10e9, 512: 50e9, 1024: 80e9, 2048: 81e9, 4096: 81.5e9, 8192: 90e9}
    seen = []

    def fake_time(fn, label="", **kw):
        n = int(label.split()[-1])
        seen.append(n)
        t = 2 * n**3 / rates[n]
        return LatencyStats(median_s=t, iqr_s=0.0, runs=4, number_per_run=1, min_s=t)

    monkeypatch.setattr(roof, "time_callable", fake_time)
    monkeypatch.setattr(roof.torch, "randn", lambda *a, **k: roof.torch.zeros(1))
    got = roof.measure_matmul_roof("cpu", "float32", start=256, max_n=8192, memory_budget=2**40)
    assert seen == [256, 512, 1024, 2048, 4096] and got["n"] == 4096
    assert got["flops_per_s"] == pytest.approx(81.5e9) and len(got["probed"]) == 5


def test_copy_bandwidth_counts_read_and_write():
    got = roof.measure_copy_bandwidth("cpu", copy_bytes=2**20, max_run_time=0.02)
    assert got["bytes"] == 2**20 and got["bytes_per_s"] > 0 and got["bytes_per_s"] >= got["median_bytes_per_s"]


def test_add_roofline_fraction_and_bound():
    rows = [{"arithmetic_intensity": 2.0, "achieved_flops_per_s": 10.0}, {"arithmetic_intensity": 50.0},
            {"strategy": "x"}]
    roof.add_roofline(rows, 100.0, 10.0)
    assert rows[0]["roofline_flops_per_s"] == 20.0 and rows[0]["bound"] == "memory"
    assert rows[0]["fraction_of_roofline"] == 0.5
    assert rows[1]["bound"] == "compute" and "fraction_of_roofline" not in rows[1] and "bound" not in rows[2]


def test_measured_rows_carry_intensity_and_percent_of_roofline():
    result = run_sweep(SweepSettings(strategies=("full", "temporal"), **TINY))
    bw = result.meta["copy_bandwidth"]["bytes_per_s"]
    peak = result.meta["matmul_peak"]["float32"]["flops_per_s"]
    for row in result.rows:
        assert row["status"] == "ok" and row["sdpa_backend"] == "auto"
        assert row["arithmetic_intensity"] == row["core_flops"] / row["bytes_moved"]
        assert row["roofline_flops_per_s"] == min(peak, row["arithmetic_intensity"] * bw)
        assert math.isclose(row["fraction_of_roofline"], row["achieved_flops_per_s"] / row["roofline_flops_per_s"])


def test_flex_impl_packing_and_backends_in_the_sweep():
    rows = run_sweep(SweepSettings(strategies=("spatial", "packed", "padded"), impl="flex", flex_compile=False,
                                   **TINY)).rows
    by = {r["strategy"]: r for r in rows}
    assert all(r["status"] == "ok" for r in rows), [r["status"] for r in rows]
    assert by["spatial"]["flex_layout"] == "frame"
    assert by["spatial"]["flex_tile_fill"] == 0.5  # 32 tokens in one 128-tile: 32^2 computed, 2 * 16^2 useful
    assert by["packed"]["useful_core_flops"] == by["padded"]["useful_core_flops"] == by["packed"]["core_flops"]
    assert by["padded"]["core_flops"] > by["packed"]["core_flops"] and by["packed"]["clips"].count("+") == 3
    math_rows = run_sweep(SweepSettings(strategies=("full",), sdpa_backend="math", **TINY)).rows
    assert math_rows[0]["status"] == "ok" and math_rows[0]["sdpa_backend"] == "math"
    cudnn = run_sweep(SweepSettings(strategies=("full",), sdpa_backend="cudnn", **TINY)).rows[0]
    assert cudnn["status"].startswith("error") or cudnn["status"] == "ok"  # unavailable on CPU: a row, no crash
    with pytest.raises(ValueError, match="sdpa backend"):
        SweepSettings(sdpa_backend="fast")
