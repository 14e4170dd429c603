"""The FVD reference statistics file (``vbench-lite fvd-stats --out STATS.npz``): save, load, validate, compare.

The file holds mu, sigma (biased), n, the feature sum and outer-product sum, the protocol (name, hash, settings),
the I3D weights sha256 and precision, and optionally the features (KVD needs them). Files are validated on load
(shapes, finiteness, ``n``, a symmetric PSD covariance, the protocol hash) and refused when made with another
protocol, other weights or another precision: every problem is one :class:`~vbench_lite.types.VbenchError` line.

One file format serves every feature space (``feature_space``: ``i3d`` for fvd/kvd/fvd_inf, the VideoMAE-v2 space of
cd_fvd, the V-JEPA space of jedi); a file of one space is refused by a metric of another (:func:`check_feature_space`),
files written before the field existed are I3D files.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrics.feature_statistics import FEATURE_DIM, FeatureStatistics
from metrics.fvd_protocol import LEGACY_DECODE_MAX_SIDE, FvdProtocol
from vbench_lite.frames import short_error
from vbench_lite.results import atomic_write_bytes
from vbench_lite.types import VbenchError

STATS_FORMAT = "vbench-lite/fvd-stats@1"
DTYPES = ("float32", "bfloat16")
#: The feature space of files that do not name one (every file written before feature spaces existed).
DEFAULT_FEATURE_SPACE = "i3d"
#: Reference statistics are checked to this relative tolerance: the outer-product sum must be symmetric and the
#: covariance's eigenvalues at least -PSD_RTOL x the largest. Round-off in sums of float64 features is ~1e-13 of
#: the scale, a negated or corrupted sum is O(1): 1e-6 separates them by orders of magnitude.
PSD_RTOL = 1e-6


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
    #: Which network and preprocessing made the features (see :func:`check_feature_space`).
    feature_space: str = DEFAULT_FEATURE_SPACE

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
        "feature_space": np.array(ref.feature_space),
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
        raise VbenchError(f"{path}: cannot read FVD statistics ({short_error(exc, limit=300)})") from exc
    return _reference_from_arrays(arrays, str(path))


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
    space = str(data["feature_space"]) if "feature_space" in data else DEFAULT_FEATURE_SPACE
    if dtype not in DTYPES:
        raise VbenchError(f"{source}: unknown I3D dtype {dtype!r} (known: {', '.join(DTYPES)})")
    return ReferenceStats(stats=stats, protocol=protocol, weights_sha256=str(data["weights_sha256"]), dtype=dtype,
                          features=features, videos=_string_list(data, "videos"),
                          skipped=_string_list(data, "skipped"), looped=_string_list(data, "looped"),
                          shrunk=_string_list(data, "shrunk"), feature_space=space)


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
        raise VbenchError(f"{source}: invalid FVD protocol settings ({short_error(exc, limit=300)})") from None
    if not fixed_same or remade.hash() != protocol["hash"]:
        raise VbenchError(f"{source}: FVD protocol hash {protocol['hash']!r} does not match its settings (they hash "
                          f"to {remade.hash()!r}): the file was edited")
    return protocol


def check_feature_space(ref: ReferenceStats, space: str, source: str) -> None:
    """Refuse statistics of another feature space (an I3D file for cd_fvd, a VideoMAE file for jedi...): their
    numbers would be a distance between unrelated vectors."""
    if ref.feature_space != space:
        raise VbenchError(f"{source}: reference statistics are in the {ref.feature_space!r} feature space, this metric "
                          f"needs {space!r}: make them with the metric's own model (feature spaces never mix)")


def check_compatible(ref: ReferenceStats, protocol: FvdProtocol, weights_sha256: str, dtype: str, source: str, *,
                     dim: int = FEATURE_DIM, feature_space: str = DEFAULT_FEATURE_SPACE) -> None:
    """Refuse reference statistics of another feature space, made with another protocol (decode rule included),
    other weights, another precision or another feature size."""
    check_feature_space(ref, feature_space, source)
    model = "I3D" if feature_space == DEFAULT_FEATURE_SPACE else feature_space
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
        raise VbenchError(f"{source}: reference features are {ref.stats.feature_sum.shape[0]}-d, the {model} "
                          f"gives {dim}")
    if ref.weights_sha256 != weights_sha256:
        raise VbenchError(f"{source}: reference statistics were computed with {model} weights sha256 "
                          f"{ref.weights_sha256[:16]}..., this run uses {weights_sha256[:16]}...")
    if ref.dtype != dtype:
        raise VbenchError(f"{source}: reference statistics were computed with the I3D in {ref.dtype}, this run uses "
                          f"{dtype}")
