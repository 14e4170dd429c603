"""The pure rules of the video-text dimensions against loops written like VBench's code (Vchitect/VBench 45e79ec).

Tolerances: index and success rules are exact; float rules within 1e-12 (float64 against float64 loops).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metrics.functional.vbench_video_text import (
    action_success,
    confident_top_k,
    frame_text_cosines,
    mean_frame_embedding,
    middle_frame_indices,
    sigmoid,
    style_frame_scores,
    video_text_cosine,
    zero_shot_frame_success,
)


def vbench_middle_indices(num_frames: int, vlen: int) -> list[int]:
    """``vbench/utils.py:get_frame_indices(num_frames, vlen, sample="middle")`` written as VBench writes it."""
    acc_samples = min(num_frames, vlen)
    intervals = np.linspace(start=0, stop=vlen, num=acc_samples + 1).astype(int)
    ranges = []
    for idx, interv in enumerate(intervals[:-1]):
        ranges.append((interv, intervals[idx + 1] - 1))
    frame_indices = [(x[0] + x[1]) // 2 for x in ranges]
    if len(frame_indices) < num_frames:
        padded = [frame_indices[-1]] * num_frames
        padded[:len(frame_indices)] = frame_indices
        frame_indices = padded
    return [int(i) for i in frame_indices]


@pytest.mark.parametrize("num_frames", [1, 8, 16])
@pytest.mark.parametrize("vlen", [1, 3, 8, 15, 16, 17, 33, 120])
def test_middle_indices_are_vbenchs(num_frames, vlen):
    assert middle_frame_indices(num_frames, vlen).tolist() == vbench_middle_indices(num_frames, vlen)


def test_middle_indices_by_hand():
    # 16 frames, 8 samples: intervals 0,2,4,...,16 -> ranges (0,1),(2,3)... -> middles 0,2,4,...,14
    assert middle_frame_indices(8, 16).tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    # 3 frames, 8 samples: 0,1,2 then padded with 2
    assert middle_frame_indices(8, 3).tolist() == [0, 1, 2, 2, 2, 2, 2, 2]
    with pytest.raises(ValueError):
        middle_frame_indices(8, 0)


def vbench_human_action(logits: np.ndarray, label_index: int, cat_dict: dict[str, str], target: str) -> bool:
    """The per-video decision of ``vbench/human_action.py:human_action``, with torch as VBench."""
    probs = torch.sigmoid(torch.tensor(logits)[None])
    results, indices = torch.topk(probs, 5, dim=1)
    indices, results = indices.squeeze().tolist(), [round(f, 4) for f in results.squeeze().tolist()]
    cat_ls = [cat_dict[str(indices[i])] for i in range(5) if results[i] >= 0.85]
    return any(cat == target for cat in cat_ls)


def test_action_rule_matches_vbench_on_random_logits():
    rng = np.random.default_rng(0)
    labels = [f"action {i}" for i in range(20)]
    cat_dict = {str(i): lb for i, lb in enumerate(labels)}
    decided = []
    for trial in range(300):
        logits = rng.normal(0.0, 2.5, size=20)
        target = int(rng.integers(0, 20))
        if trial % 3 == 0:  # make the target the best class half the time, so both outcomes occur
            logits[target] = logits.max() + rng.uniform(0, 2)
        mine = action_success(sigmoid(logits), target)
        assert mine == float(vbench_human_action(logits, target, cat_dict, labels[target]))
        decided.append(mine)
    assert 0 < np.mean(decided) < 1


def test_action_rule_by_hand():
    # sigmoid(2) = 0.8808 >= 0.85; sigmoid(1.7) = 0.8455 < 0.85; the 6th best is outside the top 5
    logits = np.array([5.0, 4.0, 3.0, 2.5, 2.0, 1.9, 1.7])
    scores = sigmoid(logits)
    assert confident_top_k(scores).tolist() == [0, 1, 2, 3, 4]
    assert action_success(scores, 4) == 1.0
    assert action_success(scores, 5) == 0.0  # confident (0.8699) but 6th
    assert action_success(scores, 6) == 0.0  # below the threshold
    assert action_success(scores, 5, top_k=6) == 1.0
    # VBench rounds to 4 decimals first: 0.84996 rounds to 0.85 and counts
    assert action_success(np.array([0.84996, 0.1]), 0) == 1.0
    assert action_success(np.array([0.84994, 0.1]), 0) == 0.0
    assert sigmoid(np.array([0.0, 1000.0, -1000.0])).tolist() == [0.5, 1.0, 0.0]
    with pytest.raises(ValueError):
        action_success(scores, 7)
    with pytest.raises(ValueError):
        confident_top_k(np.array([np.nan, 1.0]))


def test_style_scores_are_vbenchs_logits_over_100():
    """``logits_per_text / 100`` of CLIP's forward: ``logit_scale.exp() * text @ image.T / 100``."""
    rng = np.random.default_rng(1)
    frames, text = rng.normal(size=(5, 16)), rng.normal(size=16)
    scale = math.log(100.0)
    img = torch.tensor(frames) / torch.tensor(frames).norm(dim=-1, keepdim=True)
    txt = torch.tensor(text)[None] / torch.tensor(text).norm()
    vbench = [float((math.exp(scale) * txt @ img[i:i + 1].T)[0][0]) / 100 for i in range(5)]
    np.testing.assert_allclose(style_frame_scores(frames, text, scale), vbench, rtol=0, atol=1e-12)
    # another scale (a toy CLIP's): scores scale with exp(logit_scale)
    np.testing.assert_allclose(style_frame_scores(frames, text, math.log(50.0)), np.array(vbench) / 2, atol=1e-12)


def test_cosines_by_hand():
    frames = np.array([[3.0, 4.0], [0.0, -2.0]])
    assert frame_text_cosines(frames, np.array([1.0, 0.0])).tolist() == pytest.approx([0.6, 0.0], abs=1e-12)
    assert video_text_cosine(np.array([1.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    # the toy video embedding: mean of unit rows [0.6, 0.8] and [0, -1] = [0.3, -0.1]
    np.testing.assert_allclose(mean_frame_embedding(frames), [0.3, -0.1], atol=1e-12)
    with pytest.raises(ValueError):
        frame_text_cosines(frames, np.zeros(2))
    with pytest.raises(ValueError):
        frame_text_cosines(frames, np.ones(3))


def test_zero_shot_frame_success_by_hand():
    labels = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    frames = np.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.5], [-1.0, 0.2]])  # top-1: 0, 1, 0, 2
    assert zero_shot_frame_success(frames, labels, 0) == 0.5
    assert zero_shot_frame_success(frames, labels, 1) == 0.25
    assert zero_shot_frame_success(frames, labels, 2) == 0.25
    with pytest.raises(ValueError):
        zero_shot_frame_success(frames, labels, 3)
