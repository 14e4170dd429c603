"""Tests of the attention lab (vbench_lite/lab/attention_measure.py, attention_sweep.py) and the
``vbench-lite attention`` sweep: fits, timing plumbing, peak memory
against the analytic score-matrix bytes, OOM and memory-cap rows, reports. Speed goals live in benchmarks/."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
import torch

import vbench_lite.lab.attention_sweep as am
from metrics.attention_cost import attention_plan
from reference_models.attention import build_attention
from vbench_lite.cli import main
from vbench_lite.lab.attention_measure import measure_peak_memory, time_callable
from vbench_lite.lab.attention_sweep import (
    SweepSettings,
    fit_overhead,
    fit_scaling_exponent,
    run_sweep,
    scaling_fits,
    write_attention_report,
)

SMALL = {"strategies": ("full", "temporal", "window"), "frames": (2, 4), "grids": ((4, 4),), "dim": 32, "heads": 4,
         "window": (2, 2, 2), "min_run_time": 0.002, "max_run_time": 0.02, "matmul_sizes": (64,),
         "copy_bytes": 2**20}
needs_proc = pytest.mark.skipif(not am.cpu_peak_memory_supported(), reason="needs Linux /proc peak-RSS reset")


def test_fit_recovers_an_exact_power_law():
    tokens = [256, 512, 1024, 4096]
    fit = fit_scaling_exponent(tokens, [3e-9 * n**2 for n in tokens])
    assert fit.exponent == pytest.approx(2.0, abs=1e-9)
    assert fit.prefactor == pytest.approx(3e-9, rel=1e-6)
    assert fit.r2 == pytest.approx(1.0) and fit.points == 4
    assert fit_scaling_exponent([10, 10], [1.0, 2.0]) is None
    assert fit_scaling_exponent([10], [1.0]) is None


def test_fit_of_a_constant_is_flat():
    fit = fit_scaling_exponent([100, 1000, 10000], [0.5, 0.5, 0.5])
    assert fit.exponent == pytest.approx(0.0, abs=1e-12)


def test_scaling_fits_report_analytic_and_measured_exponents():
    rows = [{"strategy": "full", "tokens": n, "flops": 4 * 32 * n * n, "latency_median_s": 1e-9 * n**2}
            for n in (128, 256, 512)]
    rows += [{"strategy": "temporal", "tokens": n, "flops": 4 * 32 * n * 4, "latency_median_s": 1e-3}
             for n in (128, 256, 512)]
    fits = {f["strategy"]: f for f in scaling_fits(rows)}
    assert fits["full"]["analytic_exponent"] == pytest.approx(2.0) == fits["full"]["measured_exponent"]
    assert fits["temporal"]["analytic_exponent"] == pytest.approx(1.0)
    assert fits["temporal"]["measured_exponent"] == pytest.approx(0.0, abs=1e-9)  # overhead-bound


def test_overhead_fit_recovers_a_fixed_cost_per_problem_and_a_flop_rate():
    problems = [2048, 2048, 2048, 512]
    flops = [3.4e7, 1.3e8, 5.4e8, 1.3e8]
    seconds = [4e-6 * p + f / 2e10 for p, f in zip(problems, flops)]
    fit = fit_overhead(problems, flops, seconds)
    assert fit.fixed_s_per_problem == pytest.approx(4e-6, rel=1e-6)
    assert fit.flop_rate == pytest.approx(2e10, rel=1e-6) and fit.r2 == pytest.approx(1.0)
    assert fit_overhead([64, 128, 256], [1e9, 2e9, 4e9], [0.03, 0.06, 0.12]) is None  # both grow with T: collinear


def test_overhead_share_is_added_to_rows_from_the_fit():
    rows = [{"strategy": "temporal", "tokens": 2048 * t, "flops": 4 * 64 * 2048 * t * t, "attention_problems": 2048,
             "latency_median_s": 4e-6 * 2048 + 4 * 64 * 2048 * t * t / 2e10, "scope": "core"} for t in (8, 16, 32)]
    fits = scaling_fits(rows)
    assert fits[0]["fixed_us_per_problem"] == pytest.approx(4.0, rel=1e-3)
    am.add_overhead_shares(rows, fits)
    assert rows[0]["overhead_share"] == pytest.approx(4e-6 * 2048 / rows[0]["latency_median_s"], abs=1e-4)
    assert rows[0]["overhead_share"] > rows[-1]["overhead_share"]


def test_time_callable_uses_the_process_thread_count(monkeypatch):
    from torch.utils import benchmark

    seen = {}
    real = benchmark.Timer

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(benchmark, "Timer", spy)
    stats = time_callable(lambda: torch.ones(64).sum(), min_run_time=0.001, max_run_time=1.0)
    assert seen["num_threads"] == torch.get_num_threads()
    assert stats.median_s > 0 and stats.iqr_s >= 0 and stats.runs >= 3


@needs_proc
def test_peak_memory_sees_a_known_allocation():
    n = 32 * 2**20 // 4  # 32 MiB of float32, written so that every page is resident
    peak = measure_peak_memory(lambda: torch.ones(n))
    assert 30 * 2**20 <= peak <= 40 * 2**20


@needs_proc
def test_plain_path_peak_matches_the_analytic_score_bytes_and_sdpa_stays_small():
    """Full attention on 1024 tokens, 8 heads: 32 MiB of scores; plain keeps scores and softmax (64 MiB)."""
    T, H, W, dim, heads = 4, 16, 16, 64, 8
    plan = attention_plan("full", T, H, W, dim, heads)
    qkv = torch.randn(1, T, H * W, 3, heads, dim // heads)
    peaks = {}
    for impl in ("plain", "sdpa"):
        module = build_attention("full", dim, heads, impl=impl)
        with torch.inference_mode():
            module.core(qkv, (H, W))  # warm-up: one-time buffers are not the attention's
            peaks[impl] = measure_peak_memory(lambda m=module: m.core(qkv, (H, W)))
    assert plan.plain_attention_bytes() == 64 * 2**20
    assert plan.plain_attention_bytes() * 0.95 <= peaks["plain"] <= plan.plain_attention_bytes() * 1.3
    assert peaks["sdpa"] < plan.score_matrix_bytes() / 4


def test_memory_cap_skips_configurations_with_the_bytes_they_would_need():
    result = run_sweep(SweepSettings(**SMALL, measure=True, memory_cap_bytes=1024))
    assert result.rows and all(r["status"].startswith("skipped: would need ") for r in result.rows)
    row = result.rows[0]
    assert f"{row['estimated_peak_bytes'] / 2**30:.2f} GiB" in row["status"]
    assert "latency_median_s" not in row


def test_out_of_memory_is_a_recorded_result_and_the_sweep_goes_on(monkeypatch):
    real = am._build_call

    def flaky(settings, strategy, frames, grid):
        if strategy == "full" and frames == 4:
            def boom():
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 GiB")
            return boom
        if strategy == "temporal" and frames == 4:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")
        if strategy == "window" and frames == 4:
            raise RuntimeError("something else broke")
        return real(settings, strategy, frames, grid)

    monkeypatch.setattr(am, "_build_call", flaky)
    rows = {(r["strategy"], r["frames"]): r for r in run_sweep(SweepSettings(**SMALL, measure=True)).rows}
    assert rows[("full", 4)]["status"] == "OOM at 64 tokens"
    assert rows[("temporal", 4)]["status"] == "OOM at 64 tokens"
    assert rows[("window", 4)]["status"].startswith("error: RuntimeError: something else broke")
    assert all(rows[(s, 2)]["status"] == "ok" for s in ("full", "temporal", "window"))


@pytest.fixture(scope="module")
def measured():
    return run_sweep(SweepSettings(**SMALL, measure=True))


def test_measured_sweep_rows_are_complete_and_consistent(measured):
    result = measured
    assert len(result.rows) == 6
    peak = result.meta["matmul_peak"]["float32"]["flops_per_s"]
    probes = result.meta["matmul_peak_probes"]["float32"]
    assert len(probes) == 4 and max(probes) == pytest.approx(peak / 1e9, abs=0.01)  # before, 2 between, after
    for r in result.rows:
        assert r["status"] == "ok"
        assert r["latency_min_s"] <= r["latency_median_s"]
        assert r["fraction_of_peak_best"] == pytest.approx(r["flops"] / r["latency_min_s"] / peak)
        assert r["latency_median_s"] > 0 and r["latency_iqr_s"] >= 0 and r["latency_runs"] >= 1
        assert r["achieved_flops_per_s"] == pytest.approx(r["flops"] / r["latency_median_s"])
        assert r["fraction_of_peak"] == pytest.approx(r["achieved_flops_per_s"] / peak)
        assert r["flops"] == r["core_flops"]  # default scope: the attention core
    fits = {f["strategy"]: f for f in result.meta["fits"]}
    assert fits["full"]["analytic_exponent"] == pytest.approx(2.0) and fits["full"]["measured_exponent"] is not None
    assert result.meta["environment"]["threads"] == torch.get_num_threads()


def test_module_scope_and_bfloat16_rows():
    settings = SweepSettings(**{**SMALL, "strategies": ("divided",), "frames": (2,)}, measure=True, scope="module",
                             dtype="bfloat16", impl="plain")
    result = run_sweep(settings)
    (row,) = result.rows
    assert row["status"] == "ok" and row["flops"] == row["module_flops"] > row["core_flops"]
    assert set(result.meta["matmul_peak"]) == {"bfloat16", "float32"}
    assert row["score_matrix_bytes"] == attention_plan("divided", 2, 4, 4, 32, 4).score_matrix_bytes("bfloat16")


def test_breakdown_names_the_ops_and_problems_count_sequences_times_heads():
    settings = SweepSettings(**{**SMALL, "strategies": ("temporal",), "frames": (4,)}, measure=True,
                             breakdown=True, impl="plain", measure_memory=False)
    (temporal,) = run_sweep(settings).rows
    assert temporal["attention_problems"] == 1 * 16 * 4  # B * H*W sequences * heads
    assert am.analytic_row(settings, "spatial", 4, (4, 4))["attention_problems"] == 1 * 4 * 4  # B * T * heads
    shares = re.findall(r"(\w+) (\d+)%", temporal["top_ops"])
    assert shares and sum(int(p) for _, p in shares) <= 101
    # the attention's own ops; the profiler names the batched product bmm, or matmul when the dispatcher's own
    # time ranks among the top ones (seen on a busy CI machine)
    assert {op for op, _ in shares} <= {"bmm", "matmul", "_softmax", "mul", "copy_", "clone", "_to_copy", "reshape",
                                        "transpose"}
    assert temporal["us_per_problem"] == pytest.approx(1e6 * temporal["latency_median_s"] / 64)
    assert temporal["peak_memory_bytes"] is None


def test_invalid_configurations_are_rows_not_crashes():
    rows = run_sweep(SweepSettings(strategies=("window", "full"), frames=(3,), grids=((4, 4),), dim=32, heads=4,
                                   window=(2, 2, 2))).rows
    assert rows[0]["status"].startswith("invalid: window") and rows[1]["status"] == "analytic"
    with pytest.raises(ValueError, match="unknown attention strategy"):
        SweepSettings(strategies=("axial",))


def test_report_writes_csv_markdown_and_plots(tmp_path, measured):
    result = measured
    paths = write_attention_report(result.rows, tmp_path / "rep", result.meta)
    assert {"csv", "markdown", "meta", "plot_cost_vs_frames", "plot_latency_vs_tokens"} <= set(paths)
    df = pd.read_csv(paths["csv"])
    assert len(df) == 6 and set(df["strategy"]) == {"full", "temporal", "window"}
    md = paths["markdown"].read_text()
    assert "| strategy |" in md and "Scaling exponents" in md and "matmul peak" in md
    for key in ("plot_cost_vs_frames", "plot_latency_vs_tokens"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = write_attention_report(df, tmp_path / "from_df")  # a DataFrame works too (NaN cells included)
    assert pd.read_csv(again["csv"]).shape == df.shape


def test_report_of_analytic_rows_has_no_latency_plot(tmp_path):
    rows = run_sweep(SweepSettings(**SMALL)).rows
    paths = write_attention_report(rows, tmp_path)
    assert "plot_latency_vs_tokens" not in paths and paths["plot_cost_vs_frames"].exists()
    with pytest.raises(ValueError, match="no rows"):
        write_attention_report([], tmp_path)


def test_sweep_command_measures_and_writes(tmp_path, capsys, monkeypatch):
    real_roof = am.measure_matmul_roof
    monkeypatch.setattr(am, "measure_matmul_roof",
                        lambda device, dtype, sizes=None, **kw: real_roof(device, dtype, sizes=(128,),
                                                                          max_run_time=0.02))
    real_copy = am.measure_copy_bandwidth
    monkeypatch.setattr(am, "measure_copy_bandwidth",
                        lambda device, copy_bytes=None: real_copy(device, copy_bytes=2**20, max_run_time=0.02))
    out = tmp_path / "lab"
    argv = ["attention", "--strategies", "full,temporal", "--frames", "2,4", "--grid", "4x4", "--dim", "32",
            "--heads", "4", "--measure", "--min-run-time", "0.002", "--max-run-time", "0.02", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "median ms" in text and "matmul peak" in text and "scaling exponent" in text
    assert "memory bandwidth" in text and "% roofline" in text and (out / "attention_roofline.png").exists()
    assert (out / "attention.csv").exists() and (out / "attention.md").exists()
    assert len(pd.read_csv(out / "attention.csv")) == 4


def test_sweep_command_csv_and_errors(capsys):
    import io

    assert main(["attention", "--frames", "2,4", "--grid", "4x4", "--dim", "32", "--heads", "4", "--window",
                 "2x2x2", "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(df) == 2 * 8 and (df["status"] == "analytic").all()
    assert not df["core_flops"].isna().any() and math.isclose(df["flops"].sum(), df["core_flops"].sum())
    assert main(["attention", "--strategies", "axial"]) == 2
    assert main(["attention", "--device", "cuda:0"]) == (0 if torch.cuda.is_available() else 2)
    err = capsys.readouterr().err
    assert "unknown attention strategy" in err
