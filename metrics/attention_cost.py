"""Analytic cost of video attention: tokens and query-key pairs, matmul FLOPs and MACs, score-matrix bytes.

Notation: ``B`` clips, ``T`` frames, ``H x W`` tokens per frame, ``S = H*W``, ``N = T*S``, width ``C``, ``h`` heads of
``d = C/h`` channels, MLP hidden ``r*C``.

Conventions
- **FLOPs are matmul FLOPs at 2 per multiply-add; MACs = FLOPs / 2.** That is what
  ``torch.utils.flop_counter.FlopCounterMode`` counts, and the tests check that these formulas equal its count
  exactly for every strategy (plain and fused attention paths). Bias adds are not counted (nor by the counter).
- **Pairs** are query-key pairs per head, per clip: the number of entries of all score matrices of one head.
  ``full = N^2``, ``spatial = T*S^2``, ``temporal = S*T^2``, ``window = N*(wt*wh*ww)``; composite strategies add
  their parts (``factorised_dot_product`` averages its spatial and temporal halves over the heads).
- **Attention core** (``QK^T`` and ``softmax(.) V``): ``2*d`` FLOPs per pair each, so ``4*C*pairs`` per clip.
- **Projections**: qkv ``2*N*C*3C`` and output ``2*N*C*C``, i.e. ``8*N*C^2`` per attention sublayer (TimeSformer's
  ``temporal_fc`` adds ``2*N*C^2``); **MLP** ``4*r*N*C^2``.
- **Not in matmul FLOPs**: scaling and softmax. ``softmax_flops`` is an estimate under a stated convention, not a
  count: 5 FLOPs per score (max, subtract, exp, sum, divide) plus 1 per query element for the ``1/sqrt(d)`` scale.
- **Bytes**: a materialised score matrix holds ``B*h*Lq*Lk`` elements per attention call; the calls of a module
  run one after another, so its peak is the largest call. The plain path keeps the scores and the fp32 softmax
  (plus its cast back for half types) alive together: ``PLAIN_BYTES_PER_SCORE`` = 8 bytes per score for
  float32 and bfloat16 alike. A flash-style kernel streams key/value tiles and keeps only a running max and sum per
  query row (``4*B*h*Lq`` bytes of fp32 statistics) besides fixed-size tiles.

Whole published models are data, costed with these plans by :mod:`vbench_lite.lab.model_costs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reference_models.attention import ATTENTION_STRATEGIES, DEFAULT_WINDOW, resolve_strategy, window_size

#: Bytes of live attention matrices per score on the plain path: scores + fp32 softmax (+ cast back for bf16).
PLAIN_BYTES_PER_SCORE = 8
#: Bytes per query row a flash-style kernel keeps (running max and sum, or the logsumexp, in fp32).
FLASH_BYTES_PER_ROW = 4
SOFTMAX_FLOPS_PER_SCORE = 5
DTYPE_BYTES = {"float32": 4, "float": 4, "bfloat16": 2, "float16": 2, "half": 2, "float64": 8}
STRATEGIES = tuple(ATTENTION_STRATEGIES)


# -- plans: the matmuls a module runs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LinearCost:
    """A linear layer applied to ``rows`` rows: ``2*rows*in*out`` FLOPs."""

    name: str
    rows: int
    in_features: int
    out_features: int

    @property
    def flops(self) -> int:
        return 2 * self.rows * self.in_features * self.out_features


@dataclass(frozen=True)
class AttentionCall:
    """One attention call as the kernel sees it: ``batch`` sequences, ``heads`` heads, ``q_len x k_len`` scores."""

    name: str
    batch: int
    heads: int
    q_len: int
    k_len: int
    head_dim: int

    @property
    def scores(self) -> int:
        """Score-matrix entries of the call, all heads."""
        return self.batch * self.heads * self.q_len * self.k_len

    @property
    def flops(self) -> int:
        return 2 * self.scores * self.head_dim + 2 * self.scores * self.head_dim  # q k^T, then softmax(.) v

    @property
    def query_rows(self) -> int:
        return self.batch * self.heads * self.q_len

    def bytes_moved(self, element_bytes: int) -> int:
        """Compulsory traffic of a fused kernel: read q, k, v once, write the output once."""
        return self.batch * self.heads * self.head_dim * (2 * self.q_len + 2 * self.k_len) * element_bytes


@dataclass(frozen=True)
class CostPlan:
    """The linear layers and attention calls of one forward pass, and the costs that follow from them."""

    heads: int
    linears: tuple[LinearCost, ...] = ()
    attentions: tuple[AttentionCall, ...] = ()

    def __add__(self, other: CostPlan) -> CostPlan:
        return CostPlan(self.heads, self.linears + other.linears, self.attentions + other.attentions)

    @property
    def core_flops(self) -> int:
        return sum(a.flops for a in self.attentions)

    @property
    def linear_flops(self) -> int:
        return sum(lin.flops for lin in self.linears)

    @property
    def matmul_flops(self) -> int:
        return self.core_flops + self.linear_flops

    @property
    def macs(self) -> int:
        return self.matmul_flops // 2

    @property
    def problems(self) -> int:
        """Independent (sequence, head) attention problems: the units a kernel works through one by one."""
        return sum(a.batch * a.heads for a in self.attentions)

    @property
    def scores(self) -> int:
        """All score-matrix entries, summed over calls and heads."""
        return sum(a.scores for a in self.attentions)

    @property
    def pairs(self) -> int:
        """Query-key pairs per head (``scores / heads``)."""
        total = self.scores
        if total % self.heads:
            raise ValueError(f"{total} scores do not split evenly over {self.heads} heads")
        return total // self.heads

    @property
    def softmax_flops(self) -> int:
        """Estimate (not a count): 5 per score plus 1 per query element for the scale."""
        return sum(SOFTMAX_FLOPS_PER_SCORE * a.scores + a.query_rows * a.head_dim for a in self.attentions)

    def score_matrix_bytes(self, dtype: str = "float32") -> int:
        """Bytes of the largest single materialised score matrix (one attention call, all heads)."""
        return max((a.scores for a in self.attentions), default=0) * dtype_bytes(dtype)

    def plain_attention_bytes(self) -> int:
        """Peak bytes of live score/probability matrices on the plain path (largest call)."""
        return max((a.scores for a in self.attentions), default=0) * PLAIN_BYTES_PER_SCORE

    def flash_state_bytes(self) -> int:
        """Per-row softmax statistics a flash-style kernel keeps (largest call), tiles aside."""
        return max((a.query_rows for a in self.attentions), default=0) * FLASH_BYTES_PER_ROW

    def bytes_moved(self, dtype: str = "float32") -> int:
        """Compulsory bytes of the attention calls (q, k, v read and output written once each, summed over calls):
        the denominator of the arithmetic intensity (``4*N*C*bytes`` per call for every single-grouping strategy).
        Re-reads of k/v tiles by a flash kernel and the reshape path's copies are extra traffic above it."""
        return sum(a.bytes_moved(dtype_bytes(dtype)) for a in self.attentions)

    def arithmetic_intensity(self, dtype: str = "float32") -> float:
        """Attention-core FLOPs per compulsory byte."""
        moved = self.bytes_moved(dtype)
        return self.core_flops / moved if moved else 0.0

    def attention_bytes(self, impl: str) -> int:
        """Peak bytes the attention itself needs beyond q, k, v and the output, for ``impl``."""
        return self.plain_attention_bytes() if impl == "plain" else self.flash_state_bytes()


def dtype_bytes(dtype: str) -> int:
    name = str(dtype).replace("torch.", "")
    if name not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r} (known: {', '.join(DTYPE_BYTES)})")
    return DTYPE_BYTES[name]


def _head_dim(dim: int, heads: int) -> int:
    if dim < 1 or heads < 1 or dim % heads:
        raise ValueError(f"dim {dim} must be a positive multiple of heads {heads}")
    return dim // heads


def _sublayer(name: str, rows: int, dim: int, heads: int, calls: Iterable[AttentionCall]) -> CostPlan:
    """qkv projection, the attention calls, output projection."""
    return CostPlan(heads, (LinearCost(f"{name}.qkv", rows, dim, 3 * dim), LinearCost(f"{name}.proj", rows, dim, dim)),
                    tuple(calls))


def attention_plan(strategy: str, frames: int, height: int, width: int, dim: int, heads: int, *, batch: int = 1,
                   window: Sequence[int] = DEFAULT_WINDOW) -> CostPlan:
    """The matmuls of ``reference_models.attention.build_attention(strategy, dim, heads)`` on a ``(B, T, H*W, C)``
    input, written out from the formulas (not by running the module)."""
    name = resolve_strategy(strategy)
    B, T, S = batch, frames, height * width
    N, h, d = T * S, heads, _head_dim(dim, heads)
    if min(B, T, height, width) < 1:
        raise ValueError(f"batch, frames and grid must be positive, got B={B}, T={T}, grid={height}x{width}")

    def full(rows_batch: int, length: int, n_heads: int = h) -> AttentionCall:
        return AttentionCall("full", rows_batch, n_heads, length, length, d)

    spatial = AttentionCall("spatial", B * T, h, S, S, d)  # one sequence per frame
    temporal = AttentionCall("temporal", B * S, h, T, T, d)  # one sequence per location
    if name == "full":
        return _sublayer("full", B * N, dim, h, [full(B, N)])
    if name == "spatial":
        return _sublayer("spatial", B * N, dim, h, [spatial])
    if name == "temporal":
        return _sublayer("temporal", B * N, dim, h, [temporal])
    if name == "window":
        wt, wh, ww = window_size(T, (height, width), tuple(window))
        volume = wt * wh * ww
        return _sublayer("window", B * N, dim, h, [AttentionCall("window", B * N // volume, h, volume, volume, d)])
    if name == "factorised_dot_product":
        if h % 2:
            raise ValueError(f"factorised_dot_product needs an even number of heads, got {h}")
        half = h // 2
        return _sublayer("fdp", B * N, dim, h, [AttentionCall("spatial", B * T, half, S, S, d),
                                                 AttentionCall("temporal", B * S, half, T, T, d)])
    if name == "divided":
        temporal_fc = CostPlan(h, (LinearCost("temporal_fc", B * N, dim, dim),))
        return (_sublayer("temporal", B * N, dim, h, [temporal]) + temporal_fc
                + _sublayer("spatial", B * N, dim, h, [spatial]))
    if name == "factorised_self_attention":
        return _sublayer("spatial", B * N, dim, h, [spatial]) + _sublayer("temporal", B * N, dim, h, [temporal])
    if name == "factorised_encoder":
        return (_sublayer("spatial", B * N, dim, h, [spatial])
                + _sublayer("frames", B * T, dim, h, [AttentionCall("frames", B, h, T, T, d)]))
    raise AssertionError(f"no cost formula for strategy {name!r}")  # every registered strategy has one above


def core_plan(strategy: str, frames: int, height: int, width: int, dim: int, heads: int, **kwargs: Any) -> CostPlan:
    """Only the attention calls (what ``VideoAttention.core`` runs)."""
    plan = attention_plan(strategy, frames, height, width, dim, heads, **kwargs)
    return CostPlan(plan.heads, (), plan.attentions)


def mlp_plan(rows: int, dim: int, mlp_ratio: float, heads: int = 1, *, hidden: int | None = None) -> CostPlan:
    hidden = hidden or int(dim * mlp_ratio)
    return CostPlan(heads, (LinearCost("mlp.fc1", rows, dim, hidden), LinearCost("mlp.fc2", rows, hidden, dim)))


def block_plan(strategy: str, frames: int, height: int, width: int, dim: int, heads: int, *, mlp_ratio: float = 4.0,
               batch: int = 1, **kwargs: Any) -> CostPlan:
    """``reference_models.attention.AttentionBlock``: the attention strategy plus the MLP."""
    rows = batch * frames * height * width
    return (attention_plan(strategy, frames, height, width, dim, heads, batch=batch, **kwargs)
            + mlp_plan(rows, dim, mlp_ratio, heads))


def cross_attention_plan(tokens: int, context_tokens: int, dim: int, heads: int, *, batch: int = 1) -> CostPlan:
    """Video tokens attend over ``context_tokens`` caption tokens (PixArt / Open-Sora ``MultiHeadCrossAttention``)."""
    d = _head_dim(dim, heads)
    return CostPlan(heads, (LinearCost("cross.q", batch * tokens, dim, dim),
                            LinearCost("cross.kv", batch * context_tokens, dim, 2 * dim),
                            LinearCost("cross.proj", batch * tokens, dim, dim)),
                    (AttentionCall("cross", batch, heads, tokens, context_tokens, d),))


# -- token and pair arithmetic ----------------------------------------------------------------------------------
def token_count(frames: int, height: int, width: int) -> int:
    return frames * height * width


def pair_count(strategy: str, frames: int, height: int, width: int, *,
               window: Sequence[int] = DEFAULT_WINDOW) -> int:
    """Query-key pairs per head for one clip (independent of width and head count)."""
    return attention_plan(strategy, frames, height, width, dim=2, heads=2, window=window).pairs


def tokens_table(frames: int, height: int, width: int, strategies: Sequence[str] = STRATEGIES, *,
                 window: Sequence[int] = DEFAULT_WINDOW, dtype: str = "bfloat16") -> list[dict[str, Any]]:
    """Per strategy: pairs per head, share of full attention, bytes of its scores per head if materialised."""
    full = pair_count("full", frames, height, width)
    rows = []
    for strategy in strategies:
        try:
            pairs = pair_count(strategy, frames, height, width, window=window)
        except ValueError as exc:  # e.g. a window that does not tile this grid
            rows.append({"strategy": resolve_strategy(strategy), "pairs": None, "note": str(exc)})
            continue
        rows.append({"strategy": resolve_strategy(strategy), "pairs": pairs, "fraction_of_full": pairs / full,
                     "score_bytes_per_head": pairs * dtype_bytes(dtype), "dtype": dtype})
    return rows


# -- roofline ---------------------------------------------------------------------------------------------------
def roofline_bound(intensity: float, peak_flops_per_s: float, bandwidth_bytes_per_s: float) -> float:
    """Attainable FLOP/s at an arithmetic intensity: ``min(compute roof, intensity x bandwidth)`` (Williams et
    al., "Roofline", CACM 2009)."""
    if intensity < 0 or peak_flops_per_s <= 0 or bandwidth_bytes_per_s <= 0:
        raise ValueError("roofline needs a non-negative intensity and positive peak and bandwidth")
    return min(peak_flops_per_s, intensity * bandwidth_bytes_per_s)


def ridge_point(peak_flops_per_s: float, bandwidth_bytes_per_s: float) -> float:
    """The intensity (FLOPs/byte) where the memory roof meets the compute roof."""
    return peak_flops_per_s / bandwidth_bytes_per_s


# -- NaViT packing ----------------------------------------------------------------------------------------------
def packed_plan(clips: Sequence[Sequence[int]], dim: int, heads: int) -> CostPlan:
    """Clips ``(T_i, H_i, W_i)`` packed in one sequence with a block-diagonal mask: only same-clip pairs count
    (what a block-sparse kernel with tiles aligned to clips computes); projections on ``sum N_i`` rows."""
    d = _head_dim(dim, heads)
    lengths = [math.prod(c) for c in clips]
    calls = [AttentionCall(f"clip{i}", 1, heads, n, n, d) for i, n in enumerate(lengths)]
    return _sublayer("packed", sum(lengths), dim, heads, calls)


def padded_plan(clips: Sequence[Sequence[int]], dim: int, heads: int) -> CostPlan:
    """The same clips padded to the longest and batched: ``B * max(N_i)^2`` pairs, ``B * max(N_i)`` rows."""
    d = _head_dim(dim, heads)
    longest = max(math.prod(c) for c in clips)
    return _sublayer("padded", len(clips) * longest, dim, heads,
                     [AttentionCall("padded", len(clips), heads, longest, longest, d)])
