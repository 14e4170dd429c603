"""Tests of metrics/attention_cost.py and the model table (vbench_lite/lab/model_costs.py): the analytic numbers
equal FlopCounterMode exactly, pairs equal a loop over
token pairs, the seed arithmetic prints exactly, and whole-model costs equal closed forms and a counted tiny model."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from metrics.attention_cost import (
    STRATEGIES,
    attention_plan,
    block_plan,
    core_plan,
    pair_count,
    token_count,
)
from metrics.flop_counter import SDPA_CPU_OP, count_flops, register_sdpa_cpu_flop_formula, stock_counts_sdpa_on_cpu
from reference_models.attention import AttentionBlock, build_attention, window_size
from reference_models.video_dit import build_model, condition_fields
from reports.attention_report import sig3
from vbench_lite.cli import main
from vbench_lite.lab.model_costs import MODELS_FILE, load_model_configs, model_cost, model_table
from vbench_lite.types import VbenchError

# (T, H, W, dim, heads, window)
SHAPES = [(4, 2, 4, 16, 4, (2, 2, 2)), (3, 3, 2, 24, 2, (3, 1, 2)), (8, 4, 4, 32, 8, (4, 4, 2)),
          (1, 5, 3, 12, 2, (1, 5, 3))]


def build(strategy, dim, heads, window, impl):
    torch.manual_seed(0)
    return build_attention(strategy, dim, heads, impl=impl, **({"window": window} if strategy == "window" else {}))


def stock_count(fn) -> int:
    with FlopCounterMode(display=False) as mode:
        fn()
    return mode.get_total_flops()


# -- pairs: a loop over explicit token pairs -------------------------------------------------------------------
def loop_pairs(strategy: str, T: int, H: int, W: int, window) -> int:
    """Pairs per head by visiting every (query, key) token pair and asking whether the query sees the key."""
    grid = list(itertools.product(range(T), range(H), range(W)))
    wt, wh, ww = window_size(T, (H, W), window)

    def count(sees) -> int:
        n = 0
        for q in grid:
            for k in grid:
                if sees(q, k):
                    n += 1
        return n

    spatial = count(lambda q, k: q[0] == k[0])
    temporal = count(lambda q, k: q[1:] == k[1:])
    frames = T * T  # the factorised encoder's per-frame tokens, all pairs
    return {
        "full": count(lambda q, k: True),
        "spatial": spatial,
        "temporal": temporal,
        "window": count(lambda q, k: (q[0] // wt, q[1] // wh, q[2] // ww) == (k[0] // wt, k[1] // wh, k[2] // ww)),
        "divided": spatial + temporal,
        "factorised_self_attention": spatial + temporal,
        "factorised_encoder": spatial + frames,
        "factorised_dot_product": (spatial + temporal) // 2,
    }[strategy]


@pytest.mark.parametrize("T,H,W,dim,heads,window", SHAPES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pairs_equal_a_loop_over_token_pairs(strategy, T, H, W, dim, heads, window):
    assert pair_count(strategy, T, H, W, window=window) == loop_pairs(strategy, T, H, W, window)


def test_seed_arithmetic_of_a_minute_at_24_fps():
    T, H, W = 60 * 24, 64, 64
    n = token_count(T, H, W)
    assert n == 5_898_240
    assert pair_count("full", T, H, W) == n**2 == 34_789_235_097_600
    assert pair_count("spatial", T, H, W) == T * (H * W) ** 2 == 24_159_191_040
    assert pair_count("temporal", T, H, W) == H * W * T**2 == 8_493_465_600
    assert [sig3(pair_count(s, T, H, W)) for s in ("full", "spatial", "temporal")] == ["3.48e13", "2.42e10", "8.49e9"]


def test_tokens_command_prints_the_seed_arithmetic(capsys):
    assert main(["attention", "tokens", "--seconds", "60", "--fps", "24", "--grid", "64x64"]) == 0
    out = capsys.readouterr().out
    assert "tokens: 5,898,240" in out
    for exact, rounded in [("34,789,235,097,600", "(~3.48e13)"), ("24,159,191,040", "(~2.42e10)"),
                           ("8,493,465,600", "(~8.49e9)")]:
        line = next(line for line in out.splitlines() if exact in line)
        assert rounded in line


@pytest.mark.parametrize("argv,message", [
    (["--seconds", "1.5", "--fps", "7", "--grid", "8x8"], "whole"),
    (["--seconds", "2", "--grid", "8x8"], "--fps"),
    (["--frames", "4", "--fps", "8", "--grid", "8x8"], "not both"),
])
def test_tokens_command_bad_input_is_one_line(capsys, argv, message):
    assert main(["attention", "tokens", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


# -- FLOPs: the formulas equal FlopCounterMode exactly ---------------------------------------------------------
@pytest.mark.parametrize("T,H,W,dim,heads,window", SHAPES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_module_flops_equal_flop_counter_on_both_paths(strategy, T, H, W, dim, heads, window):
    if strategy == "factorised_dot_product" and heads % 2:
        pytest.skip("needs an even head count")
    x = torch.randn(2, T, H * W, dim)
    plan = attention_plan(strategy, T, H, W, dim, heads, batch=2, window=window)
    plain = build(strategy, dim, heads, window, "plain")
    assert stock_count(lambda: plain(x, (H, W))) == plan.matmul_flops  # stock counter, explicit matmuls
    fused = build(strategy, dim, heads, window, "sdpa")
    assert count_flops(fused, x, (H, W)).total == plan.matmul_flops  # fused kernel, our registration if needed
    assert plan.macs * 2 == plan.matmul_flops


@pytest.mark.parametrize("T,H,W,dim,heads,window", SHAPES[:2])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_core_and_block_flops_equal_flop_counter(strategy, T, H, W, dim, heads, window):
    qkv = torch.randn(1, T, H * W, 3, heads, dim // heads)
    for impl in ("plain", "sdpa"):
        module = build(strategy, dim, heads, window, impl)
        assert count_flops(module.core, qkv, (H, W)).total == core_plan(strategy, T, H, W, dim, heads,
                                                                          window=window).matmul_flops
    block = AttentionBlock(dim, heads, strategy, mlp_ratio=3.0, **({"window": window} if strategy == "window" else {}))
    x = torch.randn(1, T, H * W, dim)
    assert count_flops(block, x, (H, W)).total == block_plan(strategy, T, H, W, dim, heads, mlp_ratio=3.0,
                                                             window=window).matmul_flops


@settings(max_examples=30, deadline=None)
@given(strategy=st.sampled_from(STRATEGIES), T=st.integers(1, 5), H=st.integers(1, 4), W=st.integers(1, 4),
       head_dim=st.sampled_from([1, 2, 3]), heads=st.sampled_from([2, 4]), batch=st.integers(1, 2))
def test_flops_match_for_random_shapes(strategy, T, H, W, head_dim, heads, batch):
    dim = heads * head_dim
    window = (T, 1, W)  # always tiles: whole clip in time, rows of the frame in space
    x = torch.randn(batch, T, H * W, dim)
    plan = attention_plan(strategy, T, H, W, dim, heads, batch=batch, window=window)
    plain = build(strategy, dim, heads, window, "plain")
    fused = build(strategy, dim, heads, window, "sdpa")
    assert stock_count(lambda: plain(x, (H, W))) == plan.matmul_flops
    assert count_flops(fused, x, (H, W)).total == plan.matmul_flops


def test_core_flops_are_4_c_per_pair():
    for strategy in STRATEGIES:
        plan = attention_plan(strategy, 4, 4, 4, 32, 4, window=(2, 2, 2))
        assert plan.core_flops == 4 * 32 * plan.pairs


# -- SDPA on CPU ---------------------------------------------------------------------------------------------------
def test_sdpa_on_cpu_counts_like_the_plain_path_with_stock_and_ours():
    q, k, v = (torch.randn(2, 3, 10, 8) for _ in range(3))
    plain = stock_count(lambda: attend_plain(q, k, v))
    assert plain == 2 * (2 * 3 * 10 * 10 * 8) * 2
    assert count_flops(F.scaled_dot_product_attention, q, k, v).total == plain
    # What stock torch does on this version (2.15 ships a formula for the CPU kernel; older builds counted 0):
    assert stock_count(lambda: F.scaled_dot_product_attention(q, k, v)) == (plain if stock_counts_sdpa_on_cpu() else 0)


def attend_plain(q, k, v):
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v


def test_registration_restores_counting_where_torch_has_no_formula(monkeypatch):
    q = torch.randn(1, 2, 6, 4)
    monkeypatch.delitem(flop_counter.flop_registry, SDPA_CPU_OP, raising=False)
    assert not stock_counts_sdpa_on_cpu()
    assert stock_count(lambda: F.scaled_dot_product_attention(q, q, q)) == 0  # the failure we guard against
    assert register_sdpa_cpu_flop_formula() is True
    assert register_sdpa_cpu_flop_formula() is False  # idempotent
    assert stock_count(lambda: F.scaled_dot_product_attention(q, q, q)) == stock_count(lambda: attend_plain(q, q, q))


# -- bytes -----------------------------------------------------------------------------------------------------------
class LargestSoftmax(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket is torch.ops.aten._softmax:
            self.largest = max(self.largest, out.numel())
        return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_score_matrix_bytes_equal_the_largest_softmax_the_plain_path_makes(strategy):
    T, H, W, dim, heads, window = SHAPES[0]
    module = build(strategy, dim, heads, window, "plain")
    with LargestSoftmax() as spy:
        module(torch.randn(2, T, H * W, dim), (H, W))
    plan = attention_plan(strategy, T, H, W, dim, heads, batch=2, window=window)
    assert plan.score_matrix_bytes("float32") == spy.largest * 4
    assert plan.score_matrix_bytes("bfloat16") == spy.largest * 2
    assert plan.plain_attention_bytes() == spy.largest * 8
    assert plan.flash_state_bytes() < plan.plain_attention_bytes()


# -- whole models ---------------------------------------------------------------------------------------------------
def test_shipped_model_table_loads_with_sources_and_assumptions():
    configs = load_model_configs()
    assert {"vivit-b-spatiotemporal", "vivit-l-factorised-encoder", "timesformer", "latte-xl-2",
            "open-sora-stdit-xl-2", "vdit-t-divided", "vdit-b-full"} <= set(configs)
    for name, c in configs.items():
        assert c.sources and c.assumptions, name
        cost = model_cost(c)
        assert cost.total_flops == sum(cost.parts.values()) > 0
        assert cost.macs * 2 == cost.total_flops


def test_vivit_b_model_1_equals_its_closed_form():
    c = load_model_configs()["vivit-b-spatiotemporal"]
    N, C, L = 16 * 14 * 14, 768, 12
    per_layer = 2 * N * C * 3 * C + 2 * N * C * C + 4 * C * N * N + 2 * (2 * N * C * 4 * C)
    expected = L * per_layer + 2 * N * (2 * 16 * 16 * 3) * C + 2 * C * 400
    assert model_cost(c).total_flops == expected


def test_timesformer_equals_its_closed_form():
    c = load_model_configs()["timesformer"]
    T, S, C = 8, 196, 768
    N = T * S
    per_layer = (2 * 8 * N * C * C + 2 * N * C * C  # two qkv+proj sublayers and temporal_fc
                 + 4 * C * (S * T * T + T * S * S)  # temporal and spatial cores
                 + 16 * N * C * C)  # MLP, ratio 4
    assert model_cost(c).total_flops == 12 * per_layer + 2 * N * 768 * C + 2 * C * 400


@pytest.mark.parametrize("strategy", ["full", "spatial", "temporal", "divided", "window"])
def test_vdit_rows_equal_a_counted_reference_dit(strategy):
    """The table's VDiT-T rows against FlopCounterMode on reference_models/video_dit.py itself."""
    model = build_model("VDiT-T", strategy=strategy).eval()
    c = model.config
    x, t = torch.randn(1, c.channels, c.frames, *c.size), torch.rand(1)
    cond = torch.zeros(1, len(condition_fields(c)), dtype=torch.long)
    assert count_flops(model, x, t, cond).total == model_cost(load_model_configs()[f"vdit-t-{strategy}"]).total_flops


TINY = {
    "schema": "vbench-lite/attention-models@1",
    "models": {"tiny": {
        "title": "tiny", "sources": ["test"], "assumptions": ["test"],
        "input": {"frames": 4, "height": 8, "width": 16, "channels": 3},
        "latent": {"stride": [1, 2, 2], "channels": 4}, "patch": [2, 2, 2], "token_grid": [2, 2, 4],
        "dim": 16, "heads": 4, "mlp_ratio": 2, "context_tokens": 5, "window": [2, 2, 2],
        "stages": [
            {"layers": 2, "block": ["attention:divided", "mlp"], "modulation": {"rows": "frames", "outputs": 6}},
            {"layers": 1, "block": ["attention:window", "attention:fdp", "cross_attention", "mlp"],
             "modulation": {"rows": "locations", "outputs": 3}},
            {"layers": 2, "tokens": "frames", "block": ["attention:full", "mlp"]}],
        "extra_linears": [{"name": "ctx", "rows": 5, "in": 7, "out": "dim"},
                          {"name": "head", "rows": "tokens", "in": "dim", "out": "2*dim"},
                          {"name": "one", "rows": "one", "in": "patch", "out": 3}],
    }},
}


def run_tiny_model() -> None:
    """The tiny configuration assembled from torch modules, independently of model_cost."""
    torch.manual_seed(0)
    T, H, W, C, heads, ctx = 2, 2, 4, 16, 4, 5
    x = nn.Linear(2 * 2 * 2 * 4, C)(torch.randn(1, T * H * W, 32)).reshape(1, T, H * W, C)
    mlp = nn.Sequential(nn.Linear(C, 2 * C), nn.GELU(), nn.Linear(2 * C, C))
    for _ in range(2):
        x = x + build_attention("divided", C, heads)(x, (H, W))
        x = x + mlp(x)
        nn.Linear(C, 6 * C)(torch.randn(T, C))
    x = x + build_attention("window", C, heads, window=(2, 2, 2))(x, (H, W))
    x = x + build_attention("fdp", C, heads)(x, (H, W))
    context = torch.randn(1, ctx, C)
    q = nn.Linear(C, C)(x).reshape(1, T * H * W, heads, C // heads).transpose(1, 2)
    k, v = nn.Linear(C, 2 * C)(context).reshape(1, ctx, 2, heads, C // heads).permute(2, 0, 3, 1, 4)
    x = x + nn.Linear(C, C)(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(1, T, H * W, C))
    x = x + mlp(x)
    nn.Linear(C, 3 * C)(torch.randn(H * W, C))
    frames = x.mean(dim=2, keepdim=True)
    for _ in range(2):
        frames = frames + build_attention("full", C, heads)(frames, (1, 1))
        frames = frames + mlp(frames)
    nn.Linear(7, C)(torch.randn(5, 7))
    nn.Linear(C, 2 * C)(torch.randn(T * H * W, C))
    nn.Linear(32, 3)(torch.randn(1, 32))


def test_model_cost_equals_a_counted_model_assembled_from_modules(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    cost = model_cost(load_model_configs(path)["tiny"])
    assert count_flops(run_tiny_model).total == cost.total_flops
    assert cost.parts["cross_attention_core"] == 4 * 16 * (16 * 5)


@pytest.mark.parametrize("mutate,message", [
    (lambda m: m.update(token_grid=[2, 2, 5]), "does not match the derived"),
    (lambda m: m.update(colour="red"), "unknown key"),
    (lambda m: m["stages"][0].update(block=["attention:axial"]), "unknown attention strategy"),
    (lambda m: m["stages"][0].update(block=["conv"]), "unknown block entry"),
    (lambda m: m.update(assumptions=[]), "sources and assumptions"),
    (lambda m: m.update(heads=5), "multiple of heads"),
    (lambda m: m.update(input={"frames": 3, "height": 8, "width": 16, "channels": 3}), "not divisible"),
    (lambda m: m["extra_linears"].append({"rows": "pixels", "in": 1, "out": 1}), "rows must be"),
    (lambda m: m.update(extends="tiny"), "loops"),
    (lambda m: m.pop("dim"), "missing 'dim'"),
])
def test_bad_model_table_is_a_one_line_error_naming_the_file(tmp_path, mutate, message):
    data = json.loads(json.dumps(TINY))
    mutate(data["models"]["tiny"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(VbenchError, match=message) as info:
        load_model_configs(path)
    assert str(path) in str(info.value)


def test_unreadable_model_table(tmp_path):
    with pytest.raises(VbenchError, match="cannot read"):
        load_model_configs(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(VbenchError, match="not valid JSON"):
        load_model_configs(tmp_path / "x.json")


def test_models_command_csv_lists_every_model(capsys):
    import io

    import pandas as pd

    assert main(["attention", "models", "--format", "csv"]) == 0
    # read as text: the one-minute clip's FLOPs (2.9e19) exceed int64
    df = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype={"total_flops": str, "total_macs": str})
    assert list(df["model"]) == list(json.loads(MODELS_FILE.read_text())["models"])
    assert all(int(f) == 2 * int(m) for f, m in zip(df["total_flops"], df["total_macs"]))
    assert main(["attention", "models", "--models", "timesformer", "--details"]) == 0
    out = capsys.readouterr().out
    assert "timesformer" in out and "source:" in out and "assumes:" in out
    assert main(["attention", "models", "--models", "nope"]) == 2


def test_model_table_rows_are_in_file_order():
    assert [r["model"] for r in model_table()] == list(load_model_configs())
