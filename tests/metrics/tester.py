"""A shared metric tester (in the spirit of torchmetrics' ``MetricTester``): the contract every registered metric keeps.

:class:`MetricTester` checks one metric class against the API of :class:`metrics.base.VideoMetric`:

- batched ``extract`` equals one clip at a time (exactly, or within the metric's stated tolerance);
- features survive the pipeline's cache files (``save_features`` -> ``load_features``) unchanged;
- two instances updated with half the clips each, states merged (``merge_state``, what torchrun's sync does),
  compute what one instance updated with every clip computes;
- the cache key changes when any setting that changes features changes (each field of ``Settings`` perturbed);
- a bad clip (float frames, no frames) is one :class:`VbenchError` line;
- the library number equals ``vbench-lite score``'s (see ``test_every_metric.py``).

Metrics come from the registry, so a new metric (built in or from an entry point) is tested with no new test code;
what a metric needs to be built here (FVD's weights file, a reference) is in :data:`BUILD` and :func:`prepare`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from metrics.base import VideoMetric
from metrics.hardware import default_device
from tests.metrics import detection_fixtures, video_text_fixtures
from vbench_lite.types import Clip, Prompt, VbenchError

#: Per metric: the largest difference allowed between batched and one-at-a-time features, as (rtol, atol scale):
#: batched convolutions and matrix products may sum in another order (CLIP: fp32 embeddings; FVD: the I3D).
#: Anything not listed must be exact.
BATCH_TOLERANCE: dict[str, float] = {"clip": 1e-5, "fvd": 1e-5, "fvd_inf": 1e-5, "cd_fvd": 1e-5, "jedi": 1e-5}
#: Per metric: relative tolerance of the merged-shard compute vs the one-shot compute. Per-video metrics merge by
#: concatenation (exact); FVD's float64 sums are added in another order.
MERGE_TOLERANCE: dict[str, float] = {"fvd": 1e-9, "fvd_inf": 1e-9, "cd_fvd": 1e-9, "jedi": 1e-9}
#: Per metric: settings that do not change features (so they must NOT change the cache key), with why.
NOT_FEATURES: dict[str, dict[str, str]] = {
    "fvd": {"batch_size": "clips per I3D batch", "device": "where the I3D runs", "n_boot": "intervals only",
            "kvd_subsets": "KVD only", "kvd_subset_size": "KVD only",
            "loop_short": "decides only whether short clips are refused (looped clips are noted)"},
    "fvd_inf": {"batch_size": "clips per I3D batch", "device": "where the I3D runs", "n_boot": "unused",
                "kvd_subsets": "unused", "kvd_subset_size": "unused", "points": "the fit only",
                "min_fraction": "the fit only", "repeats": "the fit only",
                "loop_short": "decides only whether short clips are refused (looped clips are noted)"},
    **{name: {"batch_size": "clips per encoder batch", "device": "where the encoder runs", "n_boot": "interval only",
              "estimator": "the distance only"}
       for name in ("cd_fvd", "jedi")},
    "temporal": {f"farneback_{k}": "unused by the default flow_method=dis (test_optical_flow.py covers Farneback)"
                 for k in ("pyr_scale", "levels", "winsize", "iterations", "poly_n", "poly_sigma")},
}
#: Another spelling of the default device (same type, explicit index): must never change a cache key, on a CPU runner
#: or on a GPU machine (the device TYPE may, e.g. FVD keys it with TF32; tests/vbench_lite/test_scoring.py).
SAME_DEVICE_TYPE = f"{default_device()}:0"
#: Per metric and setting: a value other than the default that can be built here (None: cannot be built on this
#: machine, with the reason as the dict's value in SKIP_PERTURB).
PERTURB: dict[str, dict[str, Any]] = {
    "clip": {"policy": "middle", "fps": 4.0, "dtype": "bfloat16"},
    "temporal": {"flow_method": "farneback", "dis_preset": "fast"},
    "fvd": {"resize": "short_side_crop", "device": SAME_DEVICE_TYPE},
    "fvd_inf": {"resize": "short_side_crop", "device": SAME_DEVICE_TYPE},
    "cd_fvd": {"device": SAME_DEVICE_TYPE},
    "jedi": {"device": SAME_DEVICE_TYPE},
}
SKIP_PERTURB: dict[str, dict[str, str]] = {
    "clip": {"model": "another CLIP needs other weights (their sha256 is in the key through provenance)",
             "pretrained": "as model", "device": "no second device on a CPU runner",
             "cache_dir": "where open_clip looks for tags; the weights' sha256 is in the key",
             "allow_download": "whether open_clip may download; the weights' sha256 is in the key"},
    "fvd": {"weights": "another file's sha256 is in the key; one random-weights file here",
            "dtype": "bfloat16 is tested in test_fvd.py; perturbed here it only warns on CPUs"},
    "fvd_inf": {"weights": "as fvd", "dtype": "as fvd"},
    **{name: {"weights": "another folder's sha256 is in the key; one random-weights folder here"}
       for name in ("cd_fvd", "jedi")},
}

# The VBench quality metrics (issue 15) and the temporal metric's RAFT / VBench-rule settings.
_VBENCH_NOT_FEATURES = {"batch_size": "frames per forward pass", "device": "where the network runs",
                        "allow_download": "whether a missing file may be fetched; the weights' sha256 is in the key"}
_VBENCH_SKIP = {"weights": "another file's sha256 is in the key; one random-weights file here",
                "model": "another CLIP needs other weights (their sha256 is in the key)", "pretrained": "as model",
                "arch": "another architecture needs other weights", "head": "the mlp head needs an mlp file "
                "(test_aesthetic_quality.py)", "head_weights": "as weights"}
for _name in ("subject_consistency", "background_consistency", "aesthetic_quality", "imaging_quality"):
    NOT_FEATURES[_name] = dict(_VBENCH_NOT_FEATURES)
    SKIP_PERTURB[_name] = dict(_VBENCH_SKIP)
    PERTURB[_name] = {"device": SAME_DEVICE_TYPE}
PERTURB["imaging_quality"].update(preprocess="shorter", scales="48")
PERTURB["temporal"].update(dynamic_rule="vbench", device=SAME_DEVICE_TYPE)
NOT_FEATURES["temporal"].update(raft_iterations="unused by the default flow_method=dis (test_raft_flow.py)",
                                device="where RAFT runs (unused by DIS)", allow_download=_VBENCH_NOT_FEATURES[
                                    "allow_download"])
SKIP_PERTURB.setdefault("temporal", {}).update(weights="RAFT weights: only read with flow_method=raft_*")
# The semantic dimensions' tables live beside their fixtures (tests/metrics/*_fixtures.py: TESTER_TABLES).
for _name, _table in video_text_fixtures.TESTER_TABLES.items():
    NOT_FEATURES[_name] = dict(_table["NOT_FEATURES"])
    SKIP_PERTURB[_name] = dict(_table["SKIP_PERTURB"])
    PERTURB[_name] = dict(_table["PERTURB"])
for _name in ("object_class", "multiple_objects", "color", "spatial_relationship"):
    NOT_FEATURES[_name] = dict(detection_fixtures.DETECTION_NOT_FEATURES)
    SKIP_PERTURB[_name] = dict(detection_fixtures.DETECTION_SKIP_PERTURB)
    PERTURB[_name] = {**detection_fixtures.DETECTION_PERTURB, "device": SAME_DEVICE_TYPE}


def tiny_clips(n: int = 4, frames: int = 10, size: int = 32, seed: int = 0) -> list[Clip]:
    """Moving squares on noise: distinct, deterministic, long enough for every metric's small settings."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        video = rng.integers(0, 60, size=(frames, size, size, 3), dtype=np.uint8)
        color = rng.integers(120, 256, size=3)
        y, x0 = rng.integers(0, size - 10, size=2)
        for t in range(frames):
            x = int(x0 + 2 * t) % (size - 10)
            video[t, y:y + 10, x:x + 10] = color
        clips.append(Clip(video, fps=8.0, source=f"tiny-{i}"))
    return clips


#: Semantic fields of the tiny prompts (vbench_lite.prompt_fields): every semantic metric applies to some, the last
#: prompt has none (its "not applicable" path runs too). Actions are the toy action classifier's labels.
TINY_FIELDS = [
    {"objects": ["square"], "colors": ["red"], "action": "moving right", "scene": "black background",
     "style": "watercolor painting", "temporal_style": "in slow motion"},
    {"objects": ["square", "circle"], "colors": ["blue", None], "relation": "left of", "action": "staying still",
     "scene": "black background", "style": "pixel art"},
    {"objects": ["circle"], "colors": ["green"], "action": "moving left", "scene": "gray background"},
    {},
]


def tiny_prompts(n: int = 4) -> list[Prompt]:
    """Tagged with every semantic dimension (a tagged prompt belongs only to the semantic subsets it names)."""
    from vbench_lite.prompt_fields import SEMANTIC_DIMENSIONS

    texts = ["a red square moving right", "a blue square on a black background", "a green circle", "a white box"]
    return [Prompt(id=f"p{i}", text=texts[i % len(texts)], category="synthetic",
                   dimensions=["motion", *SEMANTIC_DIMENSIONS], fields=dict(TINY_FIELDS[i % len(TINY_FIELDS)]))
            for i in range(n)]


class MetricTester:
    """The shared checks, for one metric ``name`` built by ``build(**overrides)`` and made ready by ``prepare``."""

    def __init__(self, name: str, build: Callable[..., VideoMetric],
                 prepare: Callable[[VideoMetric], None] = lambda metric: None) -> None:
        self.name, self.build, self.prepare = name, build, prepare

    # -- batched == one at a time ---------------------------------------------------------------------------
    def check_batched_equals_single(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> None:
        metric = self.build()
        batched = metric.extract(list(clips), list(prompts))
        assert len(batched) == len(clips)
        tol = BATCH_TOLERANCE.get(self.name, 0.0)
        for clip, prompt, feats in zip(clips, prompts, batched):
            single = metric.extract([clip], [prompt])[0]
            assert set(single) == set(feats)
            for key, value in feats.items():
                a, b = np.asarray(value), np.asarray(single[key])
                assert a.dtype == b.dtype and a.shape == b.shape, key
                if tol == 0.0 or a.dtype.kind not in "fc":
                    assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), key
                else:
                    scale = float(np.nanmax(np.abs(a))) if a.size else 0.0
                    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=tol,
                                               atol=tol * max(scale, 1e-12), err_msg=key)

    # -- cache round trip -----------------------------------------------------------------------------------
    def check_cache_round_trip(self, clips: Sequence[Clip], prompts: Sequence[Prompt], folder: Path) -> None:
        from vbench_lite.scoring import load_features, save_features

        metric = self.build()
        for i, feats in enumerate(metric.extract(list(clips), list(prompts))):
            path = folder / metric.cache_key() / f"{i}.npz"
            text_sha = "t" * 64 if metric.uses_text else None
            save_features(path, feats, "s" * 64, text_sha, ["a note"])
            cached = load_features(path, "s" * 64, text_sha)
            assert cached is not None and cached.notes == ["a note"]
            assert set(cached.features) == set(feats)
            for key, value in feats.items():
                a, b = np.asarray(value), cached.features[key]
                assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True), key
            assert _same(metric.per_video(cached.features), metric.per_video(feats))
            assert load_features(path, "x" * 64, text_sha) is None  # another video: never reused

    # -- two shards == one shot -----------------------------------------------------------------------------
    def check_two_shards_merge(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> None:
        features = self.build().extract(list(clips), list(prompts))
        half = len(features) // 2
        whole, first, second = self.build(), self.build(), self.build()
        for metric in (whole, first, second):
            self.prepare(metric)
        whole.update(features)
        first.update(features[:half])
        second.update(features[half:])
        # What torchmetrics' sync does with every rank's states. merge_state puts the incoming state first, so
        # merging the first shard into the second gives rank order, as a sync does: per-video values then sum in
        # the one-shot order and agree exactly.
        second.merge_state(first)
        expected, merged = whole.compute(), second.compute()
        assert set(expected) == set(merged) >= set(whole.outputs)
        rtol = MERGE_TOLERANCE.get(self.name, 0.0)
        for key in expected:
            a, b = float(expected[key]), float(merged[key])
            assert expected[key].dtype == torch.float64, key
            if rtol == 0.0 or not np.isfinite(a):
                assert a == b or (np.isnan(a) and np.isnan(b)), key
            else:
                assert b == pytest.approx(a, rel=rtol), key
        for fx in whole._reductions.values():  # every state says how torchrun merges it
            assert fx is not None and fx.__name__ in ("dim_zero_cat", "dim_zero_sum"), fx

    # -- cache key ------------------------------------------------------------------------------------------
    def check_cache_key_follows_feature_settings(self, metric_cls: type[VideoMetric]) -> None:
        base = self.build()
        key = base.cache_key()
        assert self.build().cache_key() == key  # stable
        skip = SKIP_PERTURB.get(self.name, {})
        ignored = NOT_FEATURES.get(self.name, {})
        for field, value in setting_values(metric_cls, base.config).items():
            if field in skip:
                continue
            given = PERTURB.get(self.name, {})
            changed = given[field] if field in given else perturbed(value, field, metric_cls)
            other = self.build(**{field: changed})
            if field in ignored:
                assert other.cache_key() == key, f"{self.name}.{field} ({ignored[field]}) changed the cache key"
            else:
                assert other.cache_key() != key, f"{self.name}.{field}={changed!r} left the cache key unchanged"

    # -- bad clips ------------------------------------------------------------------------------------------
    def check_bad_clips_are_one_line_errors(self, prompt: Prompt) -> None:
        metric = self.build()
        for bad in (np.zeros((4, 16, 16, 3), np.float32), np.zeros((0, 16, 16, 3), np.uint8),
                    np.zeros((4, 16, 16), np.uint8)):
            with pytest.raises(VbenchError) as info:
                metric.update_clips([bad], [prompt])
            assert "\n" not in str(info.value) and str(info.value).strip(), str(info.value)
        clip = tiny_clips(1)[0]
        clip.frames = clip.frames.astype(np.float64)  # replaced after the Clip was checked
        with pytest.raises(VbenchError, match="uint8"):
            metric.update_clips([clip], [prompt])


def setting_values(metric_cls: type[VideoMetric], config: Any) -> dict[str, Any]:
    """Every CLI-settable name of a metric and its value in ``config`` (flat aliases into nested settings too)."""
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        if not dataclasses.is_dataclass(hints[f.name]):
            values[f.name] = getattr(config, f.name)
    for alias, path in metric_cls.setting_aliases.items():
        head, _, leaf = path.partition(".")
        values[alias] = getattr(getattr(config, head), leaf)
    return values


def perturbed(value: Any, field: str, metric_cls: type[VideoMetric]) -> Any:
    """Another valid-looking value of the same type: flipped, one more, 10% more, or another Literal choice."""
    kind = _setting_type(metric_cls, field)
    if typing.get_origin(kind) is typing.Literal:
        return next(choice for choice in typing.get_args(kind) if choice != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.1 if value else 0.1
    raise AssertionError(f"{metric_cls.name}.{field}={value!r}: add a perturbed value to tests/metrics/tester.py "
                         "PERTURB (or a reason to SKIP_PERTURB)")


def _setting_type(metric_cls: type[VideoMetric], field: str) -> Any:
    path = metric_cls.setting_aliases.get(field, field)
    owner: Any = metric_cls.Settings
    for part in path.split("."):
        kind = typing.get_type_hints(owner)[part]
        owner = kind
    return kind


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(x == b[k] or (np.isnan(x) and np.isnan(b[k])) for k, x in a.items())
