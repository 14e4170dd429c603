"""The shared class of cd_fvd and jedi: a set-level distance between generated and reference clips in the feature
space of one ``transformers`` video encoder (:mod:`metrics.video_encoders`).

Clips are sampled and resized by FVD's :class:`~metrics.fvd_protocol.FvdProtocol` (16 frames from the start, bilinear
``size x size``), so the pipeline decodes each clip once for fvd, cd_fvd and jedi; the features of each clip are
cached under the metric's key (protocol, weights sha256, feature space). The reference is a stats ``.npz`` of the same
feature space (``reference_stats(DIR)`` or :meth:`EncoderDistance.load_reference` on a folder writes/reads one),
a folder of videos, or a :class:`~metrics.stats_file.ReferenceStats`; files of another space, protocol or weights
are refused with one line.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torchmetrics.utilities import dim_zero_cat

from metrics.base import ClipRecord, MetricResult, VideoMetric, checked_clips, fails_as_one_line, require_reference
from metrics.fvd_protocol import FvdProtocol
from metrics.hardware import default_device
from metrics.stats_file import ReferenceStats, check_compatible, load_reference_stats, save_reference_stats
from metrics.video_encoders import EncoderSpec, VideoEncoderFeatures, file_sha256, resolve_folder
from vbench_lite.paths import cache_dir
from vbench_lite.types import Clip, Prompt, VbenchError

#: The encoders run in float32 only: stats files record it, as FVD's do.
DTYPE = "float32"


class EncoderDistance(VideoMetric):
    """Base class: subclasses set ``name``, ``outputs``, ``Settings`` (with ``weights``, ``num_frames``, ``stride``,
    ``start``, ``size``, ``loop_short``, ``batch_size``, ``device``, ``n_boot``), ``space`` and :meth:`distance`."""

    needs_reference = True
    space: ClassVar[EncoderSpec]
    #: The per-clip feature name in the cache files.
    feature_key: ClassVar[str] = "encoder"

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.protocol = FvdProtocol(num_frames=cfg.num_frames, stride=cfg.stride, start=cfg.start,
                                    resize="bilinear", size=cfg.size, loop_short=cfg.loop_short)
        self.source, weights_file = resolve_folder(self.space, cfg.weights, self.name)
        self.weights_sha256 = file_sha256(weights_file) if weights_file else "unknown"
        self.encoder_device = cfg.device or default_device()
        self.reference: ReferenceStats | None = None
        self.seed = 0
        self._extractor: VideoEncoderFeatures | None = None

    def _add_states(self) -> None:
        self.add_state("generated_features", default=[], dist_reduce_fx="cat")

    # -- identity -------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        cfg = self.config
        return {"protocol": self.protocol.describe(), "feature_space": self.space.describe(), "weights": cfg.weights,
                "device": str(self.encoder_device), "batch_size": cfg.batch_size, "n_boot": cfg.n_boot}

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}_weights_sha256": self.weights_sha256, f"{self.name}_protocol_hash": self.protocol.hash(),
                f"{self.name}_feature_space": self.space.space}

    def cache_key(self) -> str:
        """Protocol (with the decode rule), weights, feature space: not the device, batch size or interval."""
        # loop_short too: looped features of short clips must never be reused by a run that refuses short clips.
        blob = json.dumps({"v": self.feature_version, "protocol": self.protocol.hash(), "weights": self.weights_sha256,
                           "space": self.space.describe(), "loop_short": self.config.loop_short}, sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

    def set_decode_settings(self, **settings: Any) -> None:
        super().set_decode_settings(**settings)
        if "max_side" in settings:
            self.protocol = replace(self.protocol, decode_max_side=int(settings["max_side"] or 0))
            if self._extractor is not None:
                self._extractor.protocol = self.protocol

    @property
    def extractor(self) -> VideoEncoderFeatures:
        if self._extractor is None:
            self._extractor = VideoEncoderFeatures(self.space, self.source, protocol=self.protocol,
                                                   batch_size=self.config.batch_size, device=self.encoder_device)
        return self._extractor

    # -- per clip -------------------------------------------------------------------------------------------
    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        clips = checked_clips(clips)
        for clip in clips:  # refuse a short clip with its name before any batch runs
            self.extractor.prepare(clip.frames, clip.source or "clip")
        rows = self.extractor.features([c.frames for c in clips])
        return [{self.feature_key: row} for row in rows]

    def per_video(self, features: dict[str, np.ndarray]) -> dict[str, float]:
        return {}  # a distance between sets only

    def update(self, features: Sequence[Mapping[str, np.ndarray]]) -> None:
        rows = [np.asarray(f[self.feature_key], dtype=np.float64) for f in features if self.feature_key in f]
        if rows:
            self.generated_features.append(torch.from_numpy(np.stack(rows)))

    def generated(self) -> np.ndarray:
        state = self.generated_features
        if isinstance(state, list) and not state:
            return np.zeros((0, 0))
        return dim_zero_cat(state).cpu().numpy()

    # -- reference ------------------------------------------------------------------------------------------
    def set_reference(self, reference: str | os.PathLike | ReferenceStats) -> ReferenceStats:
        self.reference = reference if isinstance(reference, ReferenceStats) else self.load_reference(reference)
        return self.reference

    def reference_stats(self, directory: str | os.PathLike) -> ReferenceStats:
        """Features and statistics of every video under ``directory`` in this metric's feature space."""
        from metrics.i3d_features import reference_from_directory  # the shared decode loop (skips, loops, shrinks)

        ref = reference_from_directory(directory, self.extractor, self.weights_sha256)  # type: ignore[arg-type]
        return replace(ref, feature_space=self.space.space, dtype=DTYPE)

    def load_reference(self, reference: str | os.PathLike) -> ReferenceStats:
        path = Path(reference)
        if path.is_dir():
            from metrics.i3d_features import directory_fingerprint

            key = hashlib.sha256(f"{path.resolve()}|{directory_fingerprint(path)}|{self.cache_key()}|"
                                 f"loop={self.protocol.loop_short}".encode()).hexdigest()[:20]
            cached = cache_dir() / f"{self.name}-reference" / f"{key}.npz"
            if cached.is_file():
                try:
                    return self._checked(load_reference_stats(cached), str(cached))
                except VbenchError:
                    pass  # a damaged or stale cache entry is recomputed
            ref = self.reference_stats(path)
            save_reference_stats(cached, ref)
            return ref
        if not path.is_file():
            raise VbenchError(f"{path}: no such reference (a STATS.npz or a folder of videos)")
        return self._checked(load_reference_stats(path), str(path))

    def _checked(self, ref: ReferenceStats, source: str) -> ReferenceStats:
        check_compatible(ref, self.protocol, self.weights_sha256, DTYPE, source,
                         dim=ref.stats.feature_sum.shape[0], feature_space=self.space.space)
        return ref

    # -- the number -----------------------------------------------------------------------------------------
    def distance(self, generated: np.ndarray, ref: ReferenceStats) -> float:
        raise NotImplementedError

    def interval(self, generated: np.ndarray, ref: ReferenceStats) -> tuple[float, float] | None:
        raise NotImplementedError

    def compute(self) -> dict[str, torch.Tensor]:
        if self.reference is None:
            raise VbenchError(f"{self.name} needs a reference set: call set_reference(STATS.npz | DIR) first")
        x = self.generated()
        if x.shape[0] < 2:
            raise VbenchError(f"{self.name} needs at least 2 generated clips, got {x.shape[0]}")
        self._check_dims(x, self.reference, "reference")
        (out,) = self.outputs
        return {out: torch.tensor(self.distance(x, self.reference), dtype=torch.float64)}

    def _check_dims(self, x: np.ndarray, ref: ReferenceStats, source: str) -> None:
        if x.shape[1] != ref.stats.feature_sum.shape[0]:
            raise VbenchError(f"{source}: reference features are {ref.stats.feature_sum.shape[0]}-d, the generated "
                              f"clips' {self.space.space} features are {x.shape[1]}-d")

    def notes(self, n_generated: int, ref: ReferenceStats) -> list[str]:
        return []

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        (out,) = self.outputs
        reference = require_reference(reference, self.name)
        used = [r for r in records if self.feature_key in r.features]
        if len(used) < 2:
            raise VbenchError(f"{reference}: {self.name} needs at least 2 generated clips with features, got "
                              f"{len(used)}; not computed")
        with fails_as_one_line(reference, self.name):
            ref = self.set_reference(reference)
            self.reset()
            self.update([r.features for r in used])
            self.seed = seed
            x = self.generated()
            if not np.isfinite(x).all():
                raise VbenchError(f"{reference}: {self.name}: some generated clips have non-finite features")
            value = float(self.compute_local()[out])
            ci95 = self.interval(x, ref)
        extra = {"n_reference": ref.stats.n, "reference": str(reference), "feature_space": self.space.space,
                 "bootstrap": f"{self.config.n_boot} resamples of the generated clips, reference fixed"}
        return {out: MetricResult(value=value, ci95=ci95, n=len(used), higher_is_better=False,
                                  settings=self.settings(), notes=self.notes(len(used), ref), extra=extra)}
