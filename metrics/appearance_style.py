"""VBench's appearance_style: CLIP ViT-B/32 similarity of every frame with the prompt's style text.

Per clip (``vbench/appearance_style.py:appearance_style`` at VBench 45e79ec): every frame through
``clip_transform_Image(224)`` (a PIL image: ``Resize(224)`` bicubic, PIL's antialiased resize; ``CenterCrop(224)``;
``ToTensor``; CLIP mean/std), the style text (``fields.style``, e.g. "van gogh style") through CLIP's tokenizer, and
per frame ``logits_per_text / 100 = exp(logit_scale) * cos(frame, text) / 100``; the clip's value is the mean over
its frames (``metrics.functional.vbench_video_text.style_frame_scores``). VBench loads OpenAI's ViT-B/32 with the
``clip`` package; we build the same network and weights with open_clip (``ViT-B-32`` + ``openai``, zoo
``clip-vitb32-openai``), in float32 (``clip`` runs float16 on GPUs). VBench's overall number is the mean over all
frames of all clips; ours is the mean of per-clip means (equal when clips have the same frame count).

A prompt without ``fields.style``, or tagged for other dimensions only
(:func:`vbench_lite.prompt_fields.in_subset`), is not applicable (NaN, one note per reason).
``model=vbench-toy-clip`` gives toy numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metrics.applicability import APPLICABLE, LACKS, SemanticMetric, not_applicable, subset_code
from metrics.base import checked_clips
from metrics.functional.vbench_video_text import style_frame_scores
from metrics.hardware import tf32_policy
from metrics.image_features import BatchedNetworkSettings, resolve_device
from metrics.video_text import (
    TOY_CLIP,
    TOY_CLIP_DESCRIPTION,
    check_open_clip_names,
    load_vbench_clip,
)
from vbench_lite.model_zoo import CLIP_VITB32
from vbench_lite.prompt_fields import semantic_targets
from vbench_lite.types import Clip, Prompt, VbenchError


@dataclass(frozen=True)
class ClipTextSettings(BatchedNetworkSettings):
    """``model``/``pretrained`` (open_clip name and tag; ``vbench-toy-clip`` offline), ``weights`` (a local file
    instead of the tag), ``batch_size`` (frames per forward pass), ``device``, ``allow_download``."""

    model: str = "ViT-B-32"
    pretrained: str = "openai"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_open_clip_names(self.model, self.pretrained, self.weights)


def clip_image_pixels(frames: np.ndarray, size: int, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """VBench's ``clip_transform_Image(size)`` on each uint8 frame (PIL bicubic resize of the short side, centre
    crop, /255, normalise), with torchvision's own transforms: float32 ``(T, 3, size, size)``."""
    from PIL import Image
    from torchvision import transforms as T

    tf = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size), T.ToTensor(),
                    T.Normalize(tuple(mean), tuple(std))])
    return torch.stack([tf(Image.fromarray(np.ascontiguousarray(f))) for f in frames])


class ClipTextMetric(SemanticMetric):
    """Shared by appearance_style and scene: an open_clip CLIP, frames and texts embedded as VBench's CLIP code."""

    uses_text = True
    uses_fields = True
    #: 2: prompts outside the dimension's subset are not applicable (code 3), not embedded
    feature_version = 2
    Settings = ClipTextSettings
    models = (CLIP_VITB32,)

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        self.loaded = load_vbench_clip(self.name, cfg.model, cfg.pretrained, cfg.weights,
                                       allow_download=cfg.allow_download, device=self.run_device)
        self._texts: dict[str, np.ndarray] = {}

    @property
    def is_toy(self) -> bool:
        return self.loaded.name == TOY_CLIP

    def settings(self) -> dict[str, Any]:
        skip = ("weights", "allow_download", "device", "batch_size")
        if self.config.model == TOY_CLIP:  # the toy CLIP has no pretrained tag: recording one would mislead
            skip += ("pretrained",)
        out = {k: v for k, v in super().settings().items() if k not in skip}
        out["preprocessing"] = f"VBench clip_transform_Image({self.loaded.image_size}): PIL bicubic, centre crop"
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}:{self.loaded.name}:weights_sha256": self.loaded.weights_sha256}

    @torch.inference_mode()
    def frame_embeddings(self, frames: np.ndarray) -> np.ndarray:
        """Unit CLIP image embeddings (T, D) float64, in chunks of ``batch_size`` frames."""
        ld, bs = self.loaded, self.config.batch_size
        pixels = clip_image_pixels(frames, ld.image_size, ld.mean, ld.std)
        with tf32_policy(self.run_device, False):  # exact float32 on GPUs too
            out = [ld.model.encode_image(pixels[i:i + bs].to(self.run_device)).float().cpu()
                   for i in range(0, len(pixels), bs)]
        emb = torch.cat(out).double().numpy()
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)

    @torch.inference_mode()
    def text_embedding(self, text: str) -> np.ndarray:
        """The unit CLIP embedding (D,) float64 of ``text`` (remembered per text)."""
        if text not in self._texts:
            tokens = self.loaded.tokenizer([text]).to(self.run_device)
            with tf32_policy(self.run_device, False):
                emb = self.loaded.model.encode_text(tokens).float().cpu().double().numpy()[0]
            self._texts[text] = emb / np.linalg.norm(emb)
        return self._texts[text]

    def code(self, prompt: Prompt, target: str | None) -> int:
        """The prompt's reason code (metrics/applicability.py): its subset, then whether it names a ``target``."""
        return subset_code(prompt, self.name, APPLICABLE if target else LACKS)

    @property
    def toy_description(self) -> str | None:
        return TOY_CLIP_DESCRIPTION if self.is_toy else None


class AppearanceStyle(ClipTextMetric):
    """``--metrics appearance_style``: mean over frames of ``exp(logit_scale) * cos(frame, style) / 100``."""

    name = "appearance_style"
    outputs = {"appearance_style": True}
    output_families = {"appearance_style": "semantic"}
    reasons = {LACKS: "have no fields.style"}

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        out = []
        scale = float(self.loaded.model.logit_scale.detach().float().cpu())
        for clip, prompt in zip(checked_clips(clips), prompts):
            style = semantic_targets(prompt).style
            code = self.code(prompt, style)
            if code != APPLICABLE:
                out.append(not_applicable(self.name, code))
                continue
            try:
                scores = style_frame_scores(self.frame_embeddings(clip.frames), self.text_embedding(style), scale)
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            out.append({self.name: np.float64(scores.mean()), "applicable": np.int8(APPLICABLE),
                        "frame_scores": scores.astype(np.float32)})
        return out


__all__ = ["AppearanceStyle", "ClipTextMetric", "ClipTextSettings", "clip_image_pixels"]
