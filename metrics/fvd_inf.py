"""FVD extrapolated to infinitely many generated clips (the FID_inf of Chong & Forsyth, CVPR 2020, applied to FVD).

FVD of N clips against fixed reference statistics is biased upward by about ``k / N``. ``fvd_inf`` computes FVD on
random subsets of the generated clips at ``points`` sizes spaced evenly in 1/N between ``min_fraction x N`` and N
(``repeats`` subsets each, averaged), fits ``FVD(N) = FVD_inf + k / N`` by least squares
(:func:`metrics.functional.extrapolation.fit_inverse_n`) and reports the intercept, with the fit (slope, residual,
the intercept's standard error, every point) in ``extra``. Same I3D, protocol, features and cache as ``fvd``
(:class:`~metrics.fvd.FrechetVideoDistance`): only the aggregation differs. The interval is the intercept +- 1.96
standard errors of the fit (NaN-free only with 3 or more sizes). Lower is better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from metrics.base import ClipRecord, MetricResult, fails_as_one_line, require_reference
from metrics.functional.extrapolation import fit_inverse_n, subset_sizes, values_at_sizes
from metrics.functional.frechet import FrechetToReference
from metrics.fvd import FrechetVideoDistance, FvdSettings
from vbench_lite.frames import short_error
from vbench_lite.types import VbenchError


@dataclass(frozen=True)
class FvdInfSettings(FvdSettings):
    """fvd's settings (``--metric-args fvd_inf.k=v``) plus the extrapolation: ``points`` subset sizes,
    ``min_fraction`` (smallest subset / all clips) and ``repeats`` random subsets per size."""

    points: int = 5
    min_fraction: float = 0.5
    repeats: int = 4


class FvdInfinity(FrechetVideoDistance):
    """FVD extrapolated to N = infinity; ``compute()`` -> ``{"fvd_inf", "fvd_inf_slope"}`` (seeded by ``seed``)."""

    name = "fvd_inf"
    outputs: ClassVar[dict[str, bool]] = {"fvd_inf": False}
    output_families: ClassVar[dict[str, str]] = {"fvd_inf": "distribution"}
    Settings = FvdInfSettings

    def settings(self) -> dict[str, Any]:
        cfg = self.config
        return {**super().settings(), "points": cfg.points, "min_fraction": cfg.min_fraction, "repeats": cfg.repeats}

    def cache_key(self) -> str:
        """fvd's key: the same I3D features of the same clips, cached once for both metrics."""
        key = super().cache_key()
        return "fvd" + key[len(self.name):]

    def fit(self):
        if self.reference is None:
            raise VbenchError("fvd_inf needs a reference set: call set_reference(STATS.npz | DIR) first")
        x = self.generated()
        cfg = self.config
        try:
            sizes = subset_sizes(x.shape[0], points=cfg.points, min_fraction=cfg.min_fraction)
            to_ref = FrechetToReference(*self.reference.stats.mean_cov())
            values = values_at_sizes(x, to_ref.of_features, sizes, repeats=cfg.repeats, seed=self.seed)
            return fit_inverse_n(sizes, values)
        except ValueError as exc:
            raise VbenchError(f"fvd_inf: {short_error(exc, limit=300)}") from None

    def compute(self) -> dict[str, torch.Tensor]:
        fit = self.fit()
        return {"fvd_inf": torch.tensor(fit.intercept, dtype=torch.float64),
                "fvd_inf_slope": torch.tensor(fit.slope, dtype=torch.float64)}

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        reference = require_reference(reference, "fvd_inf")
        used = [r for r in records if "i3d" in r.features]
        if len(used) < 4:
            raise VbenchError(f"{reference}: fvd_inf needs at least 4 generated clips with I3D features, got "
                              f"{len(used)}; not computed")
        with fails_as_one_line(reference, "fvd_inf"):
            ref = self.set_reference(reference)
            self.reset()
            self.update([r.features for r in used])
            self.seed = seed
            fit = self.fit()
        ci95 = None
        if np.isfinite(fit.intercept_stderr):
            ci95 = (fit.intercept - 1.96 * fit.intercept_stderr, fit.intercept + 1.96 * fit.intercept_stderr)
        notes = [f"FVD extrapolated from {len(fit.sizes)} subset sizes ({fit.sizes[0]}..{fit.sizes[-1]} clips) to "
                 f"N = infinity; FVD at N={fit.sizes[-1]} was {fit.values[-1]:.4g}", *self._input_notes(used, ref)]
        if len(used) < 400:
            notes.append(f"{len(used)} clips: FID_inf fits subsets of thousands; with few clips the fit extrapolates "
                         f"far and its interval is wide")
        return {"fvd_inf": MetricResult(value=fit.intercept, ci95=ci95, n=len(used), higher_is_better=False,
                                        settings=self.settings(), notes=notes,
                                        extra={"fit": fit.to_dict(), "n_reference": ref.stats.n,
                                               "reference": str(reference),
                                               "interval": "intercept +- 1.96 standard errors of the fit"})}
