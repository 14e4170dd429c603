"""VBench's scene dimension by CLIP zero-shot classification of frames over a scene vocabulary.

VBench (``vbench/scene.py:scene`` at 45e79ec) captions 16 frames (``get_frame_indices`` "middle", 384 x 384) with
Tag2Text and counts a frame as a success when every word of the prompt's scene ("indoor swimming pool") occurs in
its caption (``check_generate``); the clip's value is the fraction of successful frames.

We chose CLIP zero-shot over captioning, because:

* a well-kept library: Tag2Text is not in transformers/open_clip/timm (VBench vendors it); CLIP is, and its weights
  are the ones appearance_style and background_consistency already use (``ViT-B-32`` + ``openai``), so no new model;
* offline testability: a captioner with random weights writes random words, so its success rule cannot be tested
  with real signal offline; the toy CLIP knows the synthetic world's backgrounds and gives real toy numbers;
* closeness to VBench's rule: the per-frame success and the fraction over the same 16 frames are kept; what a frame
  must show changes from "the caption names it" to "CLIP ranks it first among the vocabulary". A caption may name
  the scene while describing something else; the zero-shot rule asks that the frame look more like the target than
  like any other scene of the vocabulary: stricter for scenes with close neighbours (e.g. "indoor museum" and
  "science museum"), and it depends on the vocabulary (recorded in the settings and the cache key).

Per clip: the 16 frames through CLIP's own preprocessing (PIL bicubic, centre crop), each label through
``template.format(label)``; a frame succeeds when its most similar label is the target
(``metrics.functional.vbench_video_text.zero_shot_frame_success``). The vocabulary is VBench's 86 scene labels
(``vocabulary=vbench``) or the synthetic world's backgrounds (``synthetic``: "black background", ...); ``auto``
picks the synthetic one for the toy CLIP. A target not in the vocabulary is added to it for that prompt. A prompt
without ``fields.scene``, or tagged for other dimensions only (:func:`vbench_lite.prompt_fields.in_subset`),
is not applicable (NaN, one note per reason). ``model=vbench-toy-clip`` gives toy numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metrics.appearance_style import ClipTextMetric, ClipTextSettings
from metrics.applicability import APPLICABLE, LACKS, not_applicable
from metrics.base import checked_clips
from metrics.functional.vbench_video_text import middle_frame_indices, zero_shot_frame_success
from vbench_lite.prompt_fields import semantic_targets
from vbench_lite.types import Clip, Prompt, VbenchError

#: The scene labels of VBench's ``scene`` prompts (``VBench_full_info.json``, auxiliary_info.scene; Places365 names).
VBENCH_SCENES: tuple[str, ...] = (
    "alley", "amusement park", "aquarium", "arch", "art gallery", "bakery shop", "ballroom", "bar", "barn",
    "baseball stadium", "basement", "bathroom", "beach", "bedroom", "botanical garden", "bridge", "cafeteria",
    "campsite", "campus", "carrousel", "castle", "cemetery", "classroom", "cliff", "construction site", "corridor",
    "courtyard", "crosswalk", "desert", "downtown", "driveway", "farm", "food court", "football field",
    "forest road", "fountain", "gas station", "glacier", "golf course", "harbor", "highway", "hospital", "house",
    "iceberg", "indoor gymnasium", "indoor library", "indoor movie theater", "indoor museum",
    "indoor swimming pool", "industrial area", "jail cell", "junkyard", "kitchen", "laboratory", "lighthouse",
    "mansion", "marsh", "mountain", "music studio", "nursery", "ocean", "office", "outdoor track", "palace",
    "parking lot", "pharmacy", "phone booth", "raceway", "restaurant", "river", "science museum", "shower",
    "ski slope", "sky", "skyscraper", "staircase", "street", "supermarket", "tower", "train railway",
    "train station platform", "underwater coral reef", "valley", "volcano", "waterfall", "windmill",
)
VOCABULARIES = ("auto", "vbench", "synthetic")


def synthetic_scenes() -> tuple[str, ...]:
    """The synthetic world's backgrounds as scene labels ("black background", ...)."""
    from reference_models.synthetic_world import BACKGROUNDS

    return tuple(f"{bg} background" for bg in BACKGROUNDS)


@dataclass(frozen=True)
class SceneSettings(ClipTextSettings):
    """...plus ``frames`` (VBench: 16), ``vocabulary`` (auto, vbench, synthetic) and ``template`` (the label's text,
    ``{}`` the label; empty: ``a photo of a {}.`` for real CLIPs, ``on a {}`` for the toy CLIP)."""

    frames: int = 16
    vocabulary: str = "auto"
    template: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.frames < 1:
            raise ValueError(f"frames must be positive, got {self.frames}")
        if self.vocabulary not in VOCABULARIES:
            raise ValueError(f"vocabulary must be one of {', '.join(VOCABULARIES)}, got {self.vocabulary!r}")
        if self.template:
            try:  # one {} and no other field: anything else would fail at the first clip, after decoding
                ok = "{}" in self.template and bool(self.template.format("label"))
            except (IndexError, KeyError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"template must hold {{}} once for the scene label (and no other {{field}}), got "
                                 f"{self.template!r}")


class Scene(ClipTextMetric):
    """``--metrics scene``: the fraction of the 16 sampled frames whose top-1 scene is the prompt's."""

    name = "scene"
    outputs = {"scene": True}
    output_families = {"scene": "semantic"}
    Settings = SceneSettings
    reasons = {LACKS: "have no fields.scene"}

    @property
    def vocabulary(self) -> tuple[str, ...]:
        kind = self.config.vocabulary
        if kind == "auto":
            kind = "synthetic" if self.is_toy else "vbench"
        return synthetic_scenes() if kind == "synthetic" else VBENCH_SCENES

    @property
    def template(self) -> str:
        # the toy CLIP learnt captions ending "... on a black background"; "a photo of a {}." is CLIP's usual template
        return self.config.template or ("on a {}" if self.is_toy else "a photo of a {}.")

    def settings(self) -> dict[str, Any]:
        out = super().settings()
        out.update(vocabulary=list(self.vocabulary), template=self.template,
                   sampling="VBench get_frame_indices middle")
        return out

    def labels_for(self, target: str) -> tuple[tuple[str, ...], int]:
        """The candidate labels of a prompt (the vocabulary, plus the target when missing) and the target's index."""
        labels = self.vocabulary
        if target not in labels:
            labels = (*labels, target)
        return labels, labels.index(target)

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        out = []
        for clip, prompt in zip(checked_clips(clips), prompts):
            target = semantic_targets(prompt).scene
            code = self.code(prompt, target)
            if code != APPLICABLE:
                out.append(not_applicable(self.name, code))
                continue
            labels, index = self.labels_for(target)
            idx = middle_frame_indices(self.config.frames, clip.num_frames)
            try:
                frames = self.frame_embeddings(clip.frames[idx])
                label_emb = np.stack([self.text_embedding(self.template.format(lb)) for lb in labels])
                value = zero_shot_frame_success(frames, label_emb, index)
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            out.append({self.name: np.float64(value), "applicable": np.int8(APPLICABLE), "frame_indices": idx,
                        "frame_labels": np.argmax(frames @ label_emb.T, axis=1).astype(np.int64)})
        return out


__all__ = ["VBENCH_SCENES", "Scene", "SceneSettings", "synthetic_scenes"]
