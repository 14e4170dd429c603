"""VBench's human_action: does a Kinetics-400 classifier see the action the prompt names?

VBench (``vbench/human_action.py:human_action`` at 45e79ec) classifies 16 frames (``get_frame_indices`` "middle")
with UMT ViT-L/16 and counts a clip as a success when the prompt's Kinetics-400 label is among the top-5 classes
whose ``sigmoid(logit)`` is at least 0.85 (rounded to 4 decimals); the dimension's score is the fraction of clips
that succeed. We keep that rule and the frame sampling (``metrics/functional/vbench_video_text.py``) and replace UMT,
which no well-kept library ships, with VideoMAE ViT-B/16 fine-tuned on Kinetics-400 through transformers
(``MCG-NJU/videomae-base-finetuned-kinetics``, zoo ``videomae-base-k400``): 16 frames too, preprocessed as its own
processor says (``preprocessor_config.json``: short side 224, bilinear, centre crop 224, ImageNet mean/std; VBench's
UMT transform resizes the short side to 256 before the 224 crop). The prompt's label comes from ``fields.action``
and is looked up in the model's own ``config.id2label`` (so another Kinetics checkpoint brings its labels); a
prompt without ``fields.action``, with an action the model has no label for, or tagged for other dimensions
only (:func:`vbench_lite.prompt_fields.in_subset`), is not applicable (NaN, one note per reason).

``model=vbench-toy-action`` runs the toy classifier of the synthetic world's motions (``reference_models/toy_action``)
with the same top-k rule on its softmax probabilities: labelled toy numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metrics.applicability import APPLICABLE, LACKS, SemanticMetric, not_applicable, subset_code
from metrics.base import checked_clips
from metrics.functional.vbench_video_text import (
    ACTION_THRESHOLD,
    ACTION_TOP_K,
    action_success,
    confident_top_k,
    middle_frame_indices,
    sigmoid,
)
from metrics.hardware import tf32_policy
from metrics.image_features import NetworkSettings, file_sha256, resolve_device
from metrics.pretrained_folders import load_pretrained, resolve_pretrained_folder
from metrics.video_text import dataclass_repr, read_geometry
from vbench_lite.model_zoo import VIDEOMAE_K400
from vbench_lite.prompt_fields import semantic_targets
from vbench_lite.types import Clip, Prompt, VbenchError

TOY_ACTION = "vbench-toy-action"
TOY_ACTION_DESCRIPTION = (f"{TOY_ACTION}: a toy action classifier trained only on vbench-lite's synthetic world "
                          "(its six motions)")
REASONS = {LACKS: "have no fields.action", 2: "name an action that is not one of the classifier's labels"}


@dataclass(frozen=True)
class HumanActionSettings(NetworkSettings):
    """``--metric-args human_action.k=v``: ``model`` (``videomae-base-k400``, ``weights`` then a save_pretrained
    folder of any ``VideoMAEForVideoClassification``; or ``vbench-toy-action``, ``weights`` a .safetensors file),
    ``top_k`` and ``threshold`` (VBench: 5 and 0.85), ``device``, ``allow_download``."""

    model: str = VIDEOMAE_K400.name
    top_k: int = ACTION_TOP_K
    threshold: float = ACTION_THRESHOLD

    def __post_init__(self) -> None:
        if self.model not in (VIDEOMAE_K400.name, TOY_ACTION):
            raise ValueError(f"model must be {VIDEOMAE_K400.name} or {TOY_ACTION}, got {self.model!r}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be positive, got {self.top_k}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")


def _label_key(label: str) -> str:
    return " ".join(str(label).lower().split())


class HumanAction(SemanticMetric):
    """``--metrics human_action``: 1 when the classifier is confident of the prompt's action, else 0, per clip."""

    name = "human_action"
    outputs = {"human_action": True}
    output_families = {"human_action": "semantic"}
    uses_text = True  # the target comes from the prompt's fields
    uses_fields = True
    #: 2: prompts outside the dimension's subset are not applicable (code 3), not classified
    feature_version = 2
    Settings = HumanActionSettings
    models = (VIDEOMAE_K400,)
    reasons = REASONS

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        if cfg.model == TOY_ACTION:
            from reference_models.toy_action import ACTIONS, ToyActionError, load_toy_action_classifier

            try:
                self.toy = load_toy_action_classifier(cfg.weights).to(self.run_device)
            except ToyActionError as exc:
                raise VbenchError(str(exc)) from None
            self.labels, self.weights_sha256 = tuple(ACTIONS), str(self.toy.weights_sha256)
            return
        from transformers import VideoMAEForVideoClassification

        self.toy = None
        self.folder, file = resolve_pretrained_folder(VIDEOMAE_K400, cfg.weights, self.name, cfg.allow_download)
        self.weights_sha256 = file_sha256(file)
        self.net = load_pretrained(VideoMAEForVideoClassification, self.folder,
                                   "a video classifier (VideoMAEForVideoClassification)", self.run_device)
        id2label = self.net.config.id2label
        self.labels = tuple(str(id2label[i]) for i in range(len(id2label)))
        self.geometry = read_geometry(self.folder)
        self.num_frames = int(self.net.config.num_frames)
        self.index = {_label_key(label): i for i, label in enumerate(self.labels)}

    @property
    def is_toy(self) -> bool:
        return self.toy is not None

    def settings(self) -> dict[str, Any]:
        out = {"model": self.config.model, "top_k": self.config.top_k, "threshold": self.config.threshold,
               "labels": len(self.labels)}
        if self.is_toy:
            out["scores"] = "the toy's softmax probabilities"
        else:
            out.update(scores="sigmoid(logits) (VBench)", frames=self.num_frames,
                       sampling="VBench get_frame_indices middle", preprocessing=dataclass_repr(self.geometry))
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"human_action:{self.config.model}:weights_sha256": self.weights_sha256}

    def target_index(self, prompt: Prompt) -> int:
        """The class index of the prompt's action; -1: no action asked (or no text); -2: not one of the labels."""
        action = semantic_targets(prompt).action
        if not action:
            return -1
        if self.is_toy:
            return self.labels.index(action) if action in self.labels else -2
        return self.index.get(_label_key(action), -2)

    def scores(self, clip: Clip) -> np.ndarray:
        """The clip's class scores in [0, 1] (float64): VBench's sigmoid of the logits, or the toy's softmax."""
        with torch.inference_mode(), tf32_policy(self.run_device, False):  # exact float32 on GPUs too
            return self._scores(clip)

    def _scores(self, clip: Clip) -> np.ndarray:
        if self.toy is not None:
            return np.asarray(self.toy.classify(clip.frames), dtype=np.float64)
        idx = middle_frame_indices(self.num_frames, clip.num_frames)
        pixels = self.geometry.pixels(clip.frames[idx]).unsqueeze(0).to(self.run_device)  # (1, T, 3, S, S)
        logits = self.net(pixel_values=pixels).logits[0].double().cpu().numpy()
        return sigmoid(logits)

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        out = []
        cfg = self.config
        for clip, prompt in zip(checked_clips(clips), prompts):
            target = self.target_index(prompt)
            code = subset_code(prompt, self.name, APPLICABLE if target >= 0 else LACKS if target == -1 else 2)
            if code != APPLICABLE:
                out.append(not_applicable(self.name, code))
                continue
            try:
                scores = self.scores(clip)
                value = action_success(scores, target, cfg.top_k, cfg.threshold)
                confident = confident_top_k(scores, cfg.top_k, cfg.threshold)
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            out.append({self.name: np.float64(value), "applicable": np.int8(APPLICABLE), "target": np.int64(target),
                        "scores": scores.astype(np.float32), "confident_labels": confident.astype(np.int64)})
        return out

    @property
    def toy_description(self) -> str | None:
        return TOY_ACTION_DESCRIPTION if self.is_toy else None


__all__ = ["HumanAction", "HumanActionSettings"]
