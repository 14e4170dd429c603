"""metrics/fvd_inf.py: the extrapolated value is the 1/N fit of FVD at subsets computed by hand, it shares fvd's
cached features, and its result carries the fit."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.base import ClipRecord
from metrics.feature_statistics import FeatureStatistics
from metrics.functional.extrapolation import fit_inverse_n
from metrics.functional.frechet import frechet_distance, frechet_distance_from_features, gaussian_statistics
from metrics.fvd import FrechetVideoDistance
from metrics.fvd_inf import FvdInfinity
from metrics.stats_file import ReferenceStats
from tests.reference_models.test_i3d import random_model
from vbench_lite.types import Prompt, VbenchError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from safetensors.torch import save_file

    path = tmp_path_factory.mktemp("i3d") / "random.safetensors"
    save_file({k: v.contiguous() for k, v in random_model(seed=3).state_dict().items()}, str(path))
    return path


def test_fit_is_the_hand_fit_of_fvd_at_hand_drawn_subsets(weights):
    """Same seed, same draws: subsets taken here with numpy's generator in fvd_inf's order, FVD by the direct
    formula, fitted by numpy's polyfit in 1/N (an independent least-squares solver): equal to 1e-9 relative."""
    metric = FvdInfinity(weights=str(weights), num_frames=9, size=64, points=3, min_fraction=0.5, repeats=2)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 400)), rng.normal(0.1, 1.0, size=(60, 400))
    metric.set_reference(ReferenceStats(FeatureStatistics.from_features(y), metric.protocol.describe(),
                                        metric.weights_sha256, "float32"))
    metric.update([{"i3d": row} for row in x])
    metric.seed = 7
    got = metric.fit()
    mu_r, s_r = gaussian_statistics(y)
    draws = np.random.default_rng(7)
    values = []
    for size in got.sizes:
        runs = 1 if size == 40 else 2
        values.append(np.mean([frechet_distance(*gaussian_statistics(x[draws.choice(40, size, replace=False)]),
                                                mu_r, s_r) for _ in range(runs)]))
    slope, intercept = np.polyfit(1.0 / np.array(got.sizes), values, 1)
    assert got.sizes == (20, 27, 40)
    assert (got.intercept, got.slope) == pytest.approx((intercept, slope), rel=1e-9)
    assert got.values[-1] == pytest.approx(frechet_distance_from_features(x, y), rel=1e-9)
    assert float(metric.compute()["fvd_inf"]) == got.intercept
    assert fit_inverse_n(got.sizes, values).intercept == pytest.approx(intercept, rel=1e-9)


def test_shares_fvds_cache_and_reports_the_fit(weights):
    fvd_inf = FvdInfinity(weights=str(weights), num_frames=9, size=64, repeats=1)
    fvd = FrechetVideoDistance(weights=str(weights), num_frames=9, size=64)
    assert fvd_inf.cache_key() == fvd.cache_key()
    # ...and the pipeline's feature folder, where the sharing happens (it once was named after the metric)
    from pathlib import Path

    from vbench_lite.scoring import ScoreSettings, feature_dir

    assert feature_dir(Path("RUN"), fvd_inf, ScoreSettings()) == feature_dir(Path("RUN"), fvd, ScoreSettings())
    rng = np.random.default_rng(1)
    y = rng.normal(size=(30, 400))
    ref = ReferenceStats(FeatureStatistics.from_features(y), fvd_inf.protocol.describe(), fvd_inf.weights_sha256,
                         "float32")
    fvd_inf.load_reference = lambda _: ref
    records = [ClipRecord(Prompt(id=f"p{i}", text="t"), 0, {"i3d": row}, {}) for i, row in
               enumerate(rng.normal(size=(12, 400)))]
    result = fvd_inf.aggregate(records, reference="ref", seed=0)["fvd_inf"]
    fit = result.extra["fit"]
    assert result.value == fit["intercept"] and len(fit["sizes"]) >= 3 and fit["sizes"][-1] == 12
    assert result.ci95[0] < result.value < result.ci95[1]
    with pytest.raises(VbenchError, match="at least 4"):
        fvd_inf.aggregate(records[:3], reference="ref")
