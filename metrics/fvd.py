"""Frechet Video Distance (FVD) and Kernel Video Distance (KVD) with the Kinetics-400 I3D.

    FVD = ||mu_g - mu_r||^2 + tr(S_g) + tr(S_r) - 2 tr((S_g S_r)^(1/2))

where ``mu``/``S`` are the mean and covariance of the I3D features (400 Kinetics logits averaged over time) of the
generated (g) and reference (r) clips; KVD is the unbiased cubic-kernel MMD^2 of the same features
(``metrics.functional.kernel_distance``). Lower is better for both.

Layers (pytorch-fid style), one module each: the protocol and preprocessing (:mod:`metrics.fvd_protocol`), the I3D
feature extractor (:mod:`metrics.i3d_features`), summable statistics (:mod:`metrics.feature_statistics`), the
reference statistics file (:mod:`metrics.stats_file`), and here the one stateful metric
:class:`FrechetVideoDistance` (``--metrics fvd``): its states are the generated set's summable sums
(``dist_reduce_fx="sum"``) and its features (``"cat"``, for KVD and the bootstrap interval).

Every problem with a reference, and a reference missing altogether, is a one-line
:class:`~vbench_lite.types.VbenchError` from :meth:`FrechetVideoDistance.aggregate`, which the pipeline records as
a failure of the fvd/kvd rows only. FVD is biased upwards for small sets: published numbers use 2048 clips; below
that a note and a warning say the value is not comparable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torchmetrics.utilities import dim_zero_cat

from metrics import hardware
from metrics.base import ClipRecord, MetricResult, VideoMetric, checked_clips, fails_as_one_line, require_reference
from metrics.feature_statistics import FEATURE_DIM, FeatureStatistics, fvd_from_statistics, small_sample_notes
from metrics.functional.frechet import blas_threads, bootstrap_frechet_ci95
from metrics.functional.kernel_distance import bootstrap_mmd2_ci95, kernel_distance
from metrics.fvd_protocol import ClipPreprocessor, FvdProtocol
from metrics.i3d_features import (
    I3dFeatureExtractor,
    bf16_cpu_warning,
    default_device,
    directory_fingerprint,
    reference_from_directory,
)
from metrics.stats_file import ReferenceStats, check_compatible, load_reference_stats, save_reference_stats
from vbench_lite.paths import cache_dir
from vbench_lite.types import Clip, Prompt, VbenchError
from vbench_lite.weights import resolve_weights, weights_sha256

KVD_SIGN_NOTE = ("KVD is an unbiased MMD^2 estimate: its expected value is 0 when both sets come from the same "
                 "distribution, so values (and interval ends) slightly below 0 are normal and mean 'no difference'")


@dataclass(frozen=True)
class FvdSettings:
    """``--metric-args fvd.k=v``: ``weights`` (``"i3d-k400"``: the cached converted file, or a path to any file
    ``reference_models.i3d.load_i3d`` reads), the protocol (``num_frames``, ``stride``, ``start``, ``resize``,
    ``size``, ``loop_short``), ``batch_size``, ``dtype``, ``device`` (cuda when available), ``tf32`` (allow TF32
    matmuls/convolutions on CUDA: faster, features off by ~1e-3 relative; off by default, the exact-fp32 canonical
    protocol), ``n_boot`` bootstrap resamples for the intervals, ``kvd_subsets`` and ``kvd_subset_size``. The
    decode rule (``--max-side``) comes from the pipeline through :meth:`FrechetVideoDistance.set_decode_settings`
    and is part of the protocol."""

    weights: str = "i3d-k400"
    num_frames: int = 16
    stride: int = 1
    start: int = 0
    resize: Literal["bilinear", "short_side_crop"] = "bilinear"
    size: int = 224
    loop_short: bool = False
    batch_size: int = 8
    dtype: Literal["float32", "bfloat16"] = "float32"
    device: str | None = None
    tf32: bool = False
    n_boot: int = 200
    kvd_subsets: int = 100
    kvd_subset_size: int = 1000


class FrechetVideoDistance(VideoMetric):
    """FVD and KVD of generated clips against a reference set (a stats ``.npz``, a folder of videos, or
    :class:`ReferenceStats`); set-level, lower is better.

    Library use: ``m = FrechetVideoDistance(weights=..., num_frames=16); m.set_reference("ref.npz");
    m.update_clips(clips); m.compute()`` -> ``{"fvd", "kvd", "kvd_subset_std"}`` as float64 tensors, the numbers
    ``vbench-lite score --reference ref.npz`` writes for the same clips.
    """

    name = "fvd"
    outputs: ClassVar[dict[str, bool]] = {"fvd": False, "kvd": False}
    needs_reference = True
    output_families: ClassVar[dict[str, str]] = {"fvd": "distribution", "kvd": "distribution"}
    #: 2: the decode rule joined the protocol (features cached before it may come from another --max-side).
    feature_version = 2
    Settings = FvdSettings

    def __init__(self, settings: FvdSettings | None = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.protocol = FvdProtocol(num_frames=cfg.num_frames, stride=cfg.stride, start=cfg.start,
                                    resize=cfg.resize, size=cfg.size, loop_short=cfg.loop_short)
        self.weights_path = resolve_weights(cfg.weights)
        self.weights_sha256 = weights_sha256(self.weights_path)
        self.i3d_device = cfg.device or default_device()
        # The bfloat16 path (native or emulated) depends on the CPU: recorded with every result.
        self.cpu_native_bf16 = hardware.cpu_native_bf16() if torch.device(self.i3d_device).type == "cpu" else None
        self.reference: ReferenceStats | None = None
        self.seed = 0  # of KVD's subsets; the pipeline passes its --seed through aggregate()
        self._extractor: I3dFeatureExtractor | None = None

    def _add_states(self) -> None:
        self.add_state("generated_n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("generated_sum", torch.zeros(FEATURE_DIM, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("generated_outer", torch.zeros(FEATURE_DIM, FEATURE_DIM, dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("generated_features", default=[], dist_reduce_fx="cat")

    # -- identity -------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        cfg = self.config
        return {"protocol": self.protocol.describe(), "weights": cfg.weights, "dtype": cfg.dtype,
                "dtype_used": cfg.dtype, "cpu_native_bf16": self.cpu_native_bf16,
                "device": str(self.i3d_device), "tf32": self.tf32_used, "batch_size": cfg.batch_size,
                "covariance": "biased",
                "frechet_method": "eigh", "n_boot": cfg.n_boot, "kvd_subsets": cfg.kvd_subsets,
                "kvd_subset_size": cfg.kvd_subset_size}

    @property
    def tf32_used(self) -> bool:
        """TF32 only exists on CUDA: the flag is what the extraction actually ran with."""
        return bool(self.config.tf32) and torch.device(self.i3d_device).type == "cuda"

    def provenance(self) -> dict[str, Any]:
        return {"i3d_weights_sha256": self.weights_sha256, "fvd_protocol": self.protocol.name,
                "fvd_protocol_hash": self.protocol.hash()}

    def cache_key(self) -> str:
        """Only what changes the features beyond float32 round-off (docs/fvd.md, "Cache keys"): protocol (with its
        decode rule), weights, precision, the device type and the TF32 request (CPU and CUDA convolutions differ
        by ~1e-5 relative, TF32 by ~1e-3) and, for clips decoded shorter than the protocol needs, how many frames
        were decoded; not the device index or the batch size."""
        max_frames = self.decode_settings.get("max_frames")
        frames = min(int(max_frames), self.protocol.frames_needed) if max_frames else None
        blob = json.dumps({"v": self.feature_version, "protocol": self.protocol.hash(),
                           "weights": self.weights_sha256, "dtype": self.config.dtype, "frames": frames,
                           "device_type": torch.device(self.i3d_device).type, "tf32": bool(self.config.tf32)},
                          sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

    def set_decode_settings(self, **settings: Any) -> None:
        """The pipeline's decode rule becomes the protocol's (so it is hashed, stored and checked against the
        reference); ``max_side`` None or 0 means full size."""
        super().set_decode_settings(**settings)
        if "max_side" in settings:
            max_side = int(settings["max_side"] or 0)
            self.protocol = replace(self.protocol, decode_max_side=max_side)
            if self._extractor is not None:
                self._extractor.protocol = self.protocol

    @property
    def extractor(self) -> I3dFeatureExtractor:
        if self._extractor is None:
            self._extractor = I3dFeatureExtractor(self.weights_path, protocol=self.protocol,
                                                  batch_size=self.config.batch_size, dtype=self.config.dtype,
                                                  device=self.i3d_device, tf32=self.config.tf32)
        return self._extractor

    # -- per clip -------------------------------------------------------------------------------------------
    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        clips = checked_clips(clips)
        # The decoded long side tells, at aggregation, which clips reached the decode limit (were shrunk).
        return self._feature_dicts(self.extractor.features(clips), clips)

    def preparer(self) -> ClipPreprocessor:
        """The protocol's frame selection and resize, run in the pipeline's decode workers."""
        return ClipPreprocessor(self.protocol)

    def extract_prepared(self, clips: Sequence[Clip], prompts: Sequence[Prompt],
                         prepared: Sequence[torch.Tensor]) -> list[dict[str, np.ndarray]]:
        """:meth:`extract` from the preparer's tensors: the same batches through the same network, so the same
        bytes (tests/vbench_lite/test_scoring.py)."""
        return self._feature_dicts(self.extractor.features_of_videos(prepared), checked_clips(clips))

    def _feature_dicts(self, features: np.ndarray, clips: Sequence[Clip]) -> list[dict[str, np.ndarray]]:
        needed = self.protocol.frames_needed
        return [{"i3d": row.astype(np.float32), "i3d_looped": np.array(clip.num_frames < needed),
                 "i3d_decoded_side": np.array(max(clip.frames.shape[1:3]))}
                for row, clip in zip(features, clips)]

    def per_video(self, features: dict[str, np.ndarray]) -> dict[str, float]:
        return {}  # FVD and KVD exist only for a set

    # -- states ---------------------------------------------------------------------------------------------
    def update(self, features: Sequence[Mapping[str, np.ndarray]]) -> None:
        """Add the I3D features of some clips (dicts with ``"i3d"``, as :meth:`extract` returns)."""
        rows = [np.asarray(f["i3d"], dtype=np.float64) for f in features if "i3d" in f]
        if not rows:
            return
        x = np.stack(rows)
        if x.ndim != 2 or x.shape[1] != FEATURE_DIM:
            raise ValueError(f"features must be (N, {FEATURE_DIM}), got {x.shape}")
        stats = FeatureStatistics.from_features(x)  # numpy float64 sums, added to the float64 states
        self.generated_n += stats.n
        self.generated_sum += torch.from_numpy(stats.feature_sum)
        self.generated_outer += torch.from_numpy(stats.outer_sum)
        self.generated_features.append(torch.from_numpy(x))

    def generated_statistics(self) -> FeatureStatistics:
        return FeatureStatistics(int(self.generated_n.item()), self.generated_sum.cpu().numpy(),
                                 self.generated_outer.cpu().numpy())

    def generated(self) -> np.ndarray:
        """The generated clips' features ``(N, 400)`` float64, in update order."""
        state = self.generated_features
        if isinstance(state, list) and not state:
            return np.zeros((0, FEATURE_DIM))
        return dim_zero_cat(state).cpu().numpy()

    def set_reference(self, reference: str | os.PathLike | ReferenceStats) -> ReferenceStats:
        """The set to compare with: a :class:`ReferenceStats`, a stats ``.npz`` or a folder of videos."""
        self.reference = reference if isinstance(reference, ReferenceStats) else self.load_reference(reference)
        return self.reference

    def compute(self) -> dict[str, torch.Tensor]:
        """``{"fvd", "kvd", "kvd_subset_std"}`` of the generated set against :attr:`reference` (KVD NaN when the
        reference has no features)."""
        if self.reference is None:
            raise VbenchError("fvd/kvd need a reference set: call set_reference(STATS.npz | DIR) first")
        ref = self.reference
        value = fvd_from_statistics(self.generated_statistics(), ref.stats)
        kvd = kvd_std = float("nan")
        if ref.features is not None:
            cfg = self.config
            kvd, kvd_std = kernel_distance(self.generated(), ref.features, num_subsets=cfg.kvd_subsets,
                                           subset_size=cfg.kvd_subset_size, seed=self.seed)
        return {name: torch.tensor(v, dtype=torch.float64)
                for name, v in (("fvd", value), ("kvd", kvd), ("kvd_subset_std", kvd_std))}

    # -- whole set ------------------------------------------------------------------------------------------
    def load_reference(self, reference: str | os.PathLike) -> ReferenceStats:
        """A stats ``.npz`` (checked for protocol, weights and dtype) or a folder of videos (features cached)."""
        path = Path(reference)
        dtype = self.config.dtype
        if path.is_dir():
            # loop_short decides which videos are in the set (short ones skipped or looped): part of the key.
            key = hashlib.sha256(f"{path.resolve()}|{directory_fingerprint(path)}|{self.cache_key()}|"
                                 f"loop={self.protocol.loop_short}".encode())
            cached = cache_dir() / "fvd-reference" / f"{key.hexdigest()[:20]}.npz"
            if cached.is_file():
                try:
                    ref = load_reference_stats(cached)
                    check_compatible(ref, self.protocol, self.weights_sha256, dtype, str(cached))
                    return ref
                except VbenchError:
                    pass  # a damaged or stale cache entry is recomputed
            # decoded like the generated clips: the protocol holds the pipeline's --max-side
            ref = reference_from_directory(path, self.extractor, self.weights_sha256)
            save_reference_stats(cached, ref)
            return ref
        if not path.is_file():
            raise VbenchError(f"{path}: no such reference (a STATS.npz or a folder of videos)")
        ref = load_reference_stats(path)
        check_compatible(ref, self.protocol, self.weights_sha256, dtype, str(path))
        return ref

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        """FVD and KVD of the clips against ``reference``. Every problem (no reference, a bad or incompatible one,
        non-finite features) is one :class:`VbenchError` line, which the pipeline records as the failure of the
        fvd/kvd rows only, keeping every other result of the run."""
        reference = require_reference(reference, "fvd/kvd", "need")
        used = [r for r in records if "i3d" in r.features]
        if not used:
            raise VbenchError(f"{reference}: fvd/kvd: no clip has I3D features (all failed earlier); not computed")
        # small dense problems: one BLAS thread (metrics.functional.frechet.blas_threads)
        with fails_as_one_line(reference, "fvd/kvd"), blas_threads(1):
            return self._aggregate(used, reference, seed)

    def _aggregate(self, used: Sequence[ClipRecord], reference: str, seed: int) -> dict[str, MetricResult]:
        bad = [f"{r.prompt.id}/{r.sample}" for r in used if not np.isfinite(np.asarray(r.features["i3d"])).all()]
        if bad:
            raise VbenchError(f"{reference}: fvd/kvd not computed: {len(bad)} of {len(used)} generated clips have "
                              f"non-finite I3D features (e.g. {bad[0]})")
        ref = self.set_reference(reference)
        if ref.stats.n < 2 or len(used) < 2:
            raise VbenchError(f"{reference}: FVD needs at least 2 generated and 2 reference clips "
                              f"(got {len(used)} and {ref.stats.n})")
        dim = np.asarray(used[0].features["i3d"]).shape[-1]
        if dim != ref.stats.feature_sum.shape[0]:
            raise VbenchError(f"{reference}: reference features are {ref.stats.feature_sum.shape[0]}-d, the "
                              f"generated clips' are {dim}-d")
        notes = small_sample_notes(len(used), ref.stats.n)
        input_notes = self._input_notes(used, ref)
        notes += input_notes
        self.reset()
        self.update([r.features for r in used])
        self.seed = seed
        values = self.compute_local()
        generated = self.generated()
        mu_r, sigma_r = ref.stats.mean_cov()
        cfg = self.config
        # The point value is the bootstrap's bias anchor: computed once, above (it used to be computed twice).
        ci95 = bootstrap_frechet_ci95(generated, mu_r, sigma_r, n_boot=cfg.n_boot, seed=seed,
                                      point=float(values["fvd"]))
        settings = self.settings()
        extra = {"n_reference": ref.stats.n, "reference": reference, "bootstrap": f"{cfg.n_boot} resamples "
                 "of the generated clips, reference fixed"}
        results = {"fvd": MetricResult(value=float(values["fvd"]), ci95=ci95, n=len(used), higher_is_better=False,
                                       settings=settings, notes=notes, extra=extra)}
        if ref.features is None:
            notes.append("KVD not computed: the reference statistics were saved without features")
            return results
        kvd, kvd_std = float(values["kvd"]), float(values["kvd_subset_std"])
        kvd_ci95 = bootstrap_mmd2_ci95(generated, ref.features, n_boot=cfg.n_boot, seed=seed)
        if not (np.isfinite(kvd) and all(np.isfinite(kvd_ci95 or ()))):
            raise VbenchError(f"{reference}: KVD is not finite ({kvd}); fvd/kvd not computed")
        size = min(cfg.kvd_subset_size, len(used), len(ref.features))
        results["kvd"] = MetricResult(value=kvd, ci95=kvd_ci95, n=len(used), higher_is_better=False,
                                      settings=settings, notes=[*input_notes, KVD_SIGN_NOTE],
                                      extra={**extra, "subset_std": kvd_std, "subsets": cfg.kvd_subsets,
                                             "subset_size": size, "kernel": "(x.y/d + 1)^3, unbiased MMD^2",
                                             "bootstrap": f"{cfg.n_boot} resamples of the generated clips "
                                             "(whole sets, unbiased MMD^2 shifted by its bootstrap bias), "
                                             "reference fixed"})
        return results

    def _input_notes(self, used: Sequence[ClipRecord], ref: ReferenceStats) -> list[str]:
        """What about the inputs changes the numbers: looped, skipped and shrunk clips, emulated bfloat16."""
        notes = []
        n, needed = len(used), self.protocol.frames_needed
        looped = sum(bool(r.features.get("i3d_looped", False)) for r in used)
        if looped:
            notes.append(f"{looped} of {n} generated clips had fewer than {needed} frames and were looped")
        if ref.looped:
            notes.append(f"{len(ref.looped)} of {ref.stats.n} reference videos had fewer than {needed} frames and "
                         f"were looped (e.g. {ref.looped[0]})")
        if ref.skipped:
            notes.append(f"{len(ref.skipped)} reference videos skipped (e.g. {ref.skipped[0]})")
        limit = self.protocol.decode_max_side
        shrunk = sum(int(r.features["i3d_decoded_side"]) >= limit for r in used if "i3d_decoded_side" in r.features)
        if limit and (shrunk or ref.shrunk):
            notes.append(f"{shrunk} of {n} generated clips and {len(ref.shrunk)} of {ref.stats.n} reference videos "
                         f"reached the decode limit --max-side {limit} (shrunk before the {self.protocol.size} px "
                         f"resize, unlike published FVD): pass --max-side 0 to score and fvd-stats for the "
                         f"canonical full-size protocol")
        bf16 = bf16_cpu_warning(self.config.dtype, self.i3d_device)
        if bf16:
            notes.append(bf16)
        return notes


# The statistics and extractor names are re-exported for callers that import them from here (vbench_lite.lab).
__all__ = ["KVD_SIGN_NOTE", "FeatureStatistics", "FrechetVideoDistance", "FvdSettings", "I3dFeatureExtractor",
           "fvd_from_statistics"]
