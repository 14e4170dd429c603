"""metrics/jedi.py: the class's number is JEDi's formula (hand double loop) on its cached V-JEPA features, both
estimators, the interval, and a stats file without features refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.feature_statistics import FeatureStatistics
from metrics.jedi import JEDI_NOTE, Jedi
from metrics.stats_file import ReferenceStats
from tests.metrics.encoder_fixtures import tiny_vjepa2
from tests.metrics.test_mmd import hand_mmd2
from tests.metrics.tester import tiny_clips
from vbench_lite.types import VbenchError


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_vjepa2(tmp_path_factory.mktemp("jedi") / "vj")


def reference(metric, y, *, features=True):
    return ReferenceStats(FeatureStatistics.from_features(y), metric.protocol.describe(), metric.weights_sha256,
                          "float32", features=y if features else None, feature_space=metric.space.space)


@pytest.mark.parametrize("estimator", ["jedi", "unbiased"])
def test_value_is_100_times_the_hand_mmd_of_the_extracted_features(folder, estimator):
    metric = Jedi(weights=str(folder), num_frames=10, size=32, estimator=estimator, device="cpu")
    feats = metric.extract(tiny_clips(4), [None] * 4)
    x = np.stack([f["vjepa"] for f in feats]).astype(np.float64)
    y = np.random.default_rng(0).normal(size=(5, x.shape[1]))
    metric.set_reference(reference(metric, y))
    metric.update(feats)
    want = 100 * hand_mmd2(x, y, degree=2, gamma=1 / x.shape[1], coef0=0.0, unbiased=estimator == "unbiased")
    assert float(metric.compute()["jedi"]) == pytest.approx(want, rel=1e-9, abs=1e-12)  # float64 sums, ~1e-15


def test_aggregate_reports_the_interval_and_the_network_note(folder):
    from metrics.base import ClipRecord
    from vbench_lite.types import Prompt

    metric = Jedi(weights=str(folder), num_frames=10, size=32, n_boot=30, device="cpu")
    feats = metric.extract(tiny_clips(4), [None] * 4)
    records = [ClipRecord(Prompt(id=f"p{i}", text="t"), 0, f, {}) for i, f in enumerate(feats)]
    y = np.random.default_rng(1).normal(size=(6, 32))
    metric.load_reference = lambda _: reference(metric, y)  # a reference without writing a file
    result = metric.aggregate(records, reference="ref", seed=2)["jedi"]
    assert result.ci95[0] <= result.value <= result.ci95[1] and JEDI_NOTE in result.notes
    metric.load_reference = lambda _: reference(metric, y, features=False)
    with pytest.raises(VbenchError, match="saved without them"):
        metric.aggregate(records, reference="ref")
