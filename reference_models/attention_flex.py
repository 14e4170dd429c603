"""Every attention strategy as ONE block-sparse FlexAttention call over the whole token sequence.

``torch.nn.attention.flex_attention`` takes a ``BlockMask``: the ``(q_idx, kv_idx)`` pairs a strategy keeps,
summarised per ``BLOCK x BLOCK`` tile as empty (skipped), full (no mask evaluated) or partial. The reshape + SDPA
path of :mod:`reference_models.attention` regroups tokens into many short sequences; this path keeps one sequence
of ``N = T*H*W`` tokens and lets the mask say who sees whom:

=============  ==================================================================================================
kind           a query at token ``i`` sees key ``j`` when (``S = H*W``; frame-major index ``i = t*S + h*W + w``)
=============  ==================================================================================================
``full``       always (no mask: the dense kernel)
``spatial``    ``i // S == j // S`` (same frame)
``temporal``   ``i % S == j % S`` (same place)
``window``     same ``(t // wt, h // wh, w // ww)``
``split``      ViViT model 4: heads ``< heads/2`` spatial, the others temporal (the mask reads the head index)
``packed``     same clip: ``doc[i] == doc[j]`` (NaViT packing, :mod:`reference_models.packing`)
=============  ==================================================================================================

Token order decides how full the tiles are, hence the speed (the issue's H200 probe: spatial as a mask 304 vs
407 TFLOP/s for reshape + SDPA). ``layout="frame"`` keeps the frame-major order (no copy, but temporal and window
tiles are sparse inside); ``layout="grouped"`` first permutes tokens so that each group is contiguous (location-
major for temporal, window-major for window), which makes the mask block-diagonal at the cost of one copy in and
one out, the copies the reshape path also makes. Outputs come back in frame-major order either way.

``compile=True`` runs ``torch.compile(flex_attention)``: the fused kernel (Triton on CUDA, a C++ template on CPU
in torch >= 2.6). ``compile=False`` runs flex's eager reference, which materialises the scores: the same numbers,
used by the tests, never for timing. Select per call or with :func:`flex_options`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace

import torch

FLEX_KINDS = ("full", "spatial", "temporal", "window", "split", "packed")
LAYOUTS = ("frame", "grouped")


@dataclass(frozen=True)
class FlexOptions:
    compile: bool = False
    layout: str = "frame"
    block_size: int = 128


_OPTIONS = [FlexOptions()]


def current_options() -> FlexOptions:
    return _OPTIONS[-1]


@contextlib.contextmanager
def flex_options(**changes) -> Iterator[FlexOptions]:
    """``with flex_options(compile=True, layout="grouped"):`` applies to every ``impl="flex"`` call inside."""
    opts = replace(current_options(), **changes)
    if opts.layout not in LAYOUTS:
        raise ValueError(f"flex layout must be one of {', '.join(LAYOUTS)}, got {opts.layout!r}")
    _OPTIONS.append(opts)
    try:
        yield opts
    finally:
        _OPTIONS.pop()


@functools.cache
def _compiled_flex():
    import torch._dynamo.config as dynamo_config
    from torch.nn.attention.flex_attention import flex_attention

    # Every (shape, mask) is one static compilation of the same function. Past dynamo's recompile limit (8 by
    # default) it would silently run flex's unfused eager path: a sweep would time the wrong kernel. Raise the
    # limit, and make hitting it an error rather than a fallback.
    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 128)
    dynamo_config.fail_on_recompile_limit_hit = True
    return torch.compile(flex_attention, dynamic=False)


def _flex(q, k, v, block_mask, compiled: bool) -> torch.Tensor:
    from torch.nn.attention.flex_attention import flex_attention

    fn = _compiled_flex() if compiled else flex_attention
    if compiled:
        return fn(q, k, v, block_mask=block_mask)
    import warnings

    with warnings.catch_warnings():  # eager flex warns that it is unfused: known, it is our reference path
        warnings.simplefilter("ignore", UserWarning)
        return fn(q, k, v, block_mask=block_mask)


def mask_mod(kind: str, frames: int, grid: tuple[int, int], *, heads: int = 1,
             window: tuple[int, int, int] = (1, 1, 1), doc: torch.Tensor | None = None, layout: str = "frame"):
    """The ``mask_mod(b, h, q_idx, kv_idx) -> bool`` of a strategy on a sequence of ``T*H*W`` tokens (None: dense)."""
    H, W = grid
    S, T = H * W, frames
    if kind == "full":
        return None
    if kind == "packed":
        if doc is None:
            raise ValueError("the packed mask needs the clip index of every token (doc)")
        return lambda b, h, q, k: doc[q] == doc[k]
    if layout == "grouped" and kind in ("temporal", "window"):
        size = T if kind == "temporal" else window[0] * window[1] * window[2]  # groups are contiguous runs
        return lambda b, h, q, k: q // size == k // size
    if kind == "spatial":
        return lambda b, h, q, k: q // S == k // S
    if kind == "temporal":
        return lambda b, h, q, k: q % S == k % S
    if kind == "window":
        wt, wh, ww = window

        def same_window(b, h, q, k):
            qr, kr = q % S, k % S
            return ((q // S) // wt == (k // S) // wt) & ((qr // W) // wh == (kr // W) // wh) & \
                ((qr % W) // ww == (kr % W) // ww)
        return same_window
    if kind == "split":
        half = heads // 2
        return lambda b, h, q, k: torch.where(h < half, q // S == k // S, q % S == k % S)
    raise ValueError(f"unknown flex mask kind {kind!r} (known: {', '.join(FLEX_KINDS)})")


_MASKS: dict[tuple, object] = {}


def block_mask(kind: str, frames: int, grid: tuple[int, int], *, heads: int, device: torch.device | str,
               window: tuple[int, int, int] = (1, 1, 1), layout: str = "frame", block_size: int = 128):
    """The ``BlockMask`` of a strategy (cached per shape: building it evaluates the mask over every tile)."""
    from torch.nn.attention.flex_attention import create_block_mask

    key = (kind, frames, tuple(grid), heads, str(device), tuple(window), layout, block_size)
    if key not in _MASKS:
        fn = mask_mod(kind, frames, grid, heads=heads, window=window, layout=layout)
        n = frames * grid[0] * grid[1]
        _MASKS[key] = None if fn is None else create_block_mask(
            fn, None, heads if kind == "split" else None, n, n, device=device, BLOCK_SIZE=block_size)
    return _MASKS[key]


def _grouping(kind: str, T: int, H: int, W: int, window: tuple[int, int, int]) -> tuple[tuple[int, ...], tuple]:
    """For ``layout="grouped"``: the view of a ``(B, T, H, W, ...)`` tensor and the permutation that makes groups
    contiguous, so ``x.view(view).permute(perm)`` orders tokens group by group."""
    if kind == "temporal":
        return (T, H * W), (1, 0)  # location-major: the T tokens of one place are contiguous
    wt, wh, ww = window
    return (T // wt, wt, H // wh, wh, W // ww, ww), (0, 2, 4, 1, 3, 5)  # window-major


def flex_mix(qkv: torch.Tensor, kind: str, grid: tuple[int, int], *,
             window: tuple[int, int, int] = (1, 1, 1)) -> torch.Tensor:
    """One flex call for the strategy ``kind`` on projected ``qkv (B, T, S, 3, heads, d)`` -> ``(B, T, S, C)``."""
    opts = current_options()
    B, T, S, _, heads, d = qkv.shape
    H, W = grid
    grouped = opts.layout == "grouped" and kind in ("temporal", "window")
    x = qkv
    if grouped:
        view, perm = _grouping(kind, T, H, W, window)
        x = qkv.reshape(B, *view, 3, heads, d).permute(0, *(p + 1 for p in perm), *range(len(view) + 1,
                                                                                             len(view) + 4))
    q, k, v = x.reshape(B, T * S, 3, heads, d).permute(2, 0, 3, 1, 4)  # three (B, heads, N, d)
    mask = block_mask(kind, T, grid, heads=heads, device=qkv.device, window=window, layout=opts.layout,
                      block_size=opts.block_size)
    out = _flex(q, k, v, mask, opts.compile).transpose(1, 2)  # (B, N, heads, d) in the sequence's order
    if grouped:
        view, perm = _grouping(kind, T, H, W, window)
        inverse = tuple(sorted(range(len(perm)), key=lambda i: perm[i]))
        permuted_shape = tuple(view[p] for p in perm)
        out = out.reshape(B, *permuted_shape, heads * d).permute(0, *(i + 1 for i in inverse), len(view) + 1)
    return out.reshape(B, T, S, heads * d)


def flex_packed(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, doc: torch.Tensor) -> torch.Tensor:
    """Block-diagonal attention over a packed sequence ``(1, heads, N, d)``: token ``i`` sees tokens of clip
    ``doc[i]`` only (NaViT); the mask is built per call since every packing differs."""
    from torch.nn.attention.flex_attention import create_block_mask

    opts = current_options()
    n = q.shape[-2]
    mask = create_block_mask(mask_mod("packed", 1, (1, 1), doc=doc), None, None, n, n, device=q.device,
                             BLOCK_SIZE=opts.block_size)
    return _flex(q, k, v, mask, opts.compile)


#: The flex calls (mask kinds) each strategy of reference_models.attention makes, in order.
STRATEGY_KINDS = {"full": ("full",), "spatial": ("spatial",), "temporal": ("temporal",), "window": ("window",),
                  "divided": ("temporal", "spatial"), "factorised_self_attention": ("spatial", "temporal"),
                  "factorised_dot_product": ("split",)}


def computed_pairs(strategy: str, frames: int, grid: tuple[int, int], *, heads: int,
                   window: tuple[int, int, int] = (1, 1, 1), layout: str = "frame", block_size: int = 128,
                   device: torch.device | str = "cpu") -> int:
    """Query-key pairs per head the flex kernel actually computes: every non-empty ``BLOCK x BLOCK`` tile of the
    block mask in full (masked entries of partial tiles included). ``useful pairs / computed pairs`` is how full the
    tiles are. Raises ValueError for strategies without a single-sequence flex form (factorised_encoder)."""
    if strategy not in STRATEGY_KINDS:
        raise ValueError(f"no flex tile count for strategy {strategy!r}")
    n = frames * grid[0] * grid[1]
    total = 0
    for kind in STRATEGY_KINDS[strategy]:
        mask = block_mask(kind, frames, grid, heads=heads, device=device, window=window, layout=layout,
                          block_size=block_size)
        if mask is None:
            total += n * n
            continue
        tiles = int(mask.kv_num_blocks.sum()) + int(mask.full_kv_num_blocks.sum()
                                                    if mask.full_kv_num_blocks is not None else 0)
        q_block, kv_block = mask.BLOCK_SIZE
        per_head = tiles * q_block * kv_block / mask.kv_num_blocks.shape[1]  # the split mask has one row per head
        total += int(min(per_head, n * n))  # tiles past the end are padding, never more than dense
    return total
