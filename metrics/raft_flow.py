"""RAFT optical flow (torchvision's ``raft_large``/``raft_small``) as a flow backend beside OpenCV's DIS.

VBench's dynamic degree and static filter run the original RAFT with ``raft-things.pth`` (trained on FlyingChairs
then FlyingThings) and ``iters=20``; torchvision ports those weights as ``Raft_Large_Weights.C_T_V1``. Frames are
RGB in [0, 255], scaled to [-1, 1] (as RAFT does internally), padded by replication to a multiple of 8 and centred
(RAFT's ``InputPadder``), and the flow is cropped back to the frame. Pairs run in batches on ``device`` (the GPU when
present). Weights: ``--metric-args temporal.weights=PATH`` or ``vbench-lite weights fetch raft-large``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from metrics.hardware import tf32_policy
from metrics.image_features import load_checked, read_state_dict
from vbench_lite.model_zoo import RAFT_LARGE, RAFT_SMALL

SPECS = {"raft_large": RAFT_LARGE, "raft_small": RAFT_SMALL}


def build_raft(arch: str, path: str | os.PathLike) -> torch.nn.Module:
    """torchvision ``raft_large``/``raft_small`` with no weights, then the state dict of ``path`` (checked)."""
    from torchvision.models import optical_flow

    model = getattr(optical_flow, arch)(weights=None, progress=False)
    load_checked(model, read_state_dict(path, arch), path, f"torchvision {arch}")
    return model.eval()


#: torchvision's RAFT needs feature maps of at least 16 x 16 (its 4-level correlation pyramid), i.e. 128 pixels.
MIN_SIDE = 128


def pad_to_multiple(x: torch.Tensor, multiple: int = 8, min_side: int = MIN_SIDE
                    ) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Replicate-pad ``(N, C, H, W)`` to multiples of ``multiple`` and at least ``min_side``, centred; returns
    ``(padded, (l, r, t, b))``. Frames under 128 pixels (tests, thumbnails) are padded where original RAFT would
    run on degenerate pyramid levels."""
    h, w = x.shape[-2:]
    pad_h, pad_w = max((-h) % multiple, min_side - h), max((-w) % multiple, min_side - w)
    pad = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    return (F.pad(x, pad, mode="replicate") if any(pad) else x), pad


class RaftEstimator:
    """``estimator(prev_rgb, next_rgb) -> flow`` float32 ``(H, W, 2)``; :meth:`pairs` runs many pairs in batches."""

    wants_rgb = True

    def __init__(self, model: torch.nn.Module, *, iterations: int = 20, device: str = "cpu",
                 batch_size: int = 8) -> None:
        self.model = model.to(device).eval()
        self.iterations = int(iterations)
        self.device = device
        self.batch_size = int(batch_size)

    def __call__(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        return self.pairs(prev_rgb[None], next_rgb[None])[0]

    @torch.inference_mode()
    def pairs(self, prev: Sequence[np.ndarray] | np.ndarray, nxt: Sequence[np.ndarray] | np.ndarray
              ) -> list[np.ndarray]:
        a_all, b_all = np.asarray(prev), np.asarray(nxt)
        if a_all.shape != b_all.shape or a_all.ndim != 4 or a_all.shape[-1] != 3 or a_all.dtype != np.uint8:
            raise ValueError(f"RAFT flow: expected two uint8 (N, H, W, 3) stacks of one shape, got {a_all.shape} "
                             f"{a_all.dtype} and {b_all.shape} {b_all.dtype}")
        out: list[np.ndarray] = []
        for start in range(0, len(a_all), self.batch_size):
            a, b = (torch.from_numpy(np.ascontiguousarray(x[start:start + self.batch_size])).permute(0, 3, 1, 2)
                    .float().to(self.device) for x in (a_all, b_all))
            a, pad = pad_to_multiple(a * (2.0 / 255.0) - 1.0)
            b, _ = pad_to_multiple(b * (2.0 / 255.0) - 1.0)
            with tf32_policy(self.device, False):  # exact float32 on GPUs too (see metrics.hardware.tf32_policy)
                flow = self.model(a, b, num_flow_updates=self.iterations)[-1]  # (n, 2, H', W'), (u, v) in pixels
            left, right, top, bottom = pad
            flow = flow[:, :, top:flow.shape[-2] - bottom, left:flow.shape[-1] - right]
            out.extend(np.ascontiguousarray(f.permute(1, 2, 0).float().cpu().numpy()) for f in flow)
        return out


__all__ = ["SPECS", "RaftEstimator", "build_raft", "pad_to_multiple"]
