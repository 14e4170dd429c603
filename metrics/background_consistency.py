"""VBench's background consistency: subject consistency's formula on CLIP ViT-B/32 image features.

Per clip (``vbench/background_consistency.py`` at VBench 45e79ec)::

    c_t = 1/2 [max(0, cos(e_t, e_0)) + max(0, cos(e_t, e_{t-1}))],  background_consistency = mean_{t>=1} c_t

with ``e_t = encode_image`` of frame t after VBench's ``clip_transform(224)`` (short side 224, bicubic without
antialias or clamping, centre crop, CLIP mean/std). VBench loads OpenAI's ViT-B/32 with the ``clip`` package; we
build the same network with open_clip (``ViT-B-32`` + ``openai``: QuickGELU, same weights). The offline toy CLIP
(``model=vbench-toy-clip``) gives toy numbers, labelled as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metrics.base import ClipRecord, MetricResult, VideoMetric, checked_clips
from metrics.functional.vbench_consistency import consistency_terms, vbench_pixels
from metrics.image_features import BatchedNetworkSettings, load_open_clip, resolve_device, run_batched
from vbench_lite.model_zoo import CLIP_VITB32
from vbench_lite.types import Clip, Prompt, VbenchError

TOY_CLIP = "vbench-toy-clip"


@dataclass(frozen=True)
class BackgroundConsistencySettings(BatchedNetworkSettings):
    """``--metric-args background_consistency.k=v``: ``model``/``pretrained`` (open_clip name and tag),
    ``weights`` (a local file instead of the tag), ``batch_size``, ``device``, ``allow_download``."""

    model: str = "ViT-B-32"
    pretrained: str = "openai"


class ClipImageMetric(VideoMetric):
    """Shared by the CLIP-image metrics: loads the CLIP, encodes frames with VBench's ``clip_transform``."""

    clip_spec = CLIP_VITB32

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        loaded = load_open_clip(self.clip_spec, self.name, cfg.model, cfg.pretrained, cfg.weights,
                                allow_download=cfg.allow_download, device=self.run_device)
        object.__setattr__(self, "loaded", loaded)

    @property
    def is_toy(self) -> bool:
        return self.loaded.name == TOY_CLIP

    def settings(self) -> dict[str, Any]:
        # Where and in what batches the network runs, and the file's path, change no feature (its sha256 is in
        # provenance): left out of the cache key.
        skip = ("weights", "allow_download", "device", "batch_size")
        out = {k: v for k, v in super().settings().items() if k not in skip}
        out["preprocessing"] = (f"VBench clip_transform({self.loaded.image_size}): short side bicubic no antialias, "
                                "centre crop, CLIP mean/std")
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}:{self.loaded.name}:weights_sha256": self.loaded.weights_sha256}

    def image_features(self, clip: Clip):
        pixels = vbench_pixels(clip.frames, "clip", self.loaded.image_size, self.loaded.mean, self.loaded.std)
        return run_batched(self.loaded.model.encode_image, pixels, self.config.batch_size, self.run_device)

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        results = super().aggregate(records, reference=reference, seed=seed)
        if self.is_toy:
            for res in results.values():
                res.toy_model = f"{TOY_CLIP}: a toy CLIP trained only on vbench-lite's synthetic world"
                res.notes.append("computed with the toy CLIP: not comparable with VBench's published numbers")
        return results


class BackgroundConsistency(ClipImageMetric):
    """``--metrics background_consistency``: one value per clip in [0, 1], higher is more consistent."""

    name = "background_consistency"
    outputs = {"background_consistency": True}
    output_families = {"background_consistency": "temporal_consistency"}
    Settings = BackgroundConsistencySettings
    models = (CLIP_VITB32,)

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        out = []
        for clip in checked_clips(clips):
            try:
                terms = consistency_terms(self.image_features(clip))
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            value = float(terms.mean()) if len(terms) else float("nan")
            out.append({self.name: np.float64(value), "consistency_terms": terms})
        return out


__all__ = ["BackgroundConsistency", "BackgroundConsistencySettings", "ClipImageMetric"]
