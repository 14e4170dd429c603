"""FlexAttention path (reference_models/attention_flex.py) and NaViT packing (reference_models/packing.py) against
the token-by-token loop reference of test_attention.py and against running every clip separately (CPU)."""

from __future__ import annotations

import pytest
import torch

from reference_models.attention_flex import block_mask, computed_pairs, flex_options, mask_mod
from reference_models.packing import (
    block_diagonal_mask,
    document_ids,
    navit_clip_mix,
    packed_attention,
    padded_attention,
    separate_attention,
)
from tests.reference_models.test_attention import SHAPES, STRATEGIES, make, reference_core

# Eager flex (and SDPA) compute in float32 on float32 inputs: agreement with the float64 loop is float32 rounding
# of sums over at most 32 keys, well under 1e-5.
TOL = {"atol": 1e-5, "rtol": 1e-5}


@pytest.mark.parametrize("layout,block", [("frame", 8), ("grouped", 128)])  # many tiles / one partial tile
@pytest.mark.parametrize("T,H,W,window", SHAPES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_flex_core_matches_token_by_token_loop(strategy, T, H, W, window, layout, block):
    torch.manual_seed(1)
    qkv = torch.randn(2, T, H * W, 3, 4, 4)
    module = make(strategy, window=window, impl="flex")
    with flex_options(layout=layout, block_size=block):
        got = module.core(qkv, (H, W))
    torch.testing.assert_close(got.double(), reference_core(strategy, qkv, T, H, W, window), **TOL)


@pytest.mark.parametrize("strategy", ["spatial", "window"])
def test_flex_module_equals_reshape_sdpa_module(strategy):
    x = torch.randn(1, 4, 16, 16)
    sdpa = make(strategy, window=(2, 2, 2))
    flex = make(strategy, window=(2, 2, 2), impl="flex")
    with torch.no_grad(), flex_options(block_size=16):  # flex has no backward on CPU
        torch.testing.assert_close(flex(x, (4, 4)), sdpa(x, (4, 4)), **TOL)


def test_block_masks_skip_exactly_the_empty_tiles():
    # spatial on 4 frames of 16 tokens with 16-token tiles: 4 full diagonal tiles, 12 empty ones
    mask = block_mask("spatial", 4, (4, 4), heads=1, device="cpu", block_size=16)
    dense = mask.to_dense()[0, 0]
    assert dense.sum().item() == 4 and torch.equal(dense, torch.eye(4, dtype=dense.dtype))
    # temporal frame-major: every tile holds some same-place pair (partially filled); grouped: block-diagonal
    frame = block_mask("temporal", 4, (4, 4), heads=1, device="cpu", block_size=16).to_dense()[0, 0]
    grouped = block_mask("temporal", 4, (4, 4), heads=1, device="cpu", block_size=16, layout="grouped")
    assert frame.sum().item() == 16 and grouped.to_dense()[0, 0].sum().item() == 4
    with pytest.raises(ValueError, match="unknown flex mask kind"):
        mask_mod("axial", 2, (2, 2))


@pytest.mark.slow
def test_compiled_flex_kernel_equals_the_reference():
    """torch.compile(flex_attention) on CPU (a C++ template since torch 2.6): compiles for ~20 s, hence slow."""
    torch.manual_seed(2)
    qkv = torch.randn(1, 4, 16, 3, 2, 16)
    module = make("window", dim=32, heads=2, window=(2, 2, 2), impl="flex")
    with flex_options(compile=True, block_size=16):
        got = module.core(qkv, (4, 4))
    torch.testing.assert_close(got.double(), reference_core("window", qkv, 4, 4, 4, (2, 2, 2)), **TOL)


# -- packing ----------------------------------------------------------------------------------------------------
def _clips(sizes, heads=2, d=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(t * h * w, 3, heads, d, generator=gen) for t, h, w in sizes]


@pytest.mark.parametrize("impl", ["flex", "sdpa", "plain"])
@pytest.mark.parametrize("sizes", [navit_clip_mix(4, (4, 6)), [(3, 2, 2), (1, 5, 5), (2, 1, 7)]])
def test_packed_sequence_equals_running_clips_separately(sizes, impl):
    clips = _clips(sizes)
    with flex_options(block_size=16):
        got = packed_attention(clips, impl)
    for g, ref in zip(got, separate_attention([c.double() for c in clips], "plain"), strict=True):
        torch.testing.assert_close(g.double(), ref, **TOL)


@pytest.mark.parametrize("impl", ["sdpa", "plain"])
def test_padding_to_the_longest_clip_gives_the_same_outputs(impl):
    clips = _clips(navit_clip_mix(4, (2, 4)))
    for g, ref in zip(padded_attention(clips, impl), separate_attention(clips, "plain"), strict=True):
        torch.testing.assert_close(g, ref, **TOL)


def test_block_diagonal_mask_and_document_ids():
    assert document_ids([2, 1, 3]).tolist() == [0, 0, 1, 2, 2, 2]
    mask = block_diagonal_mask([2, 1])
    assert mask.tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    with pytest.raises(ValueError, match="positive lengths"):
        document_ids([2, 0])
    assert navit_clip_mix(8, (16, 16)) == [(8, 16, 16), (4, 16, 16), (8, 8, 8), (2, 8, 8)]


def test_computed_pairs_count_whole_tiles():
    # N = 16 * 256 = 4096 tokens, 128-token tiles. spatial: frames are whole tiles, nothing wasted.
    assert computed_pairs("spatial", 16, (16, 16), heads=8) == 16 * 256**2
    # temporal, grouped (location-major): 32 diagonal tiles hold 8 places of 16 frames each: fill 16/128
    assert computed_pairs("temporal", 16, (16, 16), heads=8, layout="grouped") == 32 * 128 * 128
    # temporal, frame-major: every tile whose rows and columns cover the same half of a frame: half of all tiles
    assert computed_pairs("temporal", 16, (16, 16), heads=8) == 4096**2 // 2
    # window 4x8x8 grouped: 256-token windows are 2x2 tiles each, all useful
    assert computed_pairs("window", 16, (16, 16), heads=8, window=(4, 8, 8), layout="grouped") == 4096 * 256
    assert computed_pairs("full", 2, (4, 4), heads=2) == 32**2
    with pytest.raises(ValueError, match="no flex tile count"):
        computed_pairs("factorised_encoder", 2, (4, 4), heads=2)
