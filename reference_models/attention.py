"""Attention strategies of video transformers, one interface over tokens ``x: (B, T, S, C)`` with ``S = H * W``.

Every strategy is a module ``forward(x, grid=(H, W)) -> (B, T, S, C)`` that replaces the self-attention of a
transformer block (the block adds the residual). They differ only in which keys each query sees:

============================  ==================================================  ===============================
strategy                      a query at (t, h, w) attends to                     query-key pairs per head
============================  ==================================================  ===============================
``full`` (joint space-time)   every token of the clip                             ``N^2``, ``N = T*H*W``
``spatial``                   the tokens of its own frame                         ``T * (HW)^2``
``temporal``                  the tokens at its own (h, w), across frames         ``HW * T^2``
``divided`` (TimeSformer)     temporal attention, then spatial attention          ``HW*T^2 + T*(HW)^2``
``factorised_encoder``        spatial attention, then attention among per-frame   ``T*(HW)^2 + T^2``
                              summary tokens (ViViT model 2, one block of it)
``factorised_self_attention`` spatial attention, then temporal (ViViT model 3)    ``T*(HW)^2 + HW*T^2``
``factorised_dot_product``    half the heads spatial, half temporal (ViViT 4)     ``(T*(HW)^2 + HW*T^2) / 2``
``window``                    the tokens of its non-overlapping 3D window         ``N * wt*wh*ww``
============================  ==================================================  ===============================

Sources: TimeSformer (Bertasius et al., ICML 2021, "Is Space-Time Attention All You Need for Video
Understanding?", Sec. 3 and Fig. 1; its code computes temporal attention first, then a ``temporal_fc`` linear, then
spatial attention); ViViT (Arnab et al., ICCV 2021, Sec. 3.3, models 1-4); Video Swin Transformer (Liu et al.,
CVPR 2022, Sec. 3.2, non-overlapping 3D windows; the shifted-window variant is not modelled).

Each strategy runs the attention core through ``impl="sdpa"`` (``F.scaled_dot_product_attention``, a fused
flash-style kernel that never materialises the score matrix) or ``impl="plain"`` (``softmax(q k^T / sqrt(d)) v``
with explicit matmuls) or ``impl="flex"`` (one FlexAttention block-sparse call over the whole token sequence
per attention, :mod:`reference_models.attention_flex`); all give the same numbers (tests check allclose).
``core(qkv, grid)`` runs only the strategy's reshapes and attention on already projected
``qkv: (B, T, S, 3, heads, head_dim)``; the cost lab times it separately from the projections, which are the same
for every strategy.

Composite strategies (divided, factorised_*) keep the residual between their two attentions inside the module:
``u = first(x); v = second(LayerNorm(x + u)); return u + v``, so that ``x + module(x)`` equals the papers'
``y = x + first(x); z = y + second(LN(y))``. ``factorised_encoder`` is a one-block stand-in for ViViT's model 2
(whose temporal transformer is a separate encoder over per-frame tokens): its second attention runs over the
``T`` frame means; the whole-model cost table in ``vbench_lite/lab/attention_models.json`` models ViViT-FE exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from reference_models.attention_flex import flex_mix

IMPLS = ("sdpa", "plain", "flex")  # flex: one FlexAttention block-sparse call (attention_flex.py)
#: Video Swin's window is (8, 7, 7) for 32 frames after a tubelet of 2; ours divides the small grids we sweep.
DEFAULT_WINDOW = (4, 8, 8)

Grid = tuple[int, int]
Mix = Callable[..., torch.Tensor]


# -- the attention core ---------------------------------------------------------------------------------------
def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, impl: str = "sdpa") -> torch.Tensor:
    """``softmax(q k^T / sqrt(d)) v``: ``q (n, heads, Lq, d)``, ``k, v (n, heads, Lk, d)`` -> ``(n, heads, Lq, d)``."""
    if impl == "sdpa":
        return F.scaled_dot_product_attention(q, k, v)
    if impl == "flex":  # a lone call has no structure to exploit: flex with no mask (the dense kernel)
        B, heads, L, d = q.shape
        seq = torch.stack([q, k, v], 2).permute(0, 3, 2, 1, 4).reshape(B, 1, L, 3, heads, d)
        return flex_mix(seq, "full", (1, L)).reshape(B, L, heads, d).transpose(1, 2)
    if impl == "plain":
        scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (n, heads, Lq, Lk)
        # fp32 softmax like the fused kernels, so that bf16 results stay comparable; no matmul, so no FLOPs change
        probs = scores.softmax(dim=-1, dtype=torch.float32).to(v.dtype)
        return probs @ v  # (n, heads, Lq, d)
    raise ValueError(f"unknown attention impl {impl!r} (known: {', '.join(IMPLS)})")


def _split_qkv(seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(n, L, 3, heads, d)`` -> three ``(n, heads, L, d)``."""
    q, k, v = seq.permute(2, 0, 3, 1, 4)  # (3, n, heads, L, d)
    return q, k, v


# -- token groupings: each maps qkv (B, T, S, 3, heads, d) to the attended values (B, T, S, heads*d) -------------
def full_mix(qkv: torch.Tensor, grid: Grid | None, impl: str) -> torch.Tensor:
    B, T, S, _, heads, d = qkv.shape
    if impl == "flex":
        return flex_mix(qkv, "full", (1, S))
    seq = qkv.reshape(B, T * S, 3, heads, d)  # (B, N, 3, heads, d): the whole clip is one sequence
    out = attend(*_split_qkv(seq), impl)  # (B, heads, N, d)
    return out.transpose(1, 2).reshape(B, T, S, heads * d)  # (B, N, heads, d) -> (B, T, S, C)


def spatial_mix(qkv: torch.Tensor, grid: Grid | None, impl: str) -> torch.Tensor:
    B, T, S, _, heads, d = qkv.shape
    if impl == "flex":
        return flex_mix(qkv, "spatial", _check_grid(grid, S))
    seq = qkv.reshape(B * T, S, 3, heads, d)  # (B*T, S, 3, heads, d): one sequence per frame
    out = attend(*_split_qkv(seq), impl)  # (B*T, heads, S, d)
    return out.transpose(1, 2).reshape(B, T, S, heads * d)  # (B*T, S, heads, d) -> (B, T, S, C)


def temporal_mix(qkv: torch.Tensor, grid: Grid | None, impl: str) -> torch.Tensor:
    B, T, S, _, heads, d = qkv.shape
    if impl == "flex":
        return flex_mix(qkv, "temporal", (1, S) if grid is None else _check_grid(grid, S))
    seq = qkv.transpose(1, 2).reshape(B * S, T, 3, heads, d)  # (B, S, T, ...) -> (B*S, T, 3, heads, d): one per place
    out = attend(*_split_qkv(seq), impl)  # (B*S, heads, T, d)
    out = out.transpose(1, 2).reshape(B, S, T, heads * d)  # (B*S, T, heads, d) -> (B, S, T, C)
    return out.transpose(1, 2)  # (B, T, S, C)


def window_size(frames: int, grid: Grid, window: tuple[int, int, int]) -> tuple[int, int, int]:
    """The window actually used: each side clipped to the token grid (as Video Swin does), and it must divide it."""
    sizes = (frames, *grid)
    clipped = tuple(min(w, n) for w, n in zip(window, sizes))
    if any(w < 1 for w in window) or any(n % w for n, w in zip(sizes, clipped)):
        raise ValueError(f"window {tuple(window)} does not tile the token grid (T, H, W) = {sizes}: "
                         f"each window side (clipped to the grid) must divide it")
    return clipped  # type: ignore[return-value]


def window_mix(qkv: torch.Tensor, grid: Grid | None, impl: str,
               window: tuple[int, int, int] = DEFAULT_WINDOW) -> torch.Tensor:
    B, T, S, _, heads, d = qkv.shape
    H, W = _check_grid(grid, S)
    wt, wh, ww = window_size(T, (H, W), window)
    if impl == "flex":
        return flex_mix(qkv, "window", (H, W), window=(wt, wh, ww))
    nt, nh, nw = T // wt, H // wh, W // ww
    x = qkv.reshape(B, nt, wt, nh, wh, nw, ww, 3, heads, d)  # split each axis into (window index, offset in window)
    x = x.permute(0, 1, 3, 5, 2, 4, 6, 7, 8, 9)  # (B, nt, nh, nw, wt, wh, ww, 3, heads, d)
    seq = x.reshape(B * nt * nh * nw, wt * wh * ww, 3, heads, d)  # one sequence per window
    out = attend(*_split_qkv(seq), impl)  # (B*windows, heads, wt*wh*ww, d)
    out = out.transpose(1, 2).reshape(B, nt, nh, nw, wt, wh, ww, heads * d)  # back to window coordinates
    out = out.permute(0, 1, 4, 2, 5, 3, 6, 7)  # (B, nt, wt, nh, wh, nw, ww, C)
    return out.reshape(B, T, S, heads * d)  # (B, T, H*W, C)


def split_heads_mix(qkv: torch.Tensor, grid: Grid | None, impl: str) -> torch.Tensor:
    """ViViT model 4: heads ``[0, heads/2)`` attend spatially, heads ``[heads/2, heads)`` temporally."""
    half = qkv.shape[4] // 2
    if impl == "flex":  # one call: the mask reads the head index
        return flex_mix(qkv, "split", _check_grid(grid, qkv.shape[2]))
    spatial = spatial_mix(qkv[:, :, :, :, :half], grid, impl)  # (B, T, S, half*d)
    temporal = temporal_mix(qkv[:, :, :, :, half:], grid, impl)  # (B, T, S, half*d)
    return torch.cat([spatial, temporal], dim=-1)  # (B, T, S, C), heads in their original order


def _check_grid(grid: Grid | None, tokens_per_frame: int) -> Grid:
    if grid is None:
        raise ValueError("this attention strategy needs grid=(H, W)")
    H, W = int(grid[0]), int(grid[1])
    if H * W != tokens_per_frame:
        raise ValueError(f"grid {H}x{W} has {H * W} tokens, but x has {tokens_per_frame} tokens per frame")
    return H, W


# -- modules ----------------------------------------------------------------------------------------------------
class ProjectedAttention(nn.Module):
    """Multi-head attention with one token grouping: qkv projection -> ``mix`` -> output projection."""

    def __init__(self, dim: int, heads: int, mix: Mix, *, impl: str = "sdpa", qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.head_dim, self.impl, self.mix = heads, dim // heads, impl, mix
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        B, T, S, _ = x.shape
        qkv = self.qkv(x).reshape(B, T, S, 3, self.heads, self.head_dim)  # (B, T, S, 3C) -> (B, T, S, 3, heads, d)
        return self.proj(self.mix(qkv, grid, self.impl))  # (B, T, S, C)


class VideoAttention(nn.Module):
    """Base of the strategies: ``forward(x: (B, T, S, C), grid=(H, W)) -> (B, T, S, C)``; ``impl`` is settable."""

    strategy: str = ""

    @property
    def impl(self) -> str:
        return next(m.impl for m in self.modules() if isinstance(m, ProjectedAttention))

    @impl.setter
    def impl(self, value: str) -> None:
        if value not in IMPLS:
            raise ValueError(f"unknown attention impl {value!r} (known: {', '.join(IMPLS)})")
        for m in self.modules():
            if isinstance(m, ProjectedAttention):
                m.impl = value

    def core(self, qkv: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        """The strategy's reshapes and attention on projected ``qkv: (B, T, S, 3, heads, d)`` -> ``(B, T, S, C)``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"strategy={self.strategy!r}, impl={self.impl!r}"


class SingleGroupingAttention(VideoAttention):
    """One attention over one token grouping (full, spatial, temporal, window, factorised dot-product)."""

    mix: Mix = staticmethod(full_mix)

    def __init__(self, dim: int, heads: int, *, impl: str = "sdpa", qkv_bias: bool = True) -> None:
        super().__init__()
        self.attn = ProjectedAttention(dim, heads, self.mix, impl=impl, qkv_bias=qkv_bias)

    def forward(self, x: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        return self.attn(x, grid)

    def core(self, qkv: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        return self.attn.mix(qkv, grid, self.attn.impl)


class JointSpaceTimeAttention(SingleGroupingAttention):
    """Full attention over all ``T*H*W`` tokens (ViViT model 1, TimeSformer "joint space-time")."""

    strategy = "full"
    mix = staticmethod(full_mix)


class SpatialAttention(SingleGroupingAttention):
    """Attention within each frame (TimeSformer "space only")."""

    strategy = "spatial"
    mix = staticmethod(spatial_mix)


class TemporalAttention(SingleGroupingAttention):
    """Attention across frames at each spatial location."""

    strategy = "temporal"
    mix = staticmethod(temporal_mix)


class FactorisedDotProductAttention(SingleGroupingAttention):
    """ViViT model 4: one qkv and output projection; half the heads spatial, half temporal."""

    strategy = "factorised_dot_product"
    mix = staticmethod(split_heads_mix)

    def __init__(self, dim: int, heads: int, *, impl: str = "sdpa", qkv_bias: bool = True) -> None:
        if heads % 2:
            raise ValueError(f"factorised_dot_product splits the heads in two halves; heads={heads} is odd")
        super().__init__(dim, heads, impl=impl, qkv_bias=qkv_bias)


class WindowAttention3D(SingleGroupingAttention):
    """Attention within non-overlapping ``(wt, wh, ww)`` windows of the token grid (Video Swin, unshifted)."""

    strategy = "window"

    def __init__(self, dim: int, heads: int, *, impl: str = "sdpa", qkv_bias: bool = True,
                 window: tuple[int, int, int] = DEFAULT_WINDOW) -> None:
        if len(window) != 3:
            raise ValueError(f"window must be (wt, wh, ww), got {window!r}")
        self.window = tuple(int(w) for w in window)
        self.mix = partial(window_mix, window=self.window)
        super().__init__(dim, heads, impl=impl, qkv_bias=qkv_bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, window={self.window}"


class TwoStageAttention(VideoAttention):
    """Two attentions in sequence with the residual between them kept inside: ``u + second(LN(x + u))``."""

    first_mix: Mix = staticmethod(temporal_mix)
    second_mix: Mix = staticmethod(spatial_mix)
    first_fc = False  # TimeSformer projects the temporal result once more (``temporal_fc``)

    def __init__(self, dim: int, heads: int, *, impl: str = "sdpa", qkv_bias: bool = True) -> None:
        super().__init__()
        self.first = ProjectedAttention(dim, heads, self.first_mix, impl=impl, qkv_bias=qkv_bias)
        self.first_proj = nn.Linear(dim, dim) if self.first_fc else nn.Identity()
        self.norm_mid = nn.LayerNorm(dim)
        self.second = ProjectedAttention(dim, heads, self.second_mix, impl=impl, qkv_bias=qkv_bias)

    def forward(self, x: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        first = self.first_proj(self.first(x, grid))  # (B, T, S, C)
        return first + self.second(self.norm_mid(x + first), grid)

    def core(self, qkv: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        impl = self.first.impl
        return self.first_mix(qkv, grid, impl) + self.second_mix(qkv, grid, impl)


class DividedSpaceTimeAttention(TwoStageAttention):
    """TimeSformer's divided space-time attention: temporal, ``temporal_fc``, then spatial (its ``vit.py`` order).

    ViViT reports that the order of the two makes no difference to accuracy; the cost is the same either way.
    """

    strategy = "divided"
    first_mix = staticmethod(temporal_mix)
    second_mix = staticmethod(spatial_mix)
    first_fc = True


class FactorisedSelfAttention(TwoStageAttention):
    """ViViT model 3: spatial self-attention, then temporal self-attention, in every block."""

    strategy = "factorised_self_attention"
    first_mix = staticmethod(spatial_mix)
    second_mix = staticmethod(temporal_mix)


class FactorisedEncoderAttention(VideoAttention):
    """One block of ViViT model 2: spatial attention, then full attention among the ``T`` per-frame mean tokens,
    whose result is broadcast back to every token of its frame."""

    strategy = "factorised_encoder"

    def __init__(self, dim: int, heads: int, *, impl: str = "sdpa", qkv_bias: bool = True) -> None:
        super().__init__()
        self.spatial = ProjectedAttention(dim, heads, spatial_mix, impl=impl, qkv_bias=qkv_bias)
        self.norm_mid = nn.LayerNorm(dim)
        self.frames = ProjectedAttention(dim, heads, full_mix, impl=impl, qkv_bias=qkv_bias)

    def forward(self, x: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        spatial = self.spatial(x, grid)  # (B, T, S, C)
        frame_tokens = (x + spatial).mean(dim=2, keepdim=True)  # (B, T, 1, C): one summary token per frame
        temporal = self.frames(self.norm_mid(frame_tokens), (1, 1))  # (B, T, 1, C)
        return spatial + temporal  # the frame result is broadcast over the S tokens of its frame

    def core(self, qkv: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        impl = self.spatial.impl
        frame_qkv = qkv.mean(dim=2, keepdim=True)  # (B, T, 1, 3, heads, d)
        return spatial_mix(qkv, grid, impl) + full_mix(frame_qkv, (1, 1), impl)


# -- registry and factory ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StrategyInfo:
    name: str
    cls: type[VideoAttention]
    summary: str


ATTENTION_STRATEGIES: dict[str, StrategyInfo] = {
    info.name: info
    for info in [
        StrategyInfo("full", JointSpaceTimeAttention, "joint space-time: every token attends to every token"),
        StrategyInfo("spatial", SpatialAttention, "within each frame"),
        StrategyInfo("temporal", TemporalAttention, "across frames at each spatial location"),
        StrategyInfo("divided", DividedSpaceTimeAttention, "TimeSformer: temporal, temporal_fc, then spatial"),
        StrategyInfo("factorised_encoder", FactorisedEncoderAttention,
                     "ViViT model 2 (one block): spatial, then among per-frame summary tokens"),
        StrategyInfo("factorised_self_attention", FactorisedSelfAttention,
                     "ViViT model 3: spatial, then temporal"),
        StrategyInfo("factorised_dot_product", FactorisedDotProductAttention,
                     "ViViT model 4: half the heads spatial, half temporal"),
        StrategyInfo("window", WindowAttention3D, "non-overlapping local 3D windows (Video Swin, unshifted)"),
    ]
}
STRATEGY_ALIASES = {
    "joint": "full",
    "timesformer": "divided",
    "fe": "factorised_encoder",
    "fsa": "factorised_self_attention",
    "fdp": "factorised_dot_product",
    "local": "window",
}


def resolve_strategy(name: str) -> str:
    """Canonical strategy name for a name or alias (case and ``-``/``_`` insensitive)."""
    key = name.strip().lower().replace("-", "_")
    key = STRATEGY_ALIASES.get(key, key)
    if key not in ATTENTION_STRATEGIES:
        known = ", ".join([*ATTENTION_STRATEGIES, *STRATEGY_ALIASES])
        raise ValueError(f"unknown attention strategy {name!r} (known: {known})")
    return key


def build_attention(strategy: str, dim: int, heads: int, **kwargs) -> VideoAttention:
    """Build a strategy by name: ``impl`` ("sdpa", "plain" or "flex"), ``qkv_bias`` and, for ``window``, ``window``."""
    impl = kwargs.get("impl", "sdpa")
    if impl not in IMPLS:
        raise ValueError(f"unknown attention impl {impl!r} (known: {', '.join(IMPLS)})")
    return ATTENTION_STRATEGIES[resolve_strategy(strategy)].cls(dim, heads, **kwargs)


class AttentionBlock(nn.Module):
    """A pre-norm transformer block around any strategy: ``x + attn(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, heads: int, strategy: str = "full", *, mlp_ratio: float = 4.0, **kwargs) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = build_attention(strategy, dim, heads, **kwargs)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, grid: Grid | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), grid)
        return x + self.mlp(self.norm2(x))
