"""VBench's imaging quality: MUSIQ (trained on SPAQ) on every frame, through pyiqa (optional extra ``[iqa]``).

Per clip (``vbench/imaging_quality.py`` at VBench 45e79ec)::

    imaging_quality = mean_t MUSIQ(frame_t) / 100

Frames are resized as VBench's default ``preprocess_mode='longer'``: when the long side exceeds 512 it becomes 512
(sizes ``int(scale * side)``, bilinear, no antialias), then /255; MUSIQ rescales to [-1, 1] and cuts its multi-scale
patches itself. VBench divides the mean over videos by 100; dividing each video's mean gives the same number.
Weights: ``--metric-args imaging_quality.weights=PATH`` or ``vbench-lite weights fetch musiq-spaq``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from metrics.base import VideoMetric
from metrics.functional.vbench_consistency import imaging_from_scores, vbench_pixels
from metrics.image_features import (
    NetworkSettings,
    build_musiq,
    file_sha256,
    frame_score_features,
    resolve_device,
    resolve_file,
)
from vbench_lite.model_zoo import MUSIQ_SPAQ
from vbench_lite.types import Clip, Prompt


@dataclass(frozen=True)
class ImagingQualitySettings(NetworkSettings):
    """``--metric-args imaging_quality.k=v``: ``weights`` (a local MUSIQ file), ``preprocess`` (``longer`` as
    VBench's default, ``shorter``, ``none``), ``device``, ``allow_download``."""

    preprocess: Literal["longer", "shorter", "none"] = "longer"
    #: MUSIQ's extra scales (long side of each resized copy; pyiqa's and VBench's default 224 and 384).
    scales: str = "224,384"

    def __post_init__(self) -> None:
        try:
            sides = [int(x) for x in self.scales.split(",")]
        except ValueError:
            sides = []
        if not 1 <= len(sides) <= 2 or min(sides) < 32:
            raise ValueError(f"scales must be one or two long sides of at least 32 pixels, got {self.scales!r}")


class ImagingQuality(VideoMetric):
    """``--metrics imaging_quality``: one value per clip in [0, 1] (MUSIQ MOS / 100), higher is better."""

    name = "imaging_quality"
    outputs = {"imaging_quality": True}
    output_families = {"imaging_quality": "quality"}
    Settings = ImagingQualitySettings
    models = (MUSIQ_SPAQ,)

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        self.weights_path = resolve_file(MUSIQ_SPAQ, self.name, cfg.weights, cfg.allow_download)
        self.weights_sha256 = file_sha256(self.weights_path)
        network = build_musiq(self.weights_path, [int(x) for x in cfg.scales.split(",")])
        object.__setattr__(self, "network", network.to(self.run_device))

    def settings(self) -> dict[str, Any]:
        # Where and in what batches the network runs, and the file's path, change no feature (its sha256 is in
        # provenance): left out of the cache key.
        skip = ("weights", "allow_download", "device", "batch_size")
        out = {k: v for k, v in super().settings().items() if k not in skip}
        out["resize"] = f"VBench imaging_quality.transform({self.config.preprocess!r}): 512 px, bilinear, no antialias"
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}:musiq_spaq:weights_sha256": self.weights_sha256}

    @torch.inference_mode()
    def frame_scores(self, clip: Clip) -> np.ndarray:
        pixels = vbench_pixels(clip.frames, f"musiq_{self.config.preprocess}")
        # One frame per forward pass, as VBench: MUSIQ's patch sequence depends on the image alone.
        return np.array([float(self.network(pixels[i:i + 1].to(self.run_device))) for i in range(len(pixels))])

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        return frame_score_features(self.name, clips, self.frame_scores, imaging_from_scores)


__all__ = ["ImagingQuality", "ImagingQualitySettings"]
