"""CLIP similarity maths: cosines between embeddings, CLIPScore, and per-video aggregation.

With unit-norm CLIP embeddings ``e(f_i)`` of the ``k`` sampled frames of a clip and ``e(p)`` of its prompt:

    cos_i           = <e(f_i), e(p)> / (|e(f_i)| |e(p)|)
    clip_similarity = 1/k * sum_i cos_i
    clipscore       = 1/k * sum_i w * max(cos_i, 0)        with w = 2.5 (Hessel et al., 2021)

CLIPScore is clamped and rescaled per frame and only then averaged, so a frame that matches the prompt less than
an orthogonal one counts as 0, never below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Hessel et al. rescale the clamped cosine by 2.5 so that typical scores of the original CLIP span ~[0, 1].
CLIPSCORE_WEIGHT = 2.5


def cosine_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Cosine of every row of ``a`` (N, D) with every row of ``b`` (M, D) -> (N, M), in the inputs' dtype."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) embeddings, got {tuple(a.shape)} and {tuple(b.shape)}")
    return F.normalize(a, dim=1, eps=eps) @ F.normalize(b, dim=1, eps=eps).T


def clip_score(cosines: torch.Tensor, weight: float = CLIPSCORE_WEIGHT) -> torch.Tensor:
    """CLIPScore of each cosine: ``weight * max(cos, 0)``, elementwise."""
    return weight * cosines.clamp(min=0)


def frame_text_cosines(frame_embeddings: torch.Tensor, text_embedding: torch.Tensor) -> torch.Tensor:
    """Cosine of each frame embedding (k, D) with one text embedding (D,) -> (k,)."""
    return cosine_matrix(frame_embeddings, text_embedding.reshape(1, -1))[:, 0]


def video_text_scores(frame_cosines: torch.Tensor, weight: float = CLIPSCORE_WEIGHT) -> dict[str, torch.Tensor]:
    """Per-video scores from the (k,) frame-prompt cosines: ``clip_similarity`` (mean cosine) and ``clipscore``."""
    if frame_cosines.ndim != 1 or frame_cosines.numel() == 0:
        raise ValueError(f"expected a non-empty (k,) vector of frame cosines, got shape {tuple(frame_cosines.shape)}")
    return {"clip_similarity": frame_cosines.mean(), "clipscore": clip_score(frame_cosines, weight).mean()}

