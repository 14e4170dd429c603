"""Frechet Video Distance (FVD) and Kernel Video Distance (KVD) with the Kinetics-400 I3D.

    FVD = ||mu_g - mu_r||^2 + tr(S_g) + tr(S_r) - 2 tr((S_g S_r)^(1/2))

where ``mu``/``S`` are the mean and covariance of the I3D features (400 Kinetics logits averaged over time) of the
generated (g) and reference (r) clips; KVD is the unbiased cubic-kernel MMD^2 of the same features
(``metrics.functional.kernel_distance``). Lower is better for both.

Layers (pytorch-fid style): clip -> :func:`preprocess_clip` (the protocol) -> :class:`I3dFeatureExtractor` ->
:class:`FeatureStatistics` (summable ``n``, ``sum x``, ``sum x x^T`` in float64) -> ``frechet_distance``.

The protocol (:class:`FvdProtocol`) is StyleGAN-V's by default: 16 consecutive frames from the start, each frame
resized to 224x224 (bilinear, ``align_corners=False``, no antialiasing), RGB scaled to [-1, 1], biased covariance
(divide by N), scipy-equivalent Frechet distance. StyleGAN-V draws a random start for real videos; we keep a fixed
``start`` setting so results are reproducible. Every protocol has a name and a hash that go into results and
reference statistics files, and statistics of another protocol or other weights are refused.

The decode rule is part of the protocol: ``score`` and ``fvd-stats`` decode frames at most ``--max-side`` pixels on
the long side (default ``vbench_lite.types.SCORE_MAX_SIDE``, 512; area downscaling) *before* the 224 px resize, so
videos larger than that give other features than the full-size frames StyleGAN-V reads. ``--max-side 0`` decodes at
full size, the canonical protocol. Statistics made under another decode rule are refused, and results note how many
clips reached the decode limit.

Reference statistics files are validated on load (shapes, finiteness, ``n``, a symmetric PSD covariance, the
protocol hash); every problem with a reference, and a reference missing altogether, is a one-line
:class:`~vbench_lite.types.VbenchError` from :meth:`FvdPlugin.aggregate`, which the pipeline records as a failure of
the fvd/kvd rows only.

FVD is biased upwards for small sets: published numbers use 2048 clips. Below that a note and a warning say the
value is not comparable; at ``n <= 400`` (the feature size) the covariance is rank-deficient, also noted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import Metric

from metrics.base import ClipRecord, MetricResult, VideoMetric
from metrics.functional.frechet import bootstrap_frechet_ci95, covariance_from_sums, frechet_distance
from metrics.functional.kernel_distance import bootstrap_mmd2_ci95, kernel_distance
from metrics.hardware import cpu_native_bf16
from reference_models.i3d import I3D_MIN_FRAMES, NUM_CLASSES
from vbench_lite.results import atomic_write_bytes
from vbench_lite.types import SCORE_MAX_SIDE, Clip, Prompt, VbenchError

FEATURE_DIM = NUM_CLASSES
#: Clip count of published FVD numbers (StyleGAN-V's FVD_2048 and most papers since).
PUBLISHED_N = 2048
RESIZE_RULES = ("bilinear", "short_side_crop")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
STATS_FORMAT = "vbench-lite/fvd-stats@1"
#: The decode rule of every protocol hash made before the rule was part of the protocol: `fvd-stats` hard-coded 512
#: and `score` defaulted to it. A protocol decoding at 512 keeps that hash (files made under it stay valid); any
#: other rule is folded into the hash. Fixed forever, whatever the default decode size becomes.
LEGACY_DECODE_MAX_SIDE = 512
#: Reference statistics are checked to this relative tolerance: the outer-product sum must be symmetric and the
#: covariance's eigenvalues at least -PSD_RTOL x the largest. Round-off in sums of float64 features is ~1e-13 of
#: the scale, a negated or corrupted sum is O(1): 1e-6 separates them by orders of magnitude.
PSD_RTOL = 1e-6
KVD_SIGN_NOTE = ("KVD is an unbiased MMD^2 estimate: its expected value is 0 when both sets come from the same "
                 "distribution, so values (and interval ends) slightly below 0 are normal and mean 'no difference'")


# -- protocol ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FvdProtocol:
    """How a clip becomes the I3D input: which frames, how they are resized, what happens to short clips.

    Frames ``start, start + stride, ..., start + (num_frames - 1) * stride``; a clip with fewer frames is refused,
    or, with ``loop_short``, read cyclically (frame ``i mod T``). ``resize``: ``"bilinear"`` stretches every frame to
    ``size x size`` (StyleGAN-V); ``"short_side_crop"`` scales the short side to ``size`` and centre-crops.
    """

    num_frames: int = 16
    stride: int = 1
    start: int = 0
    resize: str = "bilinear"
    size: int = 224
    loop_short: bool = False
    #: Frames are decoded at most this many pixels on the long side before the resize above (0: full size).
    decode_max_side: int = SCORE_MAX_SIDE

    #: Fixed facts folded into the hash, so changing them invalidates cached features and statistics.
    FIXED: ClassVar[dict[str, Any]] = {"version": 1, "value_range": [-1, 1], "interpolation": "bilinear",
                                       "align_corners": False, "antialias": False}

    def __post_init__(self) -> None:
        if self.num_frames < I3D_MIN_FRAMES:
            raise VbenchError(f"FVD protocol: num_frames={self.num_frames} is below the I3D minimum of "
                              f"{I3D_MIN_FRAMES} frames")
        if self.stride < 1 or self.start < 0:
            raise VbenchError(f"FVD protocol: need stride >= 1 and start >= 0, got {self.stride} and {self.start}")
        if self.resize not in RESIZE_RULES:
            raise VbenchError(f"FVD protocol: unknown resize rule {self.resize!r} (known: {', '.join(RESIZE_RULES)})")
        if self.size < 32:
            raise VbenchError(f"FVD protocol: size={self.size} is too small for the I3D (at least 32)")
        if self.decode_max_side < 0:
            raise VbenchError(f"FVD protocol: decode max_side={self.decode_max_side} must be >= 0 (0: full size)")

    @property
    def frames_needed(self) -> int:
        return self.start + (self.num_frames - 1) * self.stride + 1

    def feature_settings(self) -> dict[str, Any]:
        """The settings that define the features of a clip long enough for the protocol (all but ``loop_short``:
        looping only decides what happens to shorter clips, and each looped clip is noted in the results)."""
        return {k: v for k, v in asdict(self).items() if k != "loop_short"}

    @property
    def name(self) -> str:
        """"stylegan-v" for its frame selection and resize under any decode rule (the hash tells decode rules
        apart, and results note clips shrunk at decode); "custom" otherwise."""
        mine, default = self.feature_settings(), FvdProtocol().feature_settings()
        mine.pop("decode_max_side")
        default.pop("decode_max_side")
        return "stylegan-v" if mine == default else "custom"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def hash(self) -> str:
        settings = self.feature_settings()
        if settings["decode_max_side"] == LEGACY_DECODE_MAX_SIDE:
            del settings["decode_max_side"]  # the rule every earlier hash was made under: keep those hashes
        blob = json.dumps({**settings, **self.FIXED}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def decode_rule(self) -> str:
        return f"--max-side {self.decode_max_side}" if self.decode_max_side else "--max-side 0 (full size)"

    def describe(self) -> dict[str, Any]:
        """What results record: name, hash and every setting."""
        return {"name": self.name, "hash": self.hash(), **self.to_dict(), **self.FIXED}


def select_frames(total: int, protocol: FvdProtocol, source: str = "clip") -> np.ndarray:
    """Indices of the protocol's frames in a clip of ``total`` frames (looped only if the protocol says so)."""
    idx = protocol.start + protocol.stride * np.arange(protocol.num_frames)
    if total >= protocol.frames_needed:
        return idx
    if protocol.loop_short:
        return idx % total
    raise VbenchError(f"{source}: {total} frames, FVD protocol needs {protocol.frames_needed} (start {protocol.start}"
                      f" + {protocol.num_frames} frames at stride {protocol.stride}); shorter clips are refused "
                      f"unless loop_short=true")


def preprocess_clip(frames: np.ndarray, protocol: FvdProtocol, source: str = "clip") -> torch.Tensor:
    """uint8 ``(T, H, W, 3)`` -> float32 ``(3, num_frames, size, size)`` in [-1, 1], the I3D input of one clip."""
    frames = np.asarray(frames)
    picked = frames[select_frames(frames.shape[0], protocol, source)]  # (F, H, W, 3)
    x = torch.from_numpy(np.ascontiguousarray(picked)).permute(0, 3, 1, 2).float()  # (F, 3, H, W)
    x = x / 127.5 - 1.0
    size = protocol.size
    if protocol.resize == "bilinear":
        target = (size, size)
    else:  # short_side_crop: scale the short side to `size`, then take the centre
        h, w = x.shape[-2:]
        scale = size / min(h, w)
        target = (max(size, round(h * scale)), max(size, round(w * scale)))
    if tuple(x.shape[-2:]) != target:
        x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=False)
    if protocol.resize == "short_side_crop":
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top:top + size, left:left + size]
    return x.permute(1, 0, 2, 3).contiguous()  # (3, F, size, size)


# -- summable statistics ----------------------------------------------------------------------------------------
@dataclass
class FeatureStatistics:
    """``n``, ``sum x`` and ``sum x x^T`` of a feature set, in float64: shards merge by adding."""

    n: int = 0
    feature_sum: np.ndarray = field(default_factory=lambda: np.zeros(FEATURE_DIM))
    outer_sum: np.ndarray = field(default_factory=lambda: np.zeros((FEATURE_DIM, FEATURE_DIM)))

    @classmethod
    def from_features(cls, features: np.ndarray) -> FeatureStatistics:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be (N, d), got shape {x.shape}")
        return cls(n=x.shape[0], feature_sum=x.sum(axis=0), outer_sum=x.T @ x)

    def update(self, features: np.ndarray) -> FeatureStatistics:
        """Add a batch in place (and return self)."""
        merged = self.merge(FeatureStatistics.from_features(features))
        self.n, self.feature_sum, self.outer_sum = merged.n, merged.feature_sum, merged.outer_sum
        return self

    def merge(self, other: FeatureStatistics) -> FeatureStatistics:
        """The statistics of the union of both sets (a new object). Empty statistics take any feature size."""
        if self.n == 0 or other.n == 0:
            full = other if self.n == 0 else self
            return FeatureStatistics(full.n, full.feature_sum.copy(), full.outer_sum.copy())
        if self.feature_sum.shape != other.feature_sum.shape:
            raise ValueError(f"feature sizes differ: {self.feature_sum.shape[0]} vs {other.feature_sum.shape[0]}")
        return FeatureStatistics(self.n + other.n, self.feature_sum + other.feature_sum,
                                 self.outer_sum + other.outer_sum)

    def mean_cov(self, *, unbiased: bool = False) -> tuple[np.ndarray, np.ndarray]:
        return covariance_from_sums(self.n, self.feature_sum, self.outer_sum, unbiased=unbiased)


def fvd_from_statistics(generated: FeatureStatistics, reference: FeatureStatistics, *, unbiased: bool = False,
                        method: str = "eigh") -> float:
    mu_g, sigma_g = generated.mean_cov(unbiased=unbiased)
    mu_r, sigma_r = reference.mean_cov(unbiased=unbiased)
    return frechet_distance(mu_g, sigma_g, mu_r, sigma_r, method=method)


def small_sample_notes(n_generated: int, n_reference: int, *, dim: int = FEATURE_DIM) -> list[str]:
    """Notes (also raised as warnings) for sets too small to compare with published FVD."""
    notes = []
    n = min(n_generated, n_reference)
    if n < PUBLISHED_N:
        notes.append(f"FVD from {n_generated} generated and {n_reference} reference clips: below {PUBLISHED_N}, the "
                     f"value is biased upward and not comparable with published numbers")
    if n <= dim:
        notes.append(f"only {n} clips for {dim}-d features: the covariance is rank-deficient, FVD is unreliable")
    for note in notes:
        warnings.warn(note, stacklevel=3)
    return notes


# -- streaming metric (torchmetrics) ----------------------------------------------------------------------------
class FrechetVideoDistance(Metric):
    """Streaming FVD over I3D features with summable float64 states (merges across processes by ``sum``).

    ``update(real=feats_r, fake=feats_g)`` or ``update(feats, real=True)``. Features are ``(N, 400)``; with a
    ``feature_extractor`` (e.g. an :class:`I3dFeatureExtractor`), 5-d video batches ``(N, 3, T, H, W)`` in [-1, 1]
    are accepted too.
    """

    higher_is_better = False
    is_differentiable = False
    full_state_update = False

    def __init__(self, num_features: int = FEATURE_DIM, *, unbiased: bool = False, method: str = "eigh",
                 feature_extractor: Callable[[torch.Tensor], torch.Tensor] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_features, self.unbiased, self.method = num_features, unbiased, method
        self.feature_extractor = feature_extractor
        for side in ("real", "fake"):
            self.add_state(f"{side}_sum", torch.zeros(num_features, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{side}_outer", torch.zeros(num_features, num_features, dtype=torch.float64),
                           dist_reduce_fx="sum")
            self.add_state(f"{side}_n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, features: torch.Tensor | None = None, real: bool | torch.Tensor | None = None,
               fake: torch.Tensor | None = None) -> None:
        if isinstance(real, bool):
            if features is None or fake is not None:
                raise ValueError("use update(features, real=True/False) or update(real=..., fake=...)")
            self._add("real" if real else "fake", features)
            return
        if features is not None:
            raise ValueError("update(features, ...) needs real=True or real=False")
        if real is not None:
            self._add("real", real)
        if fake is not None:
            self._add("fake", fake)

    def _add(self, side: str, batch: torch.Tensor) -> None:
        batch = torch.as_tensor(batch)
        if batch.ndim == 5:
            if self.feature_extractor is None:
                raise ValueError("got videos but no feature_extractor; pass features (N, d) or an extractor")
            batch = torch.as_tensor(self.feature_extractor(batch))
        if batch.ndim != 2 or batch.shape[1] != self.num_features:
            raise ValueError(f"features must be (N, {self.num_features}), got {tuple(batch.shape)}")
        x = batch.detach().to(device=self.real_sum.device, dtype=torch.float64)
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + x.sum(dim=0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + x.T @ x)
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + x.shape[0])

    def statistics(self, side: str) -> FeatureStatistics:
        return FeatureStatistics(int(getattr(self, f"{side}_n").item()), getattr(self, f"{side}_sum").cpu().numpy(),
                                 getattr(self, f"{side}_outer").cpu().numpy())

    def compute(self) -> torch.Tensor:
        value = fvd_from_statistics(self.statistics("fake"), self.statistics("real"), unbiased=self.unbiased,
                                    method=self.method)
        return torch.tensor(value, dtype=torch.float64)


# -- the I3D feature extractor ----------------------------------------------------------------------------------
def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def bf16_cpu_warning(dtype: str, device: str | torch.device) -> str | None:
    """One line to warn with when bfloat16 is asked for on a CPU without native bfloat16; None otherwise.

    Warned, not refused: the numbers stay a valid bfloat16 FVD (within 2% of float32, measured on both paths), and
    refusing would make bfloat16 reference statistics unusable on such machines. The CPU's support is recorded in
    the FVD settings either way.
    """
    if dtype != "bfloat16" or torch.device(device).type != "cpu":
        return None
    native = cpu_native_bf16()
    if native:
        return None
    why = "has no native bfloat16 (no avx512_bf16/amx_bf16 flag)" if native is False else \
        "may lack native bfloat16 (its flags could not be read)"
    return (f"FVD dtype=bfloat16: this CPU {why}: bfloat16 is emulated, slower than float32 (1.6x-2.5x measured) "
            f"and FVD differs from float32 by up to ~2%; use dtype=float32 here")


class I3dFeatureExtractor:
    """The FVD feature of clips: preprocess with the protocol, run the I3D in batches, return float32 ``(N, 400)``.

    ``dtype="bfloat16"`` casts the network (not autocast); channels-last memory layout is used on every device
    (same numbers, ~1.7x faster batched convolutions on CPU). On a CPU without native bfloat16 (see
    :func:`cpu_native_bf16`) bfloat16 is emulated, slower than float32 and further from it: one warning says so.
    """

    def __init__(self, weights: str | os.PathLike, *, protocol: FvdProtocol | None = None, batch_size: int = 8,
                 dtype: str = "float32", device: str | None = None) -> None:
        from reference_models.i3d import TorchScriptI3d, load_i3d

        if dtype not in DTYPES:
            raise VbenchError(f"FVD: unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
        self.protocol = protocol or FvdProtocol()
        self.batch_size, self.dtype_name = max(1, int(batch_size)), dtype
        self.device = torch.device(device or default_device())
        model = load_i3d(weights)
        if isinstance(model, TorchScriptI3d) and dtype != "float32":
            raise VbenchError(f"{weights}: a TorchScript detector runs in float32 only")
        self.model = model.to(device=self.device, dtype=DTYPES[dtype]).to(memory_format=torch.channels_last_3d)
        self.bf16_warning = bf16_cpu_warning(dtype, self.device)
        if self.bf16_warning:
            warnings.warn(self.bf16_warning, stacklevel=2)

    @torch.no_grad()
    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        """Preprocessed videos ``(B, 3, T, H, W)`` in [-1, 1] -> float32 features ``(B, 400)`` (on CPU)."""
        outs = []
        for i in range(0, videos.shape[0], self.batch_size):
            batch = videos[i:i + self.batch_size].to(self.device, DTYPES[self.dtype_name])
            outs.append(self.model(batch.contiguous(memory_format=torch.channels_last_3d)).float().cpu())
        return torch.cat(outs) if outs else torch.zeros(0, FEATURE_DIM)

    def features(self, clips: Sequence[np.ndarray | Clip]) -> np.ndarray:
        """uint8 clips ``(T, H, W, 3)`` -> float32 ``(N, 400)``, batched; preprocessing one batch at a time."""
        out = []
        for i in range(0, len(clips), self.batch_size):
            batch = [_frames_and_source(c) for c in clips[i:i + self.batch_size]]
            videos = torch.stack([preprocess_clip(f, self.protocol, src) for f, src in batch])  # (B, 3, T, S, S)
            out.append(self(videos).numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


def _frames_and_source(clip: np.ndarray | Clip) -> tuple[np.ndarray, str]:
    if isinstance(clip, Clip):
        return clip.frames, clip.source or "clip"
    return np.asarray(clip), "clip"


# -- reference statistics files ---------------------------------------------------------------------------------
@dataclass
class ReferenceStats:
    """Statistics (and optionally features) of a reference set, with what produced them."""

    stats: FeatureStatistics
    protocol: dict[str, Any]
    weights_sha256: str
    dtype: str
    features: np.ndarray | None = None
    videos: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    looped: list[str] = field(default_factory=list)  # shorter than the protocol, read cyclically (loop_short)
    shrunk: list[str] = field(default_factory=list)  # reached the protocol's decode limit (shrunk at decode)

    @property
    def protocol_hash(self) -> str:
        return str(self.protocol["hash"])


def save_reference_stats(path: str | os.PathLike, ref: ReferenceStats, *, include_features: bool = True) -> Path:
    """Write a stats ``.npz`` (mu, biased sigma, n, sums, protocol, weights sha256, optionally the features)."""
    mu, sigma = ref.stats.mean_cov(unbiased=False)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(STATS_FORMAT),
        "mu": mu, "sigma": sigma, "covariance": np.array("biased"), "n": np.array(ref.stats.n),
        "feature_sum": ref.stats.feature_sum, "outer_sum": ref.stats.outer_sum,
        "protocol": np.array(json.dumps(ref.protocol, sort_keys=True)), "protocol_hash": np.array(ref.protocol_hash),
        "weights_sha256": np.array(ref.weights_sha256), "dtype": np.array(ref.dtype),
        "videos": np.array(ref.videos, dtype=str), "skipped": np.array(ref.skipped, dtype=str),
        "looped": np.array(ref.looped, dtype=str), "shrunk": np.array(ref.shrunk, dtype=str),
    }
    if include_features and ref.features is not None:
        arrays["features"] = np.asarray(ref.features, dtype=np.float32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def load_reference_stats(path: str | os.PathLike) -> ReferenceStats:
    """Read and validate a stats file written by :func:`save_reference_stats` (no pickles are loaded).

    A file that would give a wrong FVD/KVD or fail later is refused here, with one line naming the file and the
    problem: see :func:`_reference_from_arrays`.
    """
    path = Path(path)
    try:
        if not zipfile.is_zipfile(path):
            raise VbenchError(f"{path}: cannot read FVD statistics (not an .npz file); write one with "
                              f"`vbench-lite fvd-stats DIR --out STATS.npz`")
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            needed = {"n", "feature_sum", "outer_sum", "protocol", "protocol_hash", "weights_sha256"}
            if not needed <= files:
                missing = ", ".join(sorted(needed - files))
                raise VbenchError(f"{path}: not a vbench-lite FVD statistics file (missing {missing}); "
                                  f"write one with `vbench-lite fvd-stats DIR --out STATS.npz`")
            arrays = {name: data[name] for name in files}
    except VbenchError:
        raise
    except Exception as exc:
        raise VbenchError(f"{path}: cannot read FVD statistics ({_one_line(exc)})") from exc
    return _reference_from_arrays(arrays, str(path))


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def _number_array(data: dict[str, np.ndarray], name: str, ndim: int, source: str) -> np.ndarray:
    """``data[name]`` as finite float64 of rank ``ndim``, or a one-line error."""
    arr = data[name]
    if arr.ndim != ndim:
        raise VbenchError(f"{source}: {name} must be a {ndim}-d array, got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise VbenchError(f"{source}: {name} must hold numbers, got dtype {arr.dtype}")
    x = arr.astype(np.float64)
    bad = int(np.size(x) - np.isfinite(x).sum())
    if bad:
        raise VbenchError(f"{source}: {name} has {bad} non-finite values (NaN or inf)")
    return x


def _string_list(data: dict[str, np.ndarray], name: str) -> list[str]:
    return [str(v) for v in np.atleast_1d(data[name])] if name in data else []


def _reference_from_arrays(data: dict[str, np.ndarray], source: str) -> ReferenceStats:
    """Check the arrays of a stats file and build its :class:`ReferenceStats`.

    Refused: arrays of the wrong rank or shape (``feature_sum`` ``(d,)``, ``outer_sum`` ``(d, d)``, ``features``
    ``(n, d)``); non-finite values; ``n`` not a whole number >= 2, or unlike the number of stored feature rows; a
    ``feature_sum`` that is not the sum of the stored features; an ``outer_sum`` that is not symmetric or gives a
    covariance with an eigenvalue below ``-PSD_RTOL`` x the largest (plus the sums' round-off); a protocol without
    its hash, whose hash differs from ``protocol_hash``, or does not match its own settings; an unknown dtype.
    """
    n_arr = data["n"]
    if n_arr.ndim != 0 or n_arr.dtype.kind not in "fiu":
        raise VbenchError(f"{source}: n must be a single number, got shape {n_arr.shape} of {n_arr.dtype}")
    n_value = float(n_arr)
    if not np.isfinite(n_value) or n_value != round(n_value) or n_value < 2:
        raise VbenchError(f"{source}: n={n_arr.item()!r} must be a whole number >= 2 (clips in the reference set)")
    n = int(n_value)
    feature_sum = _number_array(data, "feature_sum", 1, source)
    d = feature_sum.shape[0]
    outer_sum = _number_array(data, "outer_sum", 2, source)
    if outer_sum.shape != (d, d):
        raise VbenchError(f"{source}: outer_sum has shape {outer_sum.shape}, expected ({d}, {d}) for the "
                          f"{d}-d feature_sum")
    features = None
    if "features" in data:
        features = _number_array(data, "features", 2, source)
        if features.shape[1] != d:
            raise VbenchError(f"{source}: features are {features.shape[1]}-d, feature_sum is {d}-d")
        if features.shape[0] != n:
            raise VbenchError(f"{source}: n={n} but {features.shape[0]} feature rows are stored")
        scale = np.abs(features).max(initial=0.0) * n
        if np.abs(features.sum(axis=0) - feature_sum).max(initial=0.0) > PSD_RTOL * max(scale, 1e-300):
            raise VbenchError(f"{source}: feature_sum is not the sum of the stored features")
    stats = FeatureStatistics(n, feature_sum, outer_sum)
    _check_covariance(stats, source)
    protocol = _checked_protocol(data, source)
    dtype = str(data["dtype"]) if "dtype" in data else "float32"
    if dtype not in DTYPES:
        raise VbenchError(f"{source}: unknown I3D dtype {dtype!r} (known: {', '.join(DTYPES)})")
    return ReferenceStats(stats=stats, protocol=protocol, weights_sha256=str(data["weights_sha256"]), dtype=dtype,
                          features=features, videos=_string_list(data, "videos"),
                          skipped=_string_list(data, "skipped"), looped=_string_list(data, "looped"),
                          shrunk=_string_list(data, "shrunk"))


def _check_covariance(stats: FeatureStatistics, source: str) -> None:
    """The outer-product sum is symmetric and the covariance PSD, to ``PSD_RTOL`` (see its comment)."""
    outer = stats.outer_sum
    scale = float(np.abs(outer).max(initial=0.0))
    asym = float(np.abs(outer - outer.T).max(initial=0.0))
    if asym > PSD_RTOL * scale:
        raise VbenchError(f"{source}: outer_sum is not symmetric (max |S - S^T| is {asym / scale:.2g} of its "
                          f"largest entry, tolerance {PSD_RTOL:g})")
    _, cov = stats.mean_cov()
    eigvals = np.linalg.eigvalsh(cov)
    # Forming the covariance from sums loses up to ~d * eps of the sums' scale: never call that a negative variance.
    round_off = outer.shape[0] * np.finfo(np.float64).eps * scale / stats.n
    tolerance = max(PSD_RTOL * float(np.abs(eigvals).max(initial=0.0)), round_off)
    if eigvals.size and eigvals.min() < -tolerance:
        raise VbenchError(f"{source}: the covariance from n, feature_sum and outer_sum is not positive semi-definite "
                          f"(eigenvalue {eigvals.min():.4g}, largest {eigvals.max():.4g}, tolerance {tolerance:.2g})")


def _checked_protocol(data: dict[str, np.ndarray], source: str) -> dict[str, Any]:
    """The stored protocol, with its hash present, equal to ``protocol_hash`` and to the hash of its settings."""
    try:
        protocol = json.loads(str(data["protocol"]))
    except ValueError:
        raise VbenchError(f"{source}: protocol is not JSON") from None
    if not isinstance(protocol, dict) or not protocol.get("hash"):
        raise VbenchError(f"{source}: the FVD protocol has no hash")
    if str(data["protocol_hash"]) != str(protocol["hash"]):
        raise VbenchError(f"{source}: protocol_hash {str(data['protocol_hash'])!r} differs from the protocol's own "
                          f"hash {protocol['hash']!r}")
    if protocol.get("version") != FvdProtocol.FIXED["version"]:
        raise VbenchError(f"{source}: FVD protocol version {protocol.get('version')!r}, this vbench-lite reads "
                          f"version {FvdProtocol.FIXED['version']}")
    protocol.setdefault("decode_max_side", LEGACY_DECODE_MAX_SIDE)  # files from before the decode rule was stored
    settings = {k: protocol[k] for k in FvdProtocol.__dataclass_fields__ if k in protocol}
    try:
        remade = FvdProtocol(**settings)
        fixed_same = all(protocol.get(k) == v for k, v in FvdProtocol.FIXED.items())
    except (TypeError, ValueError, VbenchError) as exc:
        raise VbenchError(f"{source}: invalid FVD protocol settings ({_one_line(exc)})") from None
    if not fixed_same or remade.hash() != protocol["hash"]:
        raise VbenchError(f"{source}: FVD protocol hash {protocol['hash']!r} does not match its settings (they hash "
                          f"to {remade.hash()!r}): the file was edited")
    return protocol


def check_compatible(ref: ReferenceStats, protocol: FvdProtocol, weights_sha256: str, dtype: str, source: str, *,
                     dim: int = FEATURE_DIM) -> None:
    """Refuse reference statistics made with another protocol (decode rule included), other weights, another I3D
    precision or another feature size."""
    if ref.protocol_hash != protocol.hash():
        mine = protocol.describe()
        differs = [f"{k}={ref.protocol.get(k)!r} (this run: {mine[k]!r})" for k in sorted(mine)
                   if k not in ("name", "hash", "loop_short") and ref.protocol.get(k) != mine[k]]
        if ref.protocol.get("decode_max_side") != protocol.decode_max_side:
            differs.append("decode the reference and the clips with the same --max-side (0: full size)")
        raise VbenchError(f"{source}: reference statistics use FVD protocol {ref.protocol.get('name')!r} "
                          f"({ref.protocol_hash}), this run uses {protocol.name!r} ({protocol.hash()}): "
                          f"{'; '.join(differs) or 'settings differ'}")
    if ref.stats.feature_sum.shape[0] != dim:
        raise VbenchError(f"{source}: reference features are {ref.stats.feature_sum.shape[0]}-d, the I3D gives {dim}")
    if ref.weights_sha256 != weights_sha256:
        raise VbenchError(f"{source}: reference statistics were computed with I3D weights sha256 "
                          f"{ref.weights_sha256[:16]}..., this run uses {weights_sha256[:16]}...")
    if ref.dtype != dtype:
        raise VbenchError(f"{source}: reference statistics were computed with the I3D in {ref.dtype}, this run uses "
                          f"{dtype}")


def reference_from_directory(directory: str | os.PathLike, extractor: I3dFeatureExtractor, weights_sha256: str, *,
                             progress: Callable[[int, int], None] | None = None) -> ReferenceStats:
    """Features and statistics of every video under ``directory`` (decoded with ``vbench_lite.video_io`` under the
    extractor's protocol's decode rule, as the scored clips are: the two agree by construction).

    Videos that cannot be decoded or are shorter than the protocol needs are skipped and listed (StyleGAN-V
    likewise discards short real videos); none usable is an error. Videos that reached the decode limit are listed.
    """
    from vbench_lite.video_io import find_videos, read_video

    root = Path(directory)
    paths = find_videos(root)
    if not paths:
        raise VbenchError(f"{root}: no videos found")
    protocol = extractor.protocol
    max_side = protocol.decode_max_side or None
    feats, names, skipped, looped, shrunk = [], [], [], [], []
    batch: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        if batch:
            feats.append(extractor.features([frames for _, frames in batch]))
            names.extend(name for name, _ in batch)
            batch.clear()

    for i, path in enumerate(paths):
        name = str(path.relative_to(root))
        try:
            clip = read_video(path, policy="first", num_frames=protocol.frames_needed,
                              max_side=max_side)
            select_frames(clip.num_frames, protocol, str(path))
        except VbenchError as exc:
            skipped.append(f"{name}: {exc}")
            continue
        if clip.num_frames < protocol.frames_needed:
            looped.append(name)
        if max_side and max(clip.frames.shape[1:3]) >= max_side:
            shrunk.append(name)
        batch.append((name, clip.frames))
        if len(batch) >= extractor.batch_size:
            flush()
        if progress:
            progress(i + 1, len(paths))
    flush()
    if not names:
        raise VbenchError(f"{root}: none of {len(paths)} videos is usable ({skipped[0]})")
    features = np.concatenate(feats)
    return ReferenceStats(FeatureStatistics.from_features(features), protocol.describe(), weights_sha256,
                          extractor.dtype_name, features=features, videos=names, skipped=skipped, looped=looped,
                          shrunk=shrunk)


def _directory_fingerprint(root: Path) -> str:
    from vbench_lite.video_io import find_videos

    h = hashlib.sha256()
    for path in find_videos(root):
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


# -- the pipeline plug-in ---------------------------------------------------------------------------------------
def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise VbenchError(f"FVD: expected a boolean, got {value!r}")


def _as_int(name: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise VbenchError(f"FVD: {name} must be an integer, got {value!r}") from None


class FvdPlugin(VideoMetric):
    """FVD and KVD against a reference set (a stats ``.npz`` or a folder of videos); set-level, lower is better.

    Keyword arguments (strings from the CLI are fine): ``weights`` (``"i3d-k400"``: the cached converted file, or a
    path to any file :func:`reference_models.i3d.load_i3d` reads), ``num_frames=16``, ``stride=1``, ``start=0``,
    ``resize="bilinear"``, ``size=224``, ``loop_short=False``, ``batch_size=8``, ``dtype="float32"``,
    ``device`` (cuda when available), ``n_boot=200`` bootstrap resamples for the FVD interval, ``kvd_subsets=100``
    and ``kvd_subset_size=1000``. The decode rule (``--max-side``) comes from the pipeline through
    :meth:`set_decode_settings` and is part of the protocol.
    """

    name = "fvd"
    outputs: ClassVar[dict[str, bool]] = {"fvd": False, "kvd": False}
    needs_reference = True
    output_families: ClassVar[dict[str, str]] = {"fvd": "distribution", "kvd": "distribution"}
    #: 2: the decode rule joined the protocol (features cached before it may come from another --max-side).
    feature_version = 2

    def __init__(self, weights: str = "i3d-k400", num_frames: int | str = 16, stride: int | str = 1,
                 start: int | str = 0, resize: str = "bilinear", size: int | str = 224,
                 loop_short: bool | str = False, batch_size: int | str = 8, dtype: str = "float32",
                 device: str | None = None, n_boot: int | str = 200, kvd_subsets: int | str = 100,
                 kvd_subset_size: int | str = 1000) -> None:
        from vbench_lite.weights import resolve_weights, weights_sha256

        self.protocol = FvdProtocol(num_frames=_as_int("num_frames", num_frames), stride=_as_int("stride", stride),
                                    start=_as_int("start", start), resize=str(resize), size=_as_int("size", size),
                                    loop_short=_as_bool(loop_short))
        if dtype not in DTYPES:
            raise VbenchError(f"FVD: unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
        self.weights_arg = str(weights)
        self.weights_path = resolve_weights(weights)
        self.weights_sha256 = weights_sha256(self.weights_path)
        self.dtype, self.device = dtype, device or default_device()
        # The bfloat16 path (native or emulated) depends on the CPU: recorded with every result.
        self.cpu_native_bf16 = cpu_native_bf16() if torch.device(self.device).type == "cpu" else None
        self.batch_size = _as_int("batch_size", batch_size)
        self.n_boot = _as_int("n_boot", n_boot)
        self.kvd_subsets, self.kvd_subset_size = _as_int("kvd_subsets", kvd_subsets), _as_int("kvd_subset_size",
                                                                                                 kvd_subset_size)
        self._extractor: I3dFeatureExtractor | None = None
        super().__init__(**self.settings())

    # -- identity -------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"protocol": self.protocol.describe(), "weights": self.weights_arg, "dtype": self.dtype,
                "dtype_used": self.dtype, "cpu_native_bf16": self.cpu_native_bf16,
                "device": str(self.device), "batch_size": self.batch_size, "covariance": "biased",
                "frechet_method": "eigh", "n_boot": self.n_boot, "kvd_subsets": self.kvd_subsets,
                "kvd_subset_size": self.kvd_subset_size}

    def provenance(self) -> dict[str, Any]:
        return {"i3d_weights_sha256": self.weights_sha256, "fvd_protocol": self.protocol.name,
                "fvd_protocol_hash": self.protocol.hash()}

    def cache_key(self) -> str:
        """Only what changes the features: protocol (with its decode rule), weights, precision and, for clips decoded
        shorter than the protocol needs, how many frames were decoded (not the device or the batch size)."""
        max_frames = self.decode_settings.get("max_frames")
        frames = min(int(max_frames), self.protocol.frames_needed) if max_frames else None
        blob = json.dumps({"v": self.feature_version, "protocol": self.protocol.hash(),
                           "weights": self.weights_sha256, "dtype": self.dtype, "frames": frames}, sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

    def set_decode_settings(self, **settings: Any) -> None:
        """The pipeline's decode rule becomes the protocol's (so it is hashed, stored and checked against the
        reference); ``max_side`` None or 0 means full size."""
        super().set_decode_settings(**settings)
        if "max_side" in settings:
            self.protocol = replace(self.protocol, decode_max_side=_as_int("max_side", settings["max_side"] or 0))
            if self._extractor is not None:
                self._extractor.protocol = self.protocol

    @property
    def extractor(self) -> I3dFeatureExtractor:
        if self._extractor is None:
            self._extractor = I3dFeatureExtractor(self.weights_path, protocol=self.protocol,
                                                  batch_size=self.batch_size, dtype=self.dtype, device=self.device)
        return self._extractor

    # -- per clip -------------------------------------------------------------------------------------------
    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        features = self.extractor.features(list(clips))
        needed = self.protocol.frames_needed
        # The decoded long side tells, at aggregation, which clips reached the decode limit (were shrunk).
        return [{"i3d": row.astype(np.float32), "i3d_looped": np.array(clip.num_frames < needed),
                 "i3d_decoded_side": np.array(max(clip.frames.shape[1:3]))}
                for row, clip in zip(features, clips)]

    def per_video(self, features: dict[str, np.ndarray]) -> dict[str, float]:
        return {}  # FVD and KVD exist only for a set

    # -- whole set ------------------------------------------------------------------------------------------
    def load_reference(self, reference: str | os.PathLike) -> ReferenceStats:
        """A stats ``.npz`` (checked for protocol, weights and dtype) or a folder of videos (features cached)."""
        from vbench_lite.paths import cache_dir

        path = Path(reference)
        if path.is_dir():
            # loop_short decides which videos are in the set (short ones skipped or looped): part of the key.
            key = hashlib.sha256(f"{path.resolve()}|{_directory_fingerprint(path)}|{self.cache_key()}|"
                                 f"loop={self.protocol.loop_short}".encode())
            cached = cache_dir() / "fvd-reference" / f"{key.hexdigest()[:20]}.npz"
            if cached.is_file():
                try:
                    ref = load_reference_stats(cached)
                    check_compatible(ref, self.protocol, self.weights_sha256, self.dtype, str(cached))
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
        check_compatible(ref, self.protocol, self.weights_sha256, self.dtype, str(path))
        return ref

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        """FVD and KVD of the clips against ``reference``. Every problem (no reference, a bad or incompatible one,
        non-finite features) is one :class:`VbenchError` line, which the pipeline records as the failure of the
        fvd/kvd rows only, keeping every other result of the run."""
        if not reference:
            raise VbenchError("fvd/kvd need --reference DIR|STATS.npz; not computed")
        used = [r for r in records if "i3d" in r.features]
        if not used:
            raise VbenchError(f"{reference}: fvd/kvd: no clip has I3D features (all failed earlier); not computed")
        try:
            return self._aggregate(used, str(reference), seed)
        except VbenchError:
            raise
        except Exception as exc:  # numerical trouble that got past the checks: still one line, still only fvd/kvd
            raise VbenchError(f"{reference}: fvd/kvd not computed ({type(exc).__name__}: {_one_line(exc)})") from exc

    def _aggregate(self, used: Sequence[ClipRecord], reference: str, seed: int) -> dict[str, MetricResult]:
        generated = np.stack([np.asarray(r.features["i3d"], dtype=np.float64) for r in used])
        bad = [f"{r.prompt.id}/{r.sample}" for r, row in zip(used, generated) if not np.isfinite(row).all()]
        if bad:
            raise VbenchError(f"{reference}: fvd/kvd not computed: {len(bad)} of {len(used)} generated clips have "
                              f"non-finite I3D features (e.g. {bad[0]})")
        ref = self.load_reference(reference)
        if ref.stats.n < 2 or len(used) < 2:
            raise VbenchError(f"{reference}: FVD needs at least 2 generated and 2 reference clips "
                              f"(got {len(used)} and {ref.stats.n})")
        if generated.shape[1] != ref.stats.feature_sum.shape[0]:
            raise VbenchError(f"{reference}: reference features are {ref.stats.feature_sum.shape[0]}-d, the "
                              f"generated clips' are {generated.shape[1]}-d")
        notes = small_sample_notes(len(used), ref.stats.n)
        input_notes = self._input_notes(used, ref)
        notes += input_notes
        gen_stats = FeatureStatistics.from_features(generated)
        mu_r, sigma_r = ref.stats.mean_cov()
        value = fvd_from_statistics(gen_stats, ref.stats)
        ci95 = bootstrap_frechet_ci95(generated, mu_r, sigma_r, n_boot=self.n_boot, seed=seed)
        settings = self.settings()
        extra = {"n_reference": ref.stats.n, "reference": reference, "bootstrap": f"{self.n_boot} resamples "
                 "of the generated clips, reference fixed"}
        results = {"fvd": MetricResult(value=value, ci95=ci95, n=len(used), higher_is_better=False,
                                       settings=settings, notes=notes, extra=extra)}
        if ref.features is None:
            notes.append("KVD not computed: the reference statistics were saved without features")
            return results
        kvd, kvd_std = kernel_distance(generated, ref.features, num_subsets=self.kvd_subsets,
                                       subset_size=self.kvd_subset_size, seed=seed)
        kvd_ci95 = bootstrap_mmd2_ci95(generated, ref.features, n_boot=self.n_boot, seed=seed)
        if not (np.isfinite(kvd) and all(np.isfinite(kvd_ci95 or ()))):
            raise VbenchError(f"{reference}: KVD is not finite ({kvd}); fvd/kvd not computed")
        size = min(self.kvd_subset_size, len(used), len(ref.features))
        results["kvd"] = MetricResult(value=kvd, ci95=kvd_ci95, n=len(used), higher_is_better=False,
                                      settings=settings, notes=[*input_notes, KVD_SIGN_NOTE],
                                      extra={**extra, "subset_std": kvd_std, "subsets": self.kvd_subsets,
                                             "subset_size": size, "kernel": "(x.y/d + 1)^3, unbiased MMD^2",
                                             "bootstrap": f"{self.n_boot} resamples of the generated clips "
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
        bf16 = bf16_cpu_warning(self.dtype, self.device)
        if bf16:
            notes.append(bf16)
        return notes
