"""object_class (metrics/object_class.py), and the shared contract of the four detection metrics: the MetricTester's
checks on the tiny random OWLv2 (batched == one clip at a time, cache files, shards, cache key, bad clips)."""

from __future__ import annotations

import math

import pytest

from metrics.base import ClipRecord
from metrics.color import Color
from metrics.multiple_objects import MultipleObjects
from metrics.object_class import ObjectClass
from metrics.spatial_relationship import SpatialRelationship
from tests.metrics import tester as tester_module
from tests.metrics.detection_fixtures import (
    DETECTION_NOT_FEATURES,
    DETECTION_PERTURB,
    DETECTION_SKIP_PERTURB,
    StubDetector,
    detection_build_args,
    numbered_clip,
    synthetic_case,
)
from tests.metrics.tester import MetricTester, tiny_clips
from vbench_lite.types import Prompt

CLASSES = (ObjectClass, MultipleObjects, Color, SpatialRelationship)
BOX = (0.0, 0.0, 10.0, 10.0)


def prompts_with_fields(n: int) -> list[Prompt]:
    fields = [{"objects": ["square"], "colors": ["red"]},
              {"objects": ["square", "circle"], "colors": ["blue", None], "relation": "left of"},
              {"objects": ["circle", "square"], "colors": [None, "green"], "relation": "above"}, {}]
    return [Prompt(id=f"p{i}", text=f"prompt {i}", category="synthetic", fields=fields[i % 4]) for i in range(n)]


@pytest.fixture(params=CLASSES, ids=lambda c: c.name)
def checker(request, monkeypatch) -> MetricTester:
    cls = request.param
    args = detection_build_args(cls.name)
    for table, extra in ((tester_module.NOT_FEATURES, DETECTION_NOT_FEATURES),
                         (tester_module.SKIP_PERTURB, DETECTION_SKIP_PERTURB),
                         (tester_module.PERTURB, {**DETECTION_PERTURB, "device": tester_module.SAME_DEVICE_TYPE})):
        monkeypatch.setitem(table, cls.name, dict(extra))
    checker = MetricTester(cls.name, lambda **changes: cls(**{**args, **changes}))
    checker.cls = cls
    return checker


def test_the_metric_tester_contract(checker, tmp_path):
    clips, prompts = tiny_clips(4), prompts_with_fields(4)
    checker.check_batched_equals_single(clips[:3], prompts[:3])
    checker.check_cache_round_trip(clips[:2], prompts[:2], tmp_path)
    checker.check_two_shards_merge(clips, prompts)
    checker.check_cache_key_follows_feature_settings(checker.cls)
    checker.check_bad_clips_are_one_line_errors(prompts[1])


def build(cls=ObjectClass, table=None, **kw):
    metric = cls(**{**detection_build_args(cls.name), **kw})
    metric.detector = StubDetector(table or {})
    return metric


def test_object_class_counts_frames_as_vbench_samples_them():
    """A 10-frame clip: VBench's 16 indices are 0..9 then 9 six more times. The object in frames 0-4 and 9:
    5 + 7 of 16 sampled frames -> 0.75; each distinct frame is detected once."""
    dog = [("dog", BOX, 0.9, "")]
    metric = build(table={**{t: dog for t in range(5)}, 9: [*dog, ("cat", BOX, 0.8, "")]})
    prompt = Prompt(id="a", text="a dog", fields={"objects": ["dog", "cat"]})
    (features,) = metric.extract([numbered_clip(10)], [prompt])
    assert metric.per_video(features) == {"object_class": 12 / 16}  # the first object, the prompt's subject
    assert metric.detector.frames_seen == list(range(10))
    assert features["frame_indices"].tolist() == [*range(10), *[9] * 6]


def test_prompts_without_objects_are_not_applicable_with_one_note():
    metric = build(table={3: [("dog", BOX, 0.9, "")]})  # 4 frames: indices 0 1 2 3 and 3 twelve more times
    prompts = [Prompt(id="a", text="a dog", fields={"objects": ["dog"]}), Prompt(id="b", text="a sunset"),
               Prompt(id="c", text="c", fields={"objects": ["dog"], "no_text": True}),
               Prompt(id="b", text="a sunset")]
    feats = metric.extract([numbered_clip(4)] * 4, prompts)
    values = [metric.per_video(f)["object_class"] for f in feats]
    assert values[0] == 13 / 16 and all(math.isnan(v) for v in values[1:])
    assert metric.detector.frames_seen == [0, 1, 2, 3]  # nothing detected for prompts it does not apply to
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(prompts, feats)])["object_class"]
    assert res.value == 13 / 16 and res.n == 1
    assert res.notes == ["2 of 3 prompts have no fields.objects: not applicable"] and res.toy_model is None


def test_toy_detector_known_answer_missing_object_fails():
    metric = ObjectClass(model="vbench-toy-detector", device="cpu")
    cases = [synthetic_case([("circle", "red")], "right", defect=d, background="gray") for d in ("none",
                                                                                                  "remove_object")]
    feats = metric.extract([c for c, _ in cases], [p for _, p in cases])
    clean, removed = (metric.per_video(f)["object_class"] for f in feats)
    assert clean >= 0.75 and removed <= 0.25, (clean, removed)
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for (_, p), f in zip(cases, feats)])["object_class"]
    assert res.toy_model.startswith("vbench-toy-detector") and any("toy detector" in n for n in res.notes)


@pytest.mark.parametrize("cls", [ObjectClass, MultipleObjects])
def test_standard_suite_scores_each_dimension_on_its_own_subset(cls):
    """The standard suite's color, multiple_objects and spatial prompts name objects too; VBench scores object_class
    on its 40 object_class prompts only (multiple_objects on its 40). A prompt with no semantic tag still counts when
    its fields allow, and the note says why the others are left out."""
    from vbench_lite.prompts import load_suite

    metric = build(cls, table={t: [("dog", BOX, 0.9, "")] for t in range(4)})
    standard = load_suite("standard").prompts
    mine = [Prompt(id="mine", text="a dog and a cat", fields={"objects": ["dog", "cat"]}),
            Prompt(id="tagged-motion", text="a dog and a cat", dimensions=["motion"],
                   fields={"objects": ["dog", "cat"]}),
            Prompt(id="untagged-without-fields", text="a quiet street")]
    prompts = [*standard, *mine]
    feats = metric.extract([numbered_clip(4)] * len(prompts), prompts)
    res = metric.aggregate([ClipRecord(p, 0, f, {}) for p, f in zip(prompts, feats)])[cls.name]
    scored = {p.id for p, f in zip(prompts, feats) if math.isfinite(metric.per_video(f)[cls.name])}
    assert scored == {p.id for p in standard if cls.name in p.dimensions} | {"mine"}  # tagged-motion: not its subset
    assert res.n == 41
    outside = sum(1 for p in prompts if p.dimensions and cls.name not in p.dimensions)
    assert outside == len(standard) - 40 + 1  # every other standard prompt is tagged, and so is tagged-motion
    assert f"{outside} of {len(prompts)} prompts are tagged for other dimensions, not {cls.name}: " \
        "not applicable" in res.notes
    assert any(n.endswith(f"{cls.lacks}: not applicable") for n in res.notes)
