"""VBench's subject consistency: DINO ViT-B/16 CLS features of every frame, similarity to the first and previous frame.

Per clip (``vbench/subject_consistency.py`` at VBench 45e79ec; formula in
:mod:`metrics.functional.vbench_consistency`)::

    c_t = 1/2 [max(0, cos(d_t, d_0)) + max(0, cos(d_t, d_{t-1}))],  subject_consistency = mean_{t>=1} c_t

with ``d_t`` the DINO features of frame t after VBench's ``dino_transform(224)`` (short side to 224, bilinear, no
antialias, no crop; ImageNet mean/std). The network is timm's ``vit_base_patch16_224.dino`` built with
``dynamic_img_size=True`` (position embeddings interpolated for the uncropped frames, as torch-hub's DINO does);
weights come from ``--metric-args subject_consistency.weights=PATH`` (timm's file or torch-hub's
``dino_vitbase16_pretrain.pth``) or the zoo cache (``vbench-lite weights fetch dino-vitb16``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metrics.base import VideoMetric, checked_clips
from metrics.functional.vbench_consistency import consistency_terms, vbench_pixels
from metrics.image_features import (
    BatchedNetworkSettings,
    build_dino,
    file_sha256,
    resolve_device,
    resolve_file,
    run_batched,
)
from vbench_lite.model_zoo import DINO_VITB16
from vbench_lite.types import Clip, Prompt, VbenchError


@dataclass(frozen=True)
class SubjectConsistencySettings(BatchedNetworkSettings):
    """``--metric-args subject_consistency.k=v``: ``weights`` (a local file), ``arch`` (the timm architecture),
    ``batch_size`` (frames per forward pass), ``device`` (default: the GPU when present), ``allow_download``."""

    arch: str = "vit_base_patch16_224.dino"
    batch_size: int = 16


class SubjectConsistency(VideoMetric):
    """``--metrics subject_consistency``: one value per clip in [0, 1], higher is more consistent."""

    name = "subject_consistency"
    outputs = {"subject_consistency": True}
    output_families = {"subject_consistency": "temporal_consistency"}
    Settings = SubjectConsistencySettings
    models = (DINO_VITB16,)
    transform = "dino"

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        self.weights_path = resolve_file(DINO_VITB16, self.name, cfg.weights, cfg.allow_download)
        self.weights_sha256 = file_sha256(self.weights_path)
        # Not a registered submodule: the torchmetrics states stay the metric's only state.
        object.__setattr__(self, "network", build_dino(self.weights_path, cfg.arch).to(self.run_device))

    def settings(self) -> dict[str, Any]:
        # Where and in what batches the network runs, and the file's path, change no feature (its sha256 is in
        # provenance): left out of the cache key.
        skip = ("weights", "allow_download", "device", "batch_size")
        out = {k: v for k, v in super().settings().items() if k not in skip}
        out["preprocessing"] = "VBench dino_transform(224): short side 224 bilinear no antialias, no crop, ImageNet"
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}:{self.config.arch}:weights_sha256": self.weights_sha256}

    def frame_features(self, clip: Clip):
        pixels = vbench_pixels(clip.frames, self.transform)
        return run_batched(self.network, pixels, self.config.batch_size, self.run_device)

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        out = []
        for clip in checked_clips(clips):
            try:
                terms = consistency_terms(self.frame_features(clip))
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            value = float(terms.mean()) if len(terms) else float("nan")
            out.append({self.name: np.float64(value), "consistency_terms": terms})
        return out


__all__ = ["SubjectConsistency", "SubjectConsistencySettings"]
