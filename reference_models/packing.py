"""NaViT-style packing: clips of different sizes and durations in ONE sequence with a block-diagonal mask.

NaViT (Dehghani et al., "Patch n' Pack", NeurIPS 2023, Sec. 2.1) packs the patches of several images into one
sequence and masks attention so that a token attends only within its own example. For video the examples are
clips of ``T_i x H_i x W_i`` tokens: the packed sequence has ``sum N_i`` tokens, the useful work is
``sum N_i^2`` query-key pairs per head, against ``B * max(N_i)^2`` when every clip is padded to the longest
(and a key-padding mask hides the padding).

Three ways to compute the same thing, which the tests check against each other:

- :func:`separate_attention`: one attention per clip (the reference);
- :func:`packed_attention`: the packed sequence; ``impl="flex"`` is one block-sparse FlexAttention call that skips
  the empty tiles, ``"sdpa"``/``"plain"`` use a dense boolean block-diagonal mask (all ``(sum N_i)^2`` scores are
  computed, the mask only hides them: correct but not cheaper);
- :func:`padded_attention`: clips padded to the longest and batched, with a key-padding mask.

Clips are given as projected ``qkv`` tensors ``(N_i, 3, heads, d)`` (tokens flattened in any order).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from reference_models.attention_flex import flex_packed


def document_ids(lengths: Sequence[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """The clip index of every token of the packed sequence: ``[0]*N_0 + [1]*N_1 + ...``."""
    if not lengths or min(lengths) < 1:
        raise ValueError(f"packing needs at least one clip and positive lengths, got {list(lengths)}")
    return torch.repeat_interleave(torch.arange(len(lengths), device=device),
                                   torch.as_tensor(list(lengths), device=device))


def block_diagonal_mask(lengths: Sequence[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """Boolean ``(sum N, sum N)`` mask, True where query and key belong to the same clip."""
    doc = document_ids(lengths, device)
    return doc[:, None] == doc[None, :]


def _heads_first(qkv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(n, L, 3, heads, d)`` -> three ``(n, heads, L, d)``."""
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    return q, k, v


def _attend(q, k, v, mask: torch.Tensor | None, impl: str) -> torch.Tensor:
    if impl == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if impl == "plain":
        scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return scores.softmax(dim=-1, dtype=torch.float32).to(v.dtype) @ v
    raise ValueError(f"unknown attention impl {impl!r} (known: sdpa, plain, flex)")


def separate_attention(clips: Sequence[torch.Tensor], impl: str = "plain") -> list[torch.Tensor]:
    """One attention call per clip: ``(N_i, 3, heads, d)`` -> ``(N_i, heads*d)`` each."""
    outs = []
    for qkv in clips:
        out = _attend(*_heads_first(qkv[None]), None, impl)  # (1, heads, N_i, d)
        outs.append(out[0].transpose(0, 1).reshape(qkv.shape[0], -1))
    return outs


def pack(clips: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[int]]:
    """Concatenate clips into one ``(1, sum N, 3, heads, d)`` sequence; returns it and the clip lengths."""
    lengths = [int(c.shape[0]) for c in clips]
    if not lengths:
        raise ValueError("packing needs at least one clip")
    return torch.cat(list(clips), dim=0)[None], lengths


def unpack(seq: torch.Tensor, lengths: Sequence[int]) -> list[torch.Tensor]:
    """Split a packed ``(sum N, C)`` output back into the clips' ``(N_i, C)``."""
    return list(torch.split(seq, list(lengths), dim=0))


def packed_attention(clips: Sequence[torch.Tensor], impl: str = "flex") -> list[torch.Tensor]:
    """All clips in one sequence, block-diagonal mask: same result as :func:`separate_attention`."""
    seq, lengths = pack(clips)
    q, k, v = _heads_first(seq)  # (1, heads, sum N, d)
    if impl == "flex":
        out = flex_packed(q, k, v, document_ids(lengths, seq.device))
    else:
        out = _attend(q, k, v, block_diagonal_mask(lengths, seq.device), impl)
    return unpack(out[0].transpose(0, 1).reshape(seq.shape[1], -1), lengths)


def padded_attention(clips: Sequence[torch.Tensor], impl: str = "sdpa") -> list[torch.Tensor]:
    """Clips zero-padded to the longest, batched, with a key-padding mask: same result, ``B*max(N)^2`` scores."""
    lengths = [int(c.shape[0]) for c in clips]
    longest = max(lengths)
    batch = torch.stack([F.pad(c, (0, 0, 0, 0, 0, 0, 0, longest - c.shape[0])) for c in clips])  # (B, L, 3, h, d)
    keys = torch.arange(longest, device=batch.device)[None, :] < torch.as_tensor(lengths, device=batch.device)[:, None]
    mask = keys[:, None, None, :]  # (B, 1, 1, L): every query sees its clip's real keys only
    out = _attend(*_heads_first(batch), mask, impl)  # (B, heads, L, d)
    return [o.transpose(0, 1).reshape(longest, -1)[:n] for o, n in zip(out, lengths)]


def navit_clip_mix(frames: int, grid: tuple[int, int]) -> list[tuple[int, int, int]]:
    """The clip sizes the sweep packs for a ``(frames, H x W)`` configuration: the clip itself, half its duration,
    half its resolution, and a quarter duration at half resolution (sides rounded down, at least 1), a mix of
    durations and sizes like a NaViT batch."""
    H, W = grid
    half = (max(H // 2, 1), max(W // 2, 1))
    return [(frames, H, W), (max(frames // 2, 1), H, W), (frames, *half), (max(frames // 4, 1), *half)]
