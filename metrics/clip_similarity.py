"""CLIP text-video similarity: how well the sampled frames of a clip match its prompt under a CLIP model.

For a clip with sampled frames f_1..f_k and prompt p (unit-norm CLIP embeddings e(.)), see
``metrics/functional/clip_score.py``:

    clip_similarity  = 1/k * sum_i cos(e(f_i), e(p))
    clipscore        = 1/k * sum_i 2.5 * max(cos(e(f_i), e(p)), 0)
    clip_consistency = mean over t > 1 of 1/2 [max(0, cos(e(f_1), e(f_t))) + max(0, cos(e(f_{t-1}), e(f_t)))]
                       (``metrics.functional.temporal.clip_frame_consistency``; NaN for a single frame)

Model loading and frame embedding live in :mod:`metrics.clip_model`; the pure maths in
:mod:`metrics.functional.clip_score`; this module holds the one stateful metric, :class:`ClipSimilarity` ("clip").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from metrics.base import ClipRecord, MetricResult, VideoMetric, checked_clips
from metrics.clip_model import (
    TOY_MODEL_NAME,
    ClipEncoder,
    ClipFramesPreparer,
    embed_grouped_by_size,
    frame_indices,
    load_clip,
)
from metrics.functional.clip_score import CLIPSCORE_WEIGHT, frame_text_cosines, video_text_scores
from metrics.functional.temporal import clip_frame_consistency
from metrics.hardware import default_device
from vbench_lite.frames import SAMPLING_POLICIES
from vbench_lite.types import Clip, Prompt, VbenchError

#: Said next to every number the toy CLIP produces (results.json ``toy_model``, reports, console).
TOY_DESCRIPTION = f"{TOY_MODEL_NAME}: a toy CLIP trained only on vbench-lite's synthetic world"
TOY_NOTE = ("computed with the toy CLIP (the offline default): not comparable with numbers from a real CLIP or "
            "with published results")
REAL_CLIP_HINT = ("pass a real CLIP with --metric-args clip.model=ViT-B-32,clip.pretrained=openai "
                  "(or clip.pretrained=/path/to/weights)")
#: Prompt category of the synthetic suite, the only world the toy CLIP was trained on.
TOY_WORLD_CATEGORY = "synthetic"


@dataclass(frozen=True)
class ClipSettings:
    """``--metric-args clip.k=v``: ``model`` (open_clip architecture, default the offline toy CLIP), ``pretrained``
    (tag or checkpoint file), ``frames`` (k sampled frames), ``policy`` (``uniform``, ``middle``, ``first``, ``all``,
    ``fps``), ``fps`` (target rate of the ``fps`` policy), ``batch_size`` (frames per forward pass), ``dtype``,
    ``device``, ``allow_download`` (let open_clip fetch a missing tag), ``cache_dir``."""

    model: str = TOY_MODEL_NAME
    pretrained: str | None = None
    frames: int = 8
    policy: str = "uniform"
    fps: float | None = None
    batch_size: int = 32
    dtype: Literal["float32", "bfloat16"] = "float32"
    device: str | None = None  # None: metrics.hardware.default_device() (cuda when torch sees one)
    allow_download: bool = False
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("frames", "batch_size"):
            if getattr(self, name) < 1:
                raise VbenchError(f"clip: {name} must be >= 1, got {getattr(self, name)}")
        if self.fps is not None and self.fps <= 0:
            raise VbenchError(f"clip: fps must be positive, got {self.fps}")
        if self.policy not in SAMPLING_POLICIES:
            raise VbenchError(f"clip: unknown sampling policy {self.policy!r} (known: {', '.join(SAMPLING_POLICIES)})")
        if self.policy == "fps" and self.fps is None:
            raise VbenchError("clip: policy 'fps' needs fps=<frames per second>")


class ClipSimilarity(VideoMetric):
    """``--metrics clip``: per-video CLIP similarity, CLIPScore and CLIP frame consistency (see :class:`ClipSettings`).

    ``ClipSimilarity(frames=4).update_clips(clips, prompts); compute()`` gives the numbers ``vbench-lite score``
    writes for the same clips.
    """

    name = "clip"
    outputs = {"clip_similarity": True, "clipscore": True, "clip_consistency": True}
    output_families = {"clip_similarity": "text_alignment", "clipscore": "text_alignment",
                       "clip_consistency": "temporal_consistency"}
    feature_version = 1
    uses_text = True  # the pipeline keys cached features by the prompt text and fails clips without text
    Settings = ClipSettings

    def __init__(self, settings: ClipSettings | None = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        device = cfg.device or default_device()  # like every model metric: the GPU when there is one
        loaded = load_clip(cfg.model, cfg.pretrained, device=device, allow_download=cfg.allow_download,
                           cache_dir=cfg.cache_dir)
        self.encoder = ClipEncoder(loaded, dtype=cfg.dtype, device=device, batch_size=cfg.batch_size)

    def settings(self) -> dict[str, Any]:
        return {**self.encoder.settings(), "policy": self.config.policy, "frames": self.config.frames,
                "fps": self.config.fps, "clipscore_weight": CLIPSCORE_WEIGHT}

    def provenance(self) -> dict[str, Any]:
        return {f"clip:{self.encoder.loaded.name}:weights_sha256": self.encoder.loaded.weights_sha256,
                "clip:torch_threads": self.model_threads or "default"}

    @property
    def model_threads(self) -> int | None:
        """Torch threads the pipeline runs this model with (``vbench_lite.scoring``): 1 for the toy CLIP on the
        CPU, whose small ops ran 11-29x slower than alone with torch's default threads next to the decode workers
        and the I3D, 1.6-2.7x with one (docs/fvd.md); None (torch's default) for real CLIPs and GPUs."""
        return 1 if self.is_toy and self.encoder.device.type == "cpu" else None

    @property
    def is_toy(self) -> bool:
        return self.encoder.loaded.name == TOY_MODEL_NAME

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        results = super().aggregate(records, reference=reference, seed=seed)
        if not self.is_toy:
            return results
        notes = [TOY_NOTE]
        foreign = sum(1 for r in records if r.prompt.category != TOY_WORLD_CATEGORY)
        if foreign:
            notes.append(f"{foreign} of {len(records)} clips are not from the synthetic suite: the toy CLIP knows only "
                         f"coloured shapes on plain backgrounds; its numbers for them mean nothing; {REAL_CLIP_HINT}")
        for res in results.values():
            res.toy_model = TOY_DESCRIPTION
            res.notes.extend(notes)
        return results

    def frame_indices(self, clip: Clip) -> np.ndarray:
        """Which frames of ``clip`` are scored (``frames`` is capped at the clip's length: no repeated frames)."""
        return frame_indices(clip, self.config.policy, self.config.frames, self.config.fps)

    def preparer(self) -> ClipFramesPreparer:
        """Frame sampling and CLIP's resize/crop/normalise, run in the pipeline's decode workers (no model)."""
        cfg = self.config
        return ClipFramesPreparer(self.encoder.pixel_preparer(), cfg.policy, cfg.frames, cfg.fps)

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        if not clips:
            return []
        clips = checked_clips(clips)
        indices = [self.frame_indices(c) for c in clips]
        # One batched pass over the sampled frames of every clip: (sum k_i, H, W, 3) per frame size.
        frame_emb = embed_grouped_by_size(self.encoder, [c.frames[idx] for c, idx in zip(clips, indices)])
        return self._feature_dicts(frame_emb, prompts, indices)

    def extract_prepared(self, clips: Sequence[Clip], prompts: Sequence[Prompt],
                         prepared: Sequence[tuple[np.ndarray, Any]]) -> list[dict[str, np.ndarray]]:
        """:meth:`extract` from the preparer's pixels: grouped by the clips' frame size and cut into the same
        ``batch_size`` chunks, so the same forward passes and the same bytes (tests/vbench_lite/test_scoring.py)."""
        if len(clips) != len(prompts) or len(clips) != len(prepared):
            raise ValueError(f"got {len(clips)} clips, {len(prompts)} prompts and {len(prepared)} payloads")
        if not clips:
            return []
        clips = checked_clips(clips)
        indices = [np.asarray(idx) for idx, _ in prepared]
        pixels = [torch.as_tensor(px) for _, px in prepared]
        frame_emb = embed_grouped_by_size(self.encoder, [c.frames for c in clips], pixels)
        return self._feature_dicts(frame_emb, prompts, indices)

    def _feature_dicts(self, frame_emb: Sequence[torch.Tensor], prompts: Sequence[Prompt],
                       indices: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        text_emb = self.encoder.encode_texts([p.text for p in prompts])  # (B, D)
        out = []
        for emb, text, idx in zip(frame_emb, text_emb, indices):
            cosines = frame_text_cosines(emb, text)  # (k,)
            scores = video_text_scores(cosines.double())
            out.append({
                "clip_similarity": np.float64(scores["clip_similarity"].item()),
                "clipscore": np.float64(scores["clipscore"].item()),
                "clip_consistency": np.float64(clip_frame_consistency(emb)),
                "frame_cosines": cosines.numpy().astype(np.float32),
                "frame_embeddings": emb.numpy().astype(np.float16),
                "frame_indices": np.asarray(idx, dtype=np.int64),
            })
        return out


__all__ = ["ClipSettings", "ClipSimilarity"]
