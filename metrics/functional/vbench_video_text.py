"""The rules of VBench's video-text dimensions (human_action, scene, appearance_style, temporal_style,
overall_consistency), pure: numpy in, numbers out, ``ValueError`` on bad input.

Read from github.com/Vchitect/VBench at commit 45e79ec:

* ``vbench/utils.py:get_frame_indices(sample="middle")``: ``n`` intervals ``linspace(0, vlen, n + 1).astype(int)``,
  the middle ``(lo + hi - 1) // 2`` of each, padded with the last index when the clip is shorter than ``n``.
* ``vbench/human_action.py:human_action``: ``sigmoid(logits)``, top 5, keep those ``>= 0.85``; the clip succeeds
  when the prompt's Kinetics-400 label is among the kept ones (1 or 0 per clip).
* ``vbench/appearance_style.py:appearance_style``: per frame ``logits_per_text / 100 = exp(logit_scale) * cos / 100``
  between the frame and the style text; per clip the mean over its frames.
* ``vbench/temporal_style.py`` / ``vbench/overall_consistency.py``: the cosine of the unit video and text embeddings
  (``clip_feat @ text_feat.T``), one per clip.
* ``vbench/scene.py:scene``: the fraction of frames whose caption holds every word of the scene; we replace the
  caption by CLIP zero-shot (see ``metrics/scene.py``): the fraction of frames whose top-1 scene is the target.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

#: VBench's human_action rule: top 5 sigmoid scores, a label counts when its score is at least 0.85.
ACTION_TOP_K = 5
ACTION_THRESHOLD = 0.85


def middle_frame_indices(num_frames: int, vlen: int) -> np.ndarray:
    """VBench's ``get_frame_indices(num_frames, vlen, sample="middle")`` as int64 indices (length ``num_frames``)."""
    if num_frames < 1 or vlen < 1:
        raise ValueError(f"need at least one frame to sample from and one to take, got {num_frames} of {vlen}")
    taken = min(num_frames, vlen)
    edges = np.linspace(0, vlen, taken + 1).astype(int)
    idx = [(lo + (hi - 1)) // 2 for lo, hi in pairwise(edges)]
    idx += [idx[-1]] * (num_frames - len(idx))  # VBench pads a short clip with its last sampled frame
    return np.asarray(idx, dtype=np.int64)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, float64 (VBench scores Kinetics logits with ``torch.sigmoid``, not a softmax)."""
    x = np.asarray(logits, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # equal to 1 / (1 + exp(-x)) without overflow


def confident_top_k(scores: np.ndarray, top_k: int = ACTION_TOP_K,
                    threshold: float = ACTION_THRESHOLD) -> np.ndarray:
    """Indices of the ``top_k`` highest ``scores`` (one clip's class scores, already activated) that are at least
    ``threshold``, best first. VBench rounds each score to 4 decimals before comparing: so do we."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError(f"class scores must be finite and non-empty, got {s.size} values")
    if top_k < 1:
        raise ValueError(f"top_k must be positive, got {top_k}")
    order = np.argsort(-s, kind="stable")[:top_k]
    return order[np.round(s[order], 4) >= threshold]


def action_success(scores: np.ndarray, target: int, top_k: int = ACTION_TOP_K,
                   threshold: float = ACTION_THRESHOLD) -> float:
    """1.0 when class ``target`` is among the confident top-k of ``scores`` (VBench's per-clip result), else 0.0."""
    if not 0 <= target < np.asarray(scores).size:
        raise ValueError(f"target class {target} is not one of the {np.asarray(scores).size} classes")
    return float(target in confident_top_k(scores, top_k, threshold))


def _unit_rows(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"{what} must be finite (N, D) embeddings, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{what} has a zero embedding")
    return x / norms


def frame_text_cosines(frame_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
    """Cosine of every frame embedding (N, D) with one text embedding (D,): (N,) float64."""
    frames, text = _unit_rows(frame_emb, "frame embeddings"), _unit_rows(text_emb, "text embedding")
    if frames.shape[1] != text.shape[1]:
        raise ValueError(f"frame embeddings have {frames.shape[1]} dimensions, the text {text.shape[1]}")
    return frames @ text[0]


def style_frame_scores(frame_emb: np.ndarray, text_emb: np.ndarray, logit_scale: float) -> np.ndarray:
    """VBench's appearance_style per frame: ``exp(logit_scale) * cos(frame, text) / 100`` (CLIP's
    ``logits_per_text`` over 100; OpenAI CLIP's scale is ``ln 100``, so this is nearly the cosine)."""
    if not np.isfinite(logit_scale):
        raise ValueError(f"logit_scale must be finite, got {logit_scale}")
    return float(np.exp(logit_scale)) * frame_text_cosines(frame_emb, text_emb) / 100.0


def video_text_cosine(video_emb: np.ndarray, text_emb: np.ndarray) -> float:
    """temporal_style / overall_consistency per clip: the cosine of one video and one text embedding."""
    return float(frame_text_cosines(video_emb, text_emb)[0])


def mean_frame_embedding(frame_emb: np.ndarray) -> np.ndarray:
    """The toy video embedding: the mean of the unit frame embeddings (the toy CLIP has no temporal model)."""
    return _unit_rows(frame_emb, "frame embeddings").mean(axis=0)


def zero_shot_frame_success(frame_emb: np.ndarray, label_emb: np.ndarray, target: int) -> float:
    """The fraction of frames (N, D) whose most similar label embedding (V, D) is ``target`` (ties: the lowest
    index, as ``argmax``): the per-clip success rate of our scene rule."""
    frames, labels = _unit_rows(frame_emb, "frame embeddings"), _unit_rows(label_emb, "label embeddings")
    if not 0 <= target < labels.shape[0]:
        raise ValueError(f"target label {target} is not one of the {labels.shape[0]} labels")
    if frames.shape[1] != labels.shape[1]:
        raise ValueError(f"frame embeddings have {frames.shape[1]} dimensions, the labels {labels.shape[1]}")
    return float(np.mean(np.argmax(frames @ labels.T, axis=1) == target))


__all__ = ["ACTION_THRESHOLD", "ACTION_TOP_K", "action_success", "confident_top_k", "frame_text_cosines",
           "mean_frame_embedding", "middle_frame_indices", "sigmoid", "style_frame_scores", "video_text_cosine",
           "zero_shot_frame_success"]
