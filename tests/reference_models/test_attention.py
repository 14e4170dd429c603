"""Tests of reference_models/attention.py against a token-by-token loop reference and attention-pattern checks."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from reference_models.attention import (
    ATTENTION_STRATEGIES,
    STRATEGY_ALIASES,
    AttentionBlock,
    attend,
    build_attention,
    resolve_strategy,
    window_size,
)

STRATEGIES = list(ATTENTION_STRATEGIES)
SINGLE = ["full", "spatial", "temporal", "window", "factorised_dot_product"]
# (T, H, W, window): shapes where the window tiles the grid, one with the window clipped to a short clip
SHAPES = [(4, 2, 4, (2, 2, 2)), (3, 3, 2, (3, 1, 2)), (2, 4, 4, (4, 2, 2))]


def tokens(T: int, H: int, W: int) -> list[tuple[int, int, int]]:
    return list(itertools.product(range(T), range(H), range(W)))


def grouping(kind: str, window=(1, 1, 1)):
    """Whether a query at (t, y, x) sees the key at (t2, y2, x2): written from the definitions, not the code."""
    if kind == "full":
        return lambda q, k: True
    if kind == "spatial":
        return lambda q, k: q[0] == k[0]
    if kind == "temporal":
        return lambda q, k: q[1:] == k[1:]
    if kind == "window":
        return lambda q, k: all(a // w == b // w for a, b, w in zip(q, k, window))
    raise ValueError(kind)


def loop_attention(qkv: torch.Tensor, T: int, H: int, W: int, sees, heads: range) -> torch.Tensor:
    """out[b, token, head] = sum_j softmax_j(q.k_j / sqrt(d)) v_j over the keys ``sees`` allows, one query at a time."""
    B, _, _, _, _, d = qkv.shape
    grid = tokens(T, H, W)
    out = torch.zeros(B, T, H * W, len(heads), d, dtype=torch.float64)
    for b, q, hi in itertools.product(range(B), grid, range(len(heads))):
        h = heads[hi]
        keys = [j for j, k in enumerate(grid) if sees(q, k)]
        qv = qkv[b, q[0], q[1] * W + q[2], 0, h].double()
        logits = torch.stack([qv @ qkv[b, grid[j][0], grid[j][1] * W + grid[j][2], 1, h].double() for j in keys])
        weights = torch.softmax(logits / math.sqrt(d), dim=0)
        values = torch.stack([qkv[b, grid[j][0], grid[j][1] * W + grid[j][2], 2, h].double() for j in keys])
        out[b, q[0], q[1] * W + q[2], hi] = weights @ values
    return out.reshape(B, T, H * W, len(heads) * d)


def reference_core(strategy: str, qkv: torch.Tensor, T: int, H: int, W: int, window) -> torch.Tensor:
    heads = qkv.shape[4]
    every = range(heads)
    if strategy in ("full", "spatial", "temporal"):
        return loop_attention(qkv, T, H, W, grouping(strategy), every)
    if strategy == "window":
        return loop_attention(qkv, T, H, W, grouping("window", window_size(T, (H, W), window)), every)
    if strategy == "factorised_dot_product":
        half = heads // 2
        return torch.cat([loop_attention(qkv, T, H, W, grouping("spatial"), range(half)),
                          loop_attention(qkv, T, H, W, grouping("temporal"), range(half, heads))], dim=-1)
    if strategy in ("divided", "factorised_self_attention"):
        return (loop_attention(qkv, T, H, W, grouping("spatial"), every)
                + loop_attention(qkv, T, H, W, grouping("temporal"), every))
    if strategy == "factorised_encoder":
        frames = qkv.mean(dim=2, keepdim=True)  # (B, T, 1, 3, heads, d): one token per frame
        return (loop_attention(qkv, T, H, W, grouping("spatial"), every)
                + loop_attention(frames, T, 1, 1, grouping("full"), every))
    raise ValueError(strategy)


def make(strategy: str, dim: int = 16, heads: int = 4, window=(2, 2, 2), **kw):
    if strategy == "window":
        kw["window"] = window
    torch.manual_seed(0)
    return build_attention(strategy, dim, heads, **kw)


@pytest.mark.parametrize("impl", ["sdpa", "plain"])
@pytest.mark.parametrize("T,H,W,window", SHAPES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_core_matches_token_by_token_loop(strategy, T, H, W, window, impl):
    torch.manual_seed(1)
    qkv = torch.randn(2, T, H * W, 3, 4, 4)
    module = make(strategy, window=window, impl=impl)
    got = module.core(qkv, (H, W))
    assert got.shape == (2, T, H * W, 16)
    torch.testing.assert_close(got.double(), reference_core(strategy, qkv, T, H, W, window), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("T,H,W,window", SHAPES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sdpa_and_plain_paths_give_the_same_numbers(strategy, T, H, W, window):
    module = make(strategy, window=window)
    x = torch.randn(3, T, H * W, 16)
    fused = module(x, (H, W))
    module.impl = "plain"
    assert module.impl == "plain"
    assert all(m.impl == "plain" for m in module.modules() if hasattr(m, "mix"))
    plain = module(x, (H, W))
    assert fused.shape == x.shape
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_bfloat16_paths_agree_loosely(strategy):
    module = make(strategy).to(torch.bfloat16)
    x = torch.randn(2, 4, 8, 16, dtype=torch.bfloat16)
    fused = module(x, (2, 4)).float()
    module.impl = "plain"
    torch.testing.assert_close(fused, module(x, (2, 4)).float(), atol=3e-2, rtol=3e-2)


@pytest.mark.parametrize("strategy", SINGLE)
def test_a_token_changes_exactly_the_outputs_that_attend_to_it(strategy):
    """Perturb one input token: outputs change where the query sees that token as a key, nowhere else."""
    T, H, W, window = 4, 2, 4, (2, 2, 2)
    module = make(strategy, window=window, impl="plain")
    x = torch.randn(1, T, H * W, 16)
    grid = tokens(T, H, W)
    base = module(x, (H, W))
    for j in (0, 5, len(grid) - 1):
        bumped = x.clone()
        bumped[0, grid[j][0], grid[j][1] * W + grid[j][2]] += 1.0
        changed = (module(bumped, (H, W)) - base).abs().amax(dim=-1)[0]  # (T, S)
        if strategy == "factorised_dot_product":
            def sees(q, k):
                return grouping("spatial")(q, k) or grouping("temporal")(q, k)
        else:
            sees = grouping(strategy, window)
        for i, q in enumerate(grid):
            moved = changed[q[0], q[1] * W + q[2]].item()
            if sees(q, grid[j]) or i == j:
                assert moved > 1e-6, (strategy, q, grid[j])
            else:
                assert moved == 0.0, (strategy, q, grid[j])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_attention_block_keeps_the_token_shape(strategy):
    block = AttentionBlock(16, 4, strategy, mlp_ratio=2.0, **({"window": (2, 2, 2)} if strategy == "window" else {}))
    x = torch.randn(2, 4, 8, 16)
    assert block(x, (2, 4)).shape == x.shape


def test_registry_names_and_aliases():
    assert set(STRATEGIES) == {"full", "spatial", "temporal", "divided", "factorised_encoder",
                               "factorised_self_attention", "factorised_dot_product", "window"}
    for alias, name in STRATEGY_ALIASES.items():
        assert resolve_strategy(alias) == name
    assert resolve_strategy("Factorised-Dot-Product") == "factorised_dot_product"
    for name, info in ATTENTION_STRATEGIES.items():
        assert info.cls.strategy == name
        assert type(make(name)).__name__ == info.cls.__name__


def test_divided_is_temporal_first_with_timesformer_temporal_fc():
    divided, fsa = make("divided"), make("factorised_self_attention")
    assert divided.first_mix.__name__ == "temporal_mix" and divided.second_mix.__name__ == "spatial_mix"
    assert isinstance(divided.first_proj, torch.nn.Linear)
    assert fsa.first_mix.__name__ == "spatial_mix" and isinstance(fsa.first_proj, torch.nn.Identity)


@pytest.mark.parametrize("call,message", [
    (lambda: build_attention("axial", 16, 4), "unknown attention strategy"),
    (lambda: build_attention("full", 16, 4, impl="flash"), "unknown attention impl"),
    (lambda: build_attention("full", 18, 4), "not divisible"),
    (lambda: build_attention("fdp", 15, 3), "odd"),
    (lambda: make("window", window=(2, 3, 3))(torch.randn(1, 4, 8, 16), (2, 4)), "does not tile"),
    (lambda: make("window")(torch.randn(1, 4, 8, 16)), "needs grid"),
    (lambda: make("window")(torch.randn(1, 4, 8, 16), (3, 3)), "has 9 tokens"),
])
def test_bad_configuration_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_window_is_clipped_to_short_clips_like_video_swin():
    assert window_size(2, (4, 8), (4, 8, 8)) == (2, 4, 8)
    with pytest.raises(ValueError):
        window_size(6, (8, 8), (4, 8, 8))


def test_attend_rejects_unknown_impl():
    q = torch.randn(1, 1, 2, 4)
    with pytest.raises(ValueError, match="impl"):
        attend(q, q, q, "naive")
