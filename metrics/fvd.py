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

FVD is biased upwards for small sets: published numbers use 2048 clips. Below that a note and a warning say the
value is not comparable; at ``n <= 400`` (the feature size) the covariance is rank-deficient, also noted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import Metric

from metrics.base import ClipRecord, MetricResult, VideoMetric
from metrics.functional.frechet import bootstrap_frechet_ci95, covariance_from_sums, frechet_distance
from metrics.functional.kernel_distance import kernel_distance
from reference_models.i3d import I3D_MIN_FRAMES, NUM_CLASSES
from vbench_lite.results import atomic_write_bytes
from vbench_lite.types import Clip, Prompt, VbenchError

FEATURE_DIM = NUM_CLASSES
#: Clip count of published FVD numbers (StyleGAN-V's FVD_2048 and most papers since).
PUBLISHED_N = 2048
RESIZE_RULES = ("bilinear", "short_side_crop")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
STATS_FORMAT = "vbench-lite/fvd-stats@1"
#: Reference videos are decoded at most this large (area downscaling), as the scoring pipeline decodes clips.
REFERENCE_DECODE_MAX_SIDE = 512


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

    @property
    def frames_needed(self) -> int:
        return self.start + (self.num_frames - 1) * self.stride + 1

    def feature_settings(self) -> dict[str, Any]:
        """The settings that define the features of a clip long enough for the protocol (all but ``loop_short``:
        looping only decides what happens to shorter clips, and each looped clip is noted in the results)."""
        return {k: v for k, v in asdict(self).items() if k != "loop_short"}

    @property
    def name(self) -> str:
        return "stylegan-v" if self.feature_settings() == FvdProtocol().feature_settings() else "custom"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def hash(self) -> str:
        blob = json.dumps({**self.feature_settings(), **self.FIXED}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

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


class I3dFeatureExtractor:
    """The FVD feature of clips: preprocess with the protocol, run the I3D in batches, return float32 ``(N, 400)``.

    ``dtype="bfloat16"`` casts the network (not autocast); channels-last memory layout is used on every device
    (same numbers, ~1.7x faster batched convolutions on CPU).
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
        "looped": np.array(ref.looped, dtype=str),
    }
    if include_features and ref.features is not None:
        arrays["features"] = np.asarray(ref.features, dtype=np.float32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def load_reference_stats(path: str | os.PathLike) -> ReferenceStats:
    """Read a stats file written by :func:`save_reference_stats` (no pickles are loaded)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            needed = {"n", "feature_sum", "outer_sum", "protocol", "protocol_hash", "weights_sha256"}
            if not needed <= files:
                missing = ", ".join(sorted(needed - files))
                raise VbenchError(f"{path}: not a vbench-lite FVD statistics file (missing {missing}); "
                                  f"write one with `vbench-lite fvd-stats DIR --out STATS.npz`")
            stats = FeatureStatistics(int(data["n"]), data["feature_sum"].astype(np.float64),
                                      data["outer_sum"].astype(np.float64))
            return ReferenceStats(
                stats=stats, protocol=json.loads(str(data["protocol"])), weights_sha256=str(data["weights_sha256"]),
                dtype=str(data["dtype"]) if "dtype" in files else "float32",
                features=data["features"] if "features" in files else None,
                videos=[str(v) for v in data["videos"]] if "videos" in files else [],
                skipped=[str(v) for v in data["skipped"]] if "skipped" in files else [],
                looped=[str(v) for v in data["looped"]] if "looped" in files else [])
    except VbenchError:
        raise
    except Exception as exc:
        raise VbenchError(f"{path}: cannot read FVD statistics ({exc})") from exc


def check_compatible(ref: ReferenceStats, protocol: FvdProtocol, weights_sha256: str, dtype: str, source: str
                     ) -> None:
    """Refuse reference statistics made with another protocol, other weights or another I3D precision."""
    if ref.protocol_hash != protocol.hash():
        mine = protocol.describe()
        differs = [f"{k}={ref.protocol.get(k)!r} (this run: {mine[k]!r})" for k in sorted(mine)
                   if k not in ("name", "hash", "loop_short") and ref.protocol.get(k) != mine[k]]
        raise VbenchError(f"{source}: reference statistics use FVD protocol {ref.protocol.get('name')!r} "
                          f"({ref.protocol_hash}), this run uses {protocol.name!r} ({protocol.hash()}): "
                          f"{'; '.join(differs) or 'settings differ'}")
    if ref.weights_sha256 != weights_sha256:
        raise VbenchError(f"{source}: reference statistics were computed with I3D weights sha256 "
                          f"{ref.weights_sha256[:16]}..., this run uses {weights_sha256[:16]}...")
    if ref.dtype != dtype:
        raise VbenchError(f"{source}: reference statistics were computed with the I3D in {ref.dtype}, this run uses "
                          f"{dtype}")


def reference_from_directory(directory: str | os.PathLike, extractor: I3dFeatureExtractor, weights_sha256: str, *,
                             progress: Callable[[int, int], None] | None = None,
                             max_side: int | None = REFERENCE_DECODE_MAX_SIDE) -> ReferenceStats:
    """Features and statistics of every video under ``directory`` (decoded with ``vbench_lite.video_io``).

    Videos that cannot be decoded or are shorter than the protocol needs are skipped and listed (StyleGAN-V
    likewise discards short real videos); none usable is an error.
    """
    from vbench_lite.video_io import find_videos, read_video

    root = Path(directory)
    paths = find_videos(root)
    if not paths:
        raise VbenchError(f"{root}: no videos found")
    protocol = extractor.protocol
    feats, names, skipped, looped = [], [], [], []
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
                          extractor.dtype_name, features=features, videos=names, skipped=skipped, looped=looped)


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
    and ``kvd_subset_size=1000``.
    """

    name = "fvd"
    outputs: ClassVar[dict[str, bool]] = {"fvd": False, "kvd": False}
    output_families: ClassVar[dict[str, str]] = {"fvd": "distribution", "kvd": "distribution"}
    feature_version = 1

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
        self.batch_size = _as_int("batch_size", batch_size)
        self.n_boot = _as_int("n_boot", n_boot)
        self.kvd_subsets, self.kvd_subset_size = _as_int("kvd_subsets", kvd_subsets), _as_int("kvd_subset_size",
                                                                                                 kvd_subset_size)
        self._extractor: I3dFeatureExtractor | None = None
        super().__init__(**self.settings())

    # -- identity -------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"protocol": self.protocol.describe(), "weights": self.weights_arg, "dtype": self.dtype,
                "device": str(self.device), "batch_size": self.batch_size, "covariance": "biased",
                "frechet_method": "eigh", "n_boot": self.n_boot, "kvd_subsets": self.kvd_subsets,
                "kvd_subset_size": self.kvd_subset_size}

    def provenance(self) -> dict[str, Any]:
        return {"i3d_weights_sha256": self.weights_sha256, "fvd_protocol": self.protocol.name,
                "fvd_protocol_hash": self.protocol.hash()}

    def cache_key(self) -> str:
        """Only what changes the features: protocol, weights and precision (not the device or the batch size)."""
        blob = json.dumps({"v": self.feature_version, "protocol": self.protocol.hash(),
                           "weights": self.weights_sha256, "dtype": self.dtype}, sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

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
        return [{"i3d": row.astype(np.float32), "i3d_looped": np.array(clip.num_frames < needed)}
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
            # decode the reference like the generated clips were decoded (the pipeline's --max-side)
            ref = reference_from_directory(path, self.extractor, self.weights_sha256,
                                           max_side=self.decode_settings.get("max_side", REFERENCE_DECODE_MAX_SIDE))
            save_reference_stats(cached, ref)
            return ref
        if not path.is_file():
            raise VbenchError(f"{path}: no such reference (a STATS.npz or a folder of videos)")
        ref = load_reference_stats(path)
        check_compatible(ref, self.protocol, self.weights_sha256, self.dtype, str(path))
        return ref

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        if not reference:
            return {}
        rows = [np.asarray(r.features["i3d"], dtype=np.float64) for r in records if "i3d" in r.features]
        if not rows:
            return {}
        generated = np.stack(rows)
        ref = self.load_reference(reference)
        if ref.stats.n < 2 or len(rows) < 2:
            raise VbenchError(f"{reference}: FVD needs at least 2 generated and 2 reference clips "
                              f"(got {len(rows)} and {ref.stats.n})")
        notes = small_sample_notes(len(rows), ref.stats.n)
        looped = sum(bool(r.features.get("i3d_looped", False)) for r in records if "i3d" in r.features)
        needed = self.protocol.frames_needed
        if looped:
            notes.append(f"{looped} of {len(rows)} generated clips had fewer than {needed} frames and were looped")
        if ref.looped:
            notes.append(f"{len(ref.looped)} of {ref.stats.n} reference videos had fewer than {needed} frames and "
                         f"were looped (e.g. {ref.looped[0]})")
        if ref.skipped:
            notes.append(f"{len(ref.skipped)} reference videos skipped (e.g. {ref.skipped[0]})")
        gen_stats = FeatureStatistics.from_features(generated)
        mu_r, sigma_r = ref.stats.mean_cov()
        value = fvd_from_statistics(gen_stats, ref.stats)
        ci95 = bootstrap_frechet_ci95(generated, mu_r, sigma_r, n_boot=self.n_boot, seed=seed)
        settings = self.settings()
        extra = {"n_reference": ref.stats.n, "reference": str(reference), "bootstrap": f"{self.n_boot} resamples "
                 "of the generated clips, reference fixed"}
        results = {"fvd": MetricResult(value=value, ci95=ci95, n=len(rows), higher_is_better=False,
                                       settings=settings, notes=notes, extra=extra)}
        if ref.features is None:
            notes.append("KVD not computed: the reference statistics were saved without features")
            return results
        kvd, kvd_std = kernel_distance(generated, ref.features, num_subsets=self.kvd_subsets,
                                       subset_size=self.kvd_subset_size, seed=seed)
        size = min(self.kvd_subset_size, len(rows), len(ref.features))
        kvd_notes = [n for n in notes if "skipped" in n or "looped" in n]
        results["kvd"] = MetricResult(value=kvd, ci95=None, n=len(rows), higher_is_better=False, settings=settings,
                                      notes=kvd_notes,
                                      extra={**extra, "subset_std": kvd_std, "subsets": self.kvd_subsets,
                                             "subset_size": size,
                                             "kernel": "(x.y/d + 1)^3, unbiased MMD^2"})
        return results
