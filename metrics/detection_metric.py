"""The shared class of VBench's detection dimensions: sample frames as VBench does, detect the prompt's objects,
cache the detections, and run the dimension's rule on them in ``update``/``aggregate``.

Per clip, ``extract`` samples ``frames`` (16) frames with VBench's ``get_frame_indices(sample="middle")`` (padded
with the last frame for shorter clips, as ``vbench/utils.py`` ``load_video`` does), runs the detector
(:mod:`metrics.object_detection`) once per distinct frame with the prompt's object names as queries, and stores the
detections as numeric arrays (``frame``: position among the sampled frames, ``label`` and ``color``: indices into
the word list of the ``names`` blob, ``box`` x0 y0 x1 y1 in frame pixels, ``score``) with the prompt's targets in
``names`` (JSON bytes: ``objects``, ``colors``, ``relation``, ``words``). ``per_video`` runs the dimension's rule
(``metrics/functional/vbench_semantic.py``) on them (:class:`Detections`), so a cached clip is re-scored under
another rule without detecting again. A prompt outside the dimension's prompt subset (tagged for other semantic
dimensions only) or without the fields the dimension needs is not applicable (``metrics/applicability.py``: the
reason code in ``applicable``): NaN, left out of the mean, and one note per reason on the result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from metrics.applicability import APPLICABLE, LACKS, SemanticMetric, code_of, subset_code
from metrics.base import ClipRecord, MetricResult, checked_clips
from metrics.functional.vbench_semantic import VBENCH_FRAMES, vbench_frame_indices
from metrics.image_features import BatchedNetworkSettings, resolve_device
from metrics.object_detection import DEFAULT_THRESHOLDS, TOY_DETECTOR, build_detector, detections_to_arrays
from vbench_lite.model_zoo import OWLV2_BASE_ENSEMBLE
from vbench_lite.prompt_fields import SemanticTargets, semantic_targets
from vbench_lite.types import Clip, Prompt, VbenchError

TOY_DESCRIPTION = f"{TOY_DETECTOR}: a toy detector trained only on vbench-lite's synthetic world"
TOY_NOTE = ("computed with the toy detector: not comparable with VBench's published numbers (pass "
            "model=owlv2 for a real open-vocabulary detector)")


@dataclass(frozen=True)
class DetectionSettings(BatchedNetworkSettings):
    """``--metric-args NAME.k=v``: ``model`` (``owlv2`` or ``vbench-toy-detector``), ``weights`` (an OWLv2
    save_pretrained folder, or the toy detector's .safetensors), ``score_threshold`` (default: 0.1 for OWLv2, 0.5
    for the toy detector), ``nms_iou`` (per-label NMS, 1 = none), ``frames`` (VBench samples 16), ``batch_size``
    (frames per forward pass), ``device``, ``allow_download``."""

    model: Literal["owlv2", "vbench-toy-detector"] = "owlv2"
    score_threshold: float | None = None
    nms_iou: float = 0.5
    frames: int = VBENCH_FRAMES

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.frames < 1:
            raise ValueError(f"frames must be positive, got {self.frames}")
        if self.score_threshold is not None and not 0 <= self.score_threshold < 1:
            raise ValueError(f"score_threshold must lie in [0, 1), got {self.score_threshold}")
        if not 0 < self.nms_iou <= 1:
            raise ValueError(f"nms_iou must lie in (0, 1], got {self.nms_iou}")


class DetectionMetric(SemanticMetric):
    """Subclasses set ``name``, ``outputs``, ``Settings``, :meth:`applicable` (what the prompt must give, and the
    note when it does not) and :meth:`rule` (the per-video value from the detection arrays)."""

    uses_text = True  # the queries and targets come from the prompt
    uses_fields = True
    #: 2: ``applicable`` is a reason code (metrics/applicability.py), prompts outside the subset are not detected
    feature_version = 2
    Settings = DetectionSettings
    models = (OWLV2_BASE_ENSEMBLE,)
    #: What a prompt the dimension does not apply to lacks, for the aggregated note "N of M prompts ...".
    lacks = "have no fields.objects"

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        self.threshold = cfg.score_threshold if cfg.score_threshold is not None else DEFAULT_THRESHOLDS[cfg.model]
        self.detector = build_detector(cfg.model, cfg.weights, self.name, device=self.run_device,
                                       allow_download=cfg.allow_download, batch_size=cfg.batch_size,
                                       score_threshold=self.threshold, nms_iou=cfg.nms_iou)

    # -- what a subclass says -------------------------------------------------------------------------------
    def applicable(self, targets: SemanticTargets) -> bool:
        return len(targets.objects) >= 1

    def rule(self, d: Detections) -> float:
        raise NotImplementedError

    def add_colors(self, clip: Clip, frames: np.ndarray, per_frame: list, targets: SemanticTargets) -> None:
        """Hook for the color dimension (classifies the boxes' colours in place)."""

    # -- identity -------------------------------------------------------------------------------------------
    @property
    def is_toy(self) -> bool:
        return self.config.model == TOY_DETECTOR

    def settings(self) -> dict[str, Any]:
        # The file's path, the device, the batching and whether downloads are allowed change no feature (the
        # weights' sha256 is in provenance): left out of the cache key.
        skip = ("weights", "allow_download", "device", "batch_size")
        out = {k: v for k, v in super().settings().items() if k not in skip}
        out["score_threshold"] = self.threshold
        out["detector_config"] = self.detector.describe()
        out["frame_sampling"] = "VBench get_frame_indices(sample='middle'), padded with the last frame"
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}:{self.detector.name}:weights_sha256": self.detector.weights_sha256}

    # -- per clip -------------------------------------------------------------------------------------------
    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        return [self._one(clip, prompt) for clip, prompt in zip(checked_clips(clips), prompts)]

    def _one(self, clip: Clip, prompt: Prompt) -> dict[str, np.ndarray]:
        targets = semantic_targets(prompt)
        words: list[str] = list(dict.fromkeys(targets.objects))
        code = subset_code(prompt, self.name, APPLICABLE if self.applicable(targets) else LACKS)
        if code != APPLICABLE:
            dets = detections_to_arrays([], [], words)
            idx = np.zeros(0, np.int64)
        else:
            idx = vbench_frame_indices(self.config.frames, clip.num_frames)
            unique = np.unique(idx)
            frames = clip.frames[unique]
            try:
                per_frame = self.detector.detect(frames, list(words))
                self.add_colors(clip, frames, per_frame, targets)
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            dets = detections_to_arrays(per_frame, [np.flatnonzero(idx == i).tolist() for i in unique], words)
        names = {"objects": list(targets.objects), "colors": [c or "" for c in targets.colors],
                 "relation": targets.relation or "", "words": words}
        return {**dets, "frame_indices": idx, "applicable": np.int8(code),
                "names": np.frombuffer(json.dumps(names, sort_keys=True).encode(), dtype=np.uint8).copy()}

    def per_video(self, features: dict[str, np.ndarray]) -> dict[str, float]:
        if code_of(features) != APPLICABLE:
            return {self.name: float("nan")}
        return {self.name: float(self.rule(Detections.of(features)))}

    @property
    def reasons(self) -> dict[int, str]:  # type: ignore[override]  # from the subclass's ``lacks``
        return {LACKS: self.lacks}

    # -- summary --------------------------------------------------------------------------------------------
    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        results = super().aggregate(records, reference=reference, seed=seed)  # with the not-applicable notes
        notes = self.extra_notes(records)
        toys = self.toy_models()
        foreign = sum(1 for r in records if r.prompt.category != "synthetic")
        for res in results.values():
            res.notes.extend(notes)
            if toys:
                res.toy_model = "; ".join(description for description, _ in toys)
                res.notes.extend(note for _, note in toys)
                if foreign:
                    what = "toy detector knows" if self.is_toy else "toy models know"
                    res.notes.append(f"{foreign} of {len(records)} clips are not from the synthetic suite: the "
                                     f"{what} only coloured shapes on plain backgrounds")
        return results

    def toy_models(self) -> list[tuple[str, str]]:
        """``(description, note)`` of each toy model behind the numbers (results.json ``toy_model``)."""
        return [(TOY_DESCRIPTION, TOY_NOTE)] if self.is_toy else []

    def extra_notes(self, records: Sequence[ClipRecord]) -> list[str]:
        return []


@dataclass(frozen=True)
class Detections:
    """One clip's cached detections with names restored: what a rule reads."""

    frame: np.ndarray  # (n,) position among the sampled frames
    labels: list[str]
    boxes: np.ndarray  # (n, 4) x0 y0 x1 y1, frame pixels
    colors: list[str]  # "" where no colour was read
    num_frames: int
    objects: list[str]
    asked_colors: list[str]  # aligned with objects, "" where none is asked
    relation: str

    @classmethod
    def of(cls, features: dict[str, np.ndarray]) -> Detections:
        names = json.loads(np.asarray(features["names"], dtype=np.uint8).tobytes().decode())
        words = names["words"]
        return cls(np.asarray(features["frame"]), [words[i] for i in features["label"]],
                   np.asarray(features["box"]).reshape(-1, 4), [words[i] if i >= 0 else "" for i in features["color"]],
                   len(features["frame_indices"]), names["objects"], names["colors"], names["relation"])


__all__ = ["DetectionMetric", "DetectionSettings", "Detections"]
