"""VBench's aesthetic quality: the LAION aesthetic predictor on CLIP ViT-L/14 embeddings of every frame.

Per clip (``vbench/aesthetic_quality.py`` at VBench 45e79ec)::

    s_t = head(e_t / |e_t|),  aesthetic_quality = mean_t s_t / 10

with ``e_t`` the CLIP ViT-L/14 image embedding of frame t after ``clip_transform(224)`` and ``head`` LAION's
``nn.Linear(768, 1)`` (``sa_0_4_vit_l_14_linear.pth``, VBench's choice; ``head=mlp`` takes the improved v2 MLP).
Weights: ``weights`` (CLIP file) / ``head_weights`` (head file), else the zoo cache (``vbench-lite weights fetch
clip-vitl14-openai`` and ``laion-aesthetic-linear``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from metrics.background_consistency import ClipImageMetric
from metrics.functional.vbench_consistency import aesthetic_from_scores
from metrics.image_features import (
    BatchedNetworkSettings,
    build_aesthetic_head,
    file_sha256,
    frame_score_features,
    resolve_file,
)
from vbench_lite.model_zoo import CLIP_VITL14, LAION_AESTHETIC_LINEAR, LAION_AESTHETIC_V2
from vbench_lite.types import Clip, Prompt


@dataclass(frozen=True)
class AestheticQualitySettings(BatchedNetworkSettings):
    """``--metric-args aesthetic_quality.k=v``: ``model``/``pretrained``/``weights`` (the CLIP), ``head``
    (``linear`` as VBench, or ``mlp``), ``head_weights`` (a local file), ``batch_size``, ``device``,
    ``allow_download``."""

    model: str = "ViT-L-14"
    pretrained: str = "openai"
    head: Literal["linear", "mlp"] = "linear"
    head_weights: str | None = None


class AestheticQuality(ClipImageMetric):
    """``--metrics aesthetic_quality``: one value per clip (LAION score / 10, about 0.3-0.7), higher is better."""

    name = "aesthetic_quality"
    outputs = {"aesthetic_quality": True}
    output_families = {"aesthetic_quality": "quality"}
    Settings = AestheticQualitySettings
    models = (CLIP_VITL14, LAION_AESTHETIC_LINEAR, LAION_AESTHETIC_V2)
    clip_spec = CLIP_VITL14

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        spec = LAION_AESTHETIC_LINEAR if cfg.head == "linear" else LAION_AESTHETIC_V2
        self.head_path = resolve_file(spec, self.name, cfg.head_weights, cfg.allow_download)
        self.head_sha256 = file_sha256(self.head_path)
        dim = int(self.loaded.model.visual.output_dim)
        object.__setattr__(self, "head_net", build_aesthetic_head(self.head_path, cfg.head, dim).to(self.run_device))

    def settings(self) -> dict[str, Any]:
        out = {k: v for k, v in super().settings().items() if k != "head_weights"}
        out["scaling"] = "mean over frames of head(unit CLIP embedding) / 10"
        return out

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), f"{self.name}:{self.config.head}_head:weights_sha256": self.head_sha256}

    @torch.inference_mode()
    def frame_scores(self, clip: Clip) -> np.ndarray:
        feats = F.normalize(self.image_features(clip), dim=-1, p=2)
        return self.head_net(feats.to(self.run_device)).squeeze(-1).double().cpu().numpy()

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        return frame_score_features(self.name, clips, self.frame_scores, aesthetic_from_scores)


__all__ = ["AestheticQuality", "AestheticQualitySettings"]
