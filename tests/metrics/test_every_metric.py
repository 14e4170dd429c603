"""Every registered metric (built in, or added through an entry point) passes the shared tester, and its library
number is the number `vbench-lite score` writes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import save_file

from metrics.base import VideoMetric
from metrics.feature_statistics import FeatureStatistics
from metrics.stats_file import ReferenceStats, save_reference_stats
from tests.metrics.detection_fixtures import detection_build_args
from tests.metrics.encoder_fixtures import tiny_videomae, tiny_vjepa2
from tests.metrics.tester import MetricTester, tiny_clips, tiny_prompts
from tests.metrics.vbench_fixtures import vbench_build_args
from tests.metrics.video_text_fixtures import video_text_build_args
from tests.reference_models.test_i3d import random_model
from vbench_lite.pipeline import ScoreSettings, VideoItem, score
from vbench_lite.registry import METRICS
from vbench_lite.video_io import read_video, write_video

REGISTERED = METRICS.names()
SEMANTIC_FIXTURES = (detection_build_args, video_text_build_args)


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> Path:
    """Random-init I3D weights (the FVD tests' fixture): FVD runs without the real Kinetics-400 file."""
    path = tmp_path_factory.mktemp("weights") / "random-i3d.safetensors"
    save_file({k: v.contiguous() for k, v in random_model(seed=3).state_dict().items()}, str(path))
    return path


@pytest.fixture(scope="module")
def encoder_folders(tmp_path_factory) -> dict[str, Path]:
    """Tiny random-init transformers encoders of cd_fvd's and jedi's architectures (save_pretrained folders)."""
    root = tmp_path_factory.mktemp("encoders")
    return {"cd_fvd": tiny_videomae(root / "videomae"), "jedi": tiny_vjepa2(root / "vjepa2")}


def build_args(name: str, random_weights: Path, encoder_folders: dict[str, Path] | None = None) -> dict:
    """What a metric needs to be built on a CPU test runner (the defaults for any metric not listed)."""
    if name in ("fvd", "fvd_inf"):
        return {"weights": str(random_weights), "num_frames": 9, "size": 64, "n_boot": 5}
    if name in ("cd_fvd", "jedi") and encoder_folders:
        return {"weights": str(encoder_folders[name]), "num_frames": 10, "size": 32, "n_boot": 5}
    vbench = vbench_build_args(name)  # the VBench quality metrics: small random-init networks, toy CLIP
    if vbench is not None:
        return vbench
    for semantic in SEMANTIC_FIXTURES:  # the semantic dimensions: toy models or tiny random-init folders
        args = semantic(name)
        if args is not None:
            return args
    return {}


def reference_for(metric: VideoMetric, n: int = 6) -> ReferenceStats:
    """A small random reference set made under the metric's protocol, weights and feature space (for metrics that
    need one): 400-d I3D features, or the tiny encoders' 32-d ones."""
    space = getattr(getattr(metric, "space", None), "space", "i3d")
    feats = np.random.default_rng(5).normal(size=(n, 400 if space == "i3d" else 32))
    return ReferenceStats(FeatureStatistics.from_features(feats), metric.protocol.describe(), metric.weights_sha256,
                          getattr(metric.config, "dtype", "float32"), features=feats, feature_space=space)


@pytest.fixture(params=REGISTERED)
def tester(request, random_weights, encoder_folders) -> MetricTester:
    name = request.param
    cls = METRICS.get(name)
    args = build_args(name, random_weights, encoder_folders)

    def prepare(metric: VideoMetric) -> None:
        if metric.needs_reference:
            metric.set_reference(reference_for(metric))

    tester = MetricTester(name, lambda **changes: cls(**{**args, **changes}), prepare)
    tester.cls = cls
    return tester


def test_registered_metrics_include_the_builtins_and_the_entry_point_fixture():
    assert {"clip", "fvd", "temporal", "brightness"} <= set(REGISTERED)


def test_batched_extract_equals_one_clip_at_a_time(tester):
    tester.check_batched_equals_single(tiny_clips(3), tiny_prompts(3))


def test_features_survive_the_cache_files(tester, tmp_path):
    tester.check_cache_round_trip(tiny_clips(2), tiny_prompts(2), tmp_path)


@pytest.mark.filterwarnings("ignore::UserWarning")  # FVD's small-set warnings
def test_two_shards_merge_to_the_one_shot_values(tester):
    tester.check_two_shards_merge(tiny_clips(4), tiny_prompts(4))


def test_cache_key_changes_with_every_feature_setting(tester):
    tester.check_cache_key_follows_feature_settings(tester.cls)


def test_a_bad_clip_is_one_line(tester):
    tester.check_bad_clips_are_one_line_errors(tiny_prompts(1)[0])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_library_number_is_the_cli_number(tester, tmp_path):
    """`score` through the pipeline API on tiny clips, then the class by hand on the same decoded clips: equal."""
    clips, prompts = tiny_clips(4), tiny_prompts(4)
    items = [VideoItem(p, 0, write_video(tmp_path / "videos" / p.id / "0.mp4", c, lossless=True))
             for c, p in zip(clips, prompts)]
    settings = ScoreSettings()
    piped = tester.build()
    reference = None
    if piped.needs_reference:
        piped.set_decode_settings(max_frames=settings.max_frames, max_side=settings.max_side)
        reference = save_reference_stats(tmp_path / "ref.npz", reference_for(piped))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score(items, [piped], tmp_path / "out", suite=None, reference=None if reference is None else str(reference),
              settings=settings, progress=False)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["failures"] == []

    by_hand = tester.build()
    by_hand.set_decode_settings(max_frames=settings.max_frames, max_side=settings.max_side)
    if reference is not None:
        by_hand.set_reference(reference)
    decoded = [read_video(it.path, policy="first", num_frames=settings.max_frames, max_side=settings.max_side)
               for it in items]
    by_hand.update_clips(decoded, prompts)
    values = by_hand.compute()
    written = {k: v["value"] for k, v in results["metrics"].items()}
    assert set(written) == set(by_hand.outputs)
    for output, value in written.items():
        mine = float(values[output])
        assert (value is None and not np.isfinite(mine)) or mine == value, output
