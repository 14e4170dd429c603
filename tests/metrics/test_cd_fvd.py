"""metrics/cd_fvd.py (and the shared metrics/encoder_distance.py): the Frechet distance against cd-FVD's own formula
computed independently with scipy, references of every kind, feature spaces that never mix."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg

from metrics.cd_fvd import ContentDebiasedFvd
from metrics.feature_statistics import FeatureStatistics
from metrics.jedi import Jedi
from metrics.stats_file import ReferenceStats, load_reference_stats, save_reference_stats
from tests.metrics.encoder_fixtures import tiny_videomae, tiny_vjepa2
from tests.metrics.tester import tiny_clips
from tests.metrics.video_helpers import write_clips
from vbench_lite.types import VbenchError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdfvd")
    return {"cd_fvd": tiny_videomae(root / "vm"), "jedi": tiny_vjepa2(root / "vj")}


def build(weights, cls=ContentDebiasedFvd):
    return cls(weights=str(weights[cls.name]), num_frames=10, size=32, n_boot=20, device="cpu")


def cdfvd_formula(x, y):
    """cdfvd/fvd.py compute_fvd_from_stats (songweige/content-debiased-fvd): scipy sqrtm of sigma_r sigma_f."""
    mu_f, mu_r = x.mean(0), y.mean(0)
    s_f, s_r = np.cov(x, rowvar=False, bias=True), np.cov(y, rowvar=False, bias=True)
    s = scipy.linalg.sqrtm(s_r @ s_f)
    return float(np.real(np.square(mu_r - mu_f).sum() + np.trace(s_f + s_r - 2 * s)))


def test_distance_equals_cdfvds_formula_on_random_features(weights):
    """More clips than dimensions (full-rank covariances): eigh and scipy's sqrtm agree to ~1e-9 of the value."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 12)), rng.normal(0.2, 1.1, size=(90, 12))
    metric = build(weights)
    metric.set_reference(ReferenceStats(FeatureStatistics.from_features(y), metric.protocol.describe(),
                                        metric.weights_sha256, "float32", features=y,
                                        feature_space=metric.space.space))
    metric.update([{"videomae": row} for row in x])
    assert float(metric.compute()["cd_fvd"]) == pytest.approx(cdfvd_formula(x, y), rel=1e-9)


def test_reference_folder_equals_its_stats_file_and_other_spaces_are_refused(weights, tmp_path):
    ref_dir = write_clips(tmp_path / "ref", tiny_clips(4, seed=1))
    metric = build(weights)
    ref = metric.reference_stats(ref_dir)
    assert ref.feature_space == "videomae-v2-g-ssv2" and ref.stats.n == 4
    path = save_reference_stats(tmp_path / "cd.npz", ref)
    assert load_reference_stats(path).feature_space == "videomae-v2-g-ssv2"
    metric.update_clips(tiny_clips(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric.set_reference(path)
        from_file = float(metric.compute()["cd_fvd"])
        metric.set_reference(ref_dir)
        assert float(metric.compute()["cd_fvd"]) == from_file
    jedi = build(weights, Jedi)
    with pytest.raises(VbenchError, match="'videomae-v2-g-ssv2' feature space, this metric needs 'vjepa2-vitl-ssv2'"):
        jedi.set_reference(path)
    i3d_file = ReferenceStats(ref.stats, ref.protocol, ref.weights_sha256, "float32")  # no space: an I3D file
    with pytest.raises(VbenchError, match="'i3d' feature space"):
        metric.set_reference(save_reference_stats(tmp_path / "i3d.npz", i3d_file))


def test_fvd_refuses_a_cd_fvd_statistics_file(tmp_path):
    from metrics.fvd_protocol import FvdProtocol
    from metrics.stats_file import check_compatible

    feats = np.random.default_rng(1).normal(size=(5, 400))
    protocol = FvdProtocol()
    ref = ReferenceStats(FeatureStatistics.from_features(feats), protocol.describe(), "a" * 64, "float32",
                         feature_space="videomae-v2-g-ssv2")
    loaded = load_reference_stats(save_reference_stats(tmp_path / "x.npz", ref))
    with pytest.raises(VbenchError, match="feature spaces never mix"):
        check_compatible(loaded, protocol, "a" * 64, "float32", "x.npz")


def test_aggregate_gives_an_interval_notes_and_one_line_errors(weights, tmp_path):
    from metrics.base import ClipRecord
    from vbench_lite.types import Prompt

    metric = build(weights)
    feats = metric.extract(tiny_clips(4), [None] * 4)
    records = [ClipRecord(Prompt(id=f"p{i}", text="t"), 0, f, {}) for i, f in enumerate(feats)]
    ref = save_reference_stats(tmp_path / "r.npz", metric.reference_stats(write_clips(tmp_path / "v", tiny_clips(5))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = metric.aggregate(records, reference=str(ref), seed=1)["cd_fvd"]
    lo, hi = result.ci95
    assert lo <= result.value <= hi and result.n == 4 and result.higher_is_better is False
    assert any("rank-deficient" in note for note in result.notes)
    with pytest.raises(VbenchError, match="needs --reference"):
        metric.aggregate(records)
