"""Summable statistics of I3D feature sets and the FVD between two of them (pytorch-fid's "statistics" layer).

``n``, ``sum x`` and ``sum x x^T`` in float64 merge across shards by adding; the mean and (biased) covariance follow
from them, and the Frechet distance from :mod:`metrics.functional.frechet`. FVD is biased upwards for small sets:
published numbers use 2048 clips, and at ``n <= 400`` (the feature size) the covariance is rank-deficient.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from metrics.functional.frechet import covariance_from_sums, frechet_distance
from reference_models.i3d import NUM_CLASSES

FEATURE_DIM = NUM_CLASSES
#: Clip count of published FVD numbers (StyleGAN-V's FVD_2048 and most papers since).
PUBLISHED_N = 2048


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
