"""``vbench-lite score``: feature cache keys, prompts without text, early usage errors, ad-hoc ids, notes, toy models,
progress and reports. Tiny lossless clips (folders of PNG frames) and cheap plug-ins defined here keep it fast."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metrics.base import MetricResult, VideoMetric
from tests.fixtures.brightness import BrightnessMetric
from vbench_lite.cli import main
from vbench_lite.types import Clip, VbenchError
from vbench_lite.video_io import parse_video_name, write_video

HERE = "tests.vbench_lite.test_score_cli"


# -- cheap plug-ins with known answers ---------------------------------------------------------------------------
def text_value(text: str) -> float:
    """A number that only the exact text gives: the first 32 bits of its sha256, in [0, 1)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


class TextHash(VideoMetric):
    """Reads the prompt text, like CLIP; counts its extractions."""

    name = "text_hash"
    outputs = {"text_value": True}
    uses_text = True
    calls = 0

    def extract(self, clips, prompts):
        TextHash.calls += len(clips)
        return [{"text_value": np.float64(text_value(p.text))} for p in prompts]


class FrameShape(VideoMetric):
    """The decoded clip's frame count and height: what --max-frames / --max-side change."""

    name = "frame_shape"
    outputs = {"frames_seen": True, "height_seen": True}
    calls = 0

    def extract(self, clips, prompts):
        FrameShape.calls += len(clips)
        return [{"frames_seen": np.float64(c.num_frames), "height_seen": np.float64(c.size[0])} for c in clips]


class AggregateBug(BrightnessMetric):
    name = "aggregate_bug"
    outputs = {"bug_value": True}

    def aggregate(self, records, *, reference=None, seed=0):
        raise ZeroDivisionError("division by zero\nsecond line")


class NoteBug(BrightnessMetric):
    name = "note_bug"
    outputs = {"note_bug_value": True}

    def per_video_note(self, features):
        raise KeyError("a bug in a plug-in's per-clip note")


class ToyBrightness(BrightnessMetric):
    name = "toy_brightness"
    outputs = {"toy_brightness_value": True}

    def extract(self, clips, prompts):
        return [{"toy_brightness_value": np.float64(0.25)} for _ in clips]

    def aggregate(self, records, *, reference=None, seed=0):
        return {"toy_brightness_value": MetricResult(0.25, None, len(records), True, toy_model="toy-b: a toy")}


class ToyTwin(ToyBrightness):
    """A second plug-in with the same toy and another one: each description is listed once."""

    name = "toy_twin"
    outputs = {"twin_a": True, "twin_b": True}

    def aggregate(self, records, *, reference=None, seed=0):
        return {"twin_a": MetricResult(0.5, None, len(records), True, toy_model="toy-b: a toy"),
                "twin_b": MetricResult(0.5, None, len(records), True, toy_model="a-toy: another toy")}


# -- inputs ------------------------------------------------------------------------------------------------------
def frame_folder(path: Path, values=(0, 20, 40, 60, 80, 100, 120, 140), size: int = 32) -> Path:
    """A lossless clip: a folder of PNG frames, frame t a flat gray of ``values[t]``."""
    path.mkdir(parents=True)
    for t, v in enumerate(values):
        Image.fromarray(np.full((size, size, 3), v, np.uint8)).save(path / f"{t:03d}.png")
    return path


def suite_file(path: Path, texts: dict[str, str]) -> Path:
    path.write_text(json.dumps({"name": path.stem, "version": "1", "prompts": [
        {"id": pid, "text": text} for pid, text in texts.items()]}), encoding="utf-8")
    return path


def p_suite(tmp_path: Path) -> str:
    """A suite with the ids p0..p3 the frame-folder tests use."""
    return str(suite_file(tmp_path / "p.json", {f"p{i}": f"prompt number {i}" for i in range(4)}))


def score(*args) -> int:
    return main(["score", "--no-progress", "--no-report", *args])


def results_of(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def rows_of(out: Path) -> list[dict]:
    with open(out / "per_video.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# -- items 1 and 2: the feature cache key ------------------------------------------------------------------------
def test_new_prompt_text_for_the_same_id_gives_fresh_text_features(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0")
    suite_a = suite_file(tmp_path / "A.json", {"p1": "a red circle"})
    suite_b = suite_file(tmp_path / "B.json", {"p1": "a blue square"})
    metric = f"{HERE}:TextHash"
    TextHash.calls = 0
    assert score("--videos", str(videos), "--suite", str(suite_a), "--metrics", metric, "--out", str(out)) == 0
    assert results_of(out)["metrics"]["text_value"]["value"] == text_value("a red circle")  # exact: one clip
    assert score("--videos", str(videos), "--suite", str(suite_b), "--metrics", metric, "--out", str(out)) == 0
    assert results_of(out)["metrics"]["text_value"]["value"] == text_value("a blue square")
    assert TextHash.calls == 2
    # unchanged suite and settings: the cached features are used
    assert score("--videos", str(videos), "--suite", str(suite_b), "--metrics", metric, "--out", str(out)) == 0
    assert TextHash.calls == 2 and results_of(out)["metrics"]["text_value"]["value"] == text_value("a blue square")


def test_clip_similarity_follows_the_suite_text_not_the_cache(tmp_path, capsys):
    # the case with the real plug-in (the offline toy CLIP): suite A then suite B, same id, new text
    videos = tmp_path / "videos"
    rng = np.random.default_rng(0)
    write_video(videos / "p1" / "0.mp4", Clip(rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)))
    suite_a = suite_file(tmp_path / "A.json", {"p1": "a red circle moving left on a black background"})
    suite_b = suite_file(tmp_path / "B.json", {"p1": "a blue square moving right on a white background"})

    def clip_value(suite, out):
        assert score("--videos", str(videos), "--suite", str(suite), "--metrics", "clip", "--out", str(out)) == 0
        return results_of(out)["metrics"]["clip_similarity"]["value"]

    a = clip_value(suite_a, tmp_path / "run")
    b = clip_value(suite_b, tmp_path / "run")
    fresh_b = clip_value(suite_b, tmp_path / "fresh")
    # same model, same frames, same text in one process: equal up to float32 rounding of the embeddings
    assert b == pytest.approx(fresh_b, abs=1e-6)
    assert abs(a - b) > 1e-3  # the texts really score differently, so reusing A's features would show


def test_semantic_features_follow_the_suite_fields_not_the_cache(tmp_path, capsys):
    # same id, same text, other structured fields: object_class must detect the new object, not reuse the old one
    from reference_models.synthetic_world import Scene as WorldScene
    from reference_models.synthetic_world import SceneObject, render_clip

    videos = tmp_path / "videos"
    circle = WorldScene((SceneObject("circle", "red", "left"),), "black")
    write_video(videos / "p1" / "0.mp4", Clip(render_clip(circle, key="p1", seed=0, num_frames=16, size=(64, 64))),
                lossless=True)

    def object_class(obj: str, out: Path) -> float:
        suite = tmp_path / f"{obj}.json"
        suite.write_text(json.dumps({"name": "s", "version": "1", "prompts": [
            {"id": "p1", "text": "a red shape moving left", "fields": {"objects": [obj]}}]}), encoding="utf-8")
        assert score("--videos", str(videos), "--suite", str(suite), "--metrics", "object_class", "--metric-args",
                     "object_class.model=vbench-toy-detector", "--out", str(out)) == 0
        return results_of(out)["metrics"]["object_class"]["value"]

    assert object_class("circle", tmp_path / "run") == 1.0  # the toy detector sees the circle in every frame
    assert object_class("square", tmp_path / "run") == 0.0  # not the cached circle detections again
    assert object_class("square", tmp_path / "fresh") == 0.0


def test_per_video_csv_says_why_a_clip_is_not_applicable(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    for pid in ("tagged-color", "no-fields", "scored"):
        frame_folder(videos / pid / "0", values=(40, 80))
    suite = tmp_path / "s.json"
    suite.write_text(json.dumps({"name": "s", "version": "1", "prompts": [
        {"id": "tagged-color", "text": "a red circle", "dimensions": ["color"], "fields": {"objects": ["circle"]}},
        {"id": "no-fields", "text": "a quiet street"},
        {"id": "scored", "text": "a circle", "fields": {"objects": ["circle"]}}]}), encoding="utf-8")
    assert score("--videos", str(videos), "--suite", str(suite), "--metrics", "object_class", "--metric-args",
                 "object_class.model=vbench-toy-detector", "--out", str(out)) == 0
    with open(out / "per_video.csv", newline="") as fh:
        notes = {r["prompt_id"]: r["notes"] for r in csv.DictReader(fh)}
    assert notes == {"tagged-color": "object_class: not applicable: the prompt is tagged for other dimensions, not "
                                     "object_class",
                     "no-fields": "object_class: not applicable: the prompt has no fields.objects", "scored": ""}


def test_decode_settings_are_part_of_the_cache_key(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", size=32)
    metric = f"{HERE}:FrameShape"
    FrameShape.calls = 0

    def shape(*extra):
        assert score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", metric, "--out", str(out),
                     *extra) == 0
        m = results_of(out)["metrics"]
        return m["frames_seen"]["value"], m["height_seen"]["value"]

    assert shape("--max-frames", "4") == (4, 32)
    assert shape("--max-frames", "8") == (8, 32)  # not the 4-frame features again
    assert shape("--max-frames", "8", "--max-side", "16") == (8, 16)
    assert FrameShape.calls == 3
    assert shape("--max-frames", "4") == (4, 32)  # each setting keeps its own cache
    assert shape("--max-frames", "8", "--max-side", "16") == (8, 16)
    assert FrameShape.calls == 3


def test_brightness_over_the_frames_asked_for(tmp_path, capsys):
    # values 0, 20, ... 140: the first k frames have mean 10 (k - 1), exactly (PNG is lossless)
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0")
    for k in (2, 8, 4):
        assert score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", "brightness",
                     "--max-frames", str(k), "--out", str(out)) == 0
        assert results_of(out)["metrics"]["brightness"]["value"] == pytest.approx(10 * (k - 1) / 255, abs=1e-12)


# -- item 9: prompt ids that are not in the suite ----------------------------------------------------------------
@pytest.fixture(scope="module")
def noise_clips(tmp_path_factory) -> dict[str, bytes]:
    """Two small noisy mp4 clips, encoded once (copied byte for byte into each layout)."""
    root = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    return {pid: write_video(root / f"{pid}.mp4", Clip(rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)))
            .read_bytes() for pid in ("g0", "g1")}


def _two_clips(root: Path, clips: dict[str, bytes], flat: bool) -> None:
    """``g0/0.mp4``, ``g1/0.mp4`` (folder layout) or ``g0-0.mp4``, ``g1-0.mp4`` (flat), the same bytes either way."""
    for pid, data in clips.items():
        target = root / (f"{pid}-0.mp4" if flat else f"{pid}/0.mp4")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def test_folder_ids_not_in_the_suite_are_scored_by_metrics_without_text(tmp_path, capsys, noise_clips):
    values = {}
    for layout in ("folder", "flat"):
        videos, out = tmp_path / layout, tmp_path / f"out-{layout}"
        _two_clips(videos, noise_clips, flat=layout == "flat")
        assert score("--videos", str(videos), "--suite", "standard", "--metrics", "temporal,brightness",
                     "--out", str(out)) == 0, capsys.readouterr().err
        res = results_of(out)
        assert res["counts"] == {"videos": 2, "failed_videos": 0, "scored_videos": 2} and not res["failures"]
        rows = rows_of(out)
        assert [r["prompt_id"] for r in rows] == ["g0", "g1"]
        values[layout] = {r["prompt_id"]: (r["temporal_flicker"], r["brightness"]) for r in rows}
    assert values["folder"] == values["flat"]  # same clips, same numbers, whichever the layout
    assert results_of(tmp_path / "out-flat")["prompt_ids"] == ["g0", "g1"]


def test_text_metrics_fail_folder_ids_without_text_one_line_each(tmp_path, capsys, noise_clips):
    videos, out = tmp_path / "videos", tmp_path / "out"
    _two_clips(videos, noise_clips, flat=False)
    write_video(videos / "a lone circle-0.mp4", Clip(np.full((3, 16, 16, 3), 90, np.uint8)))
    TextHash.calls = 0
    rc = score("--videos", str(videos), "--suite", "standard", "--metrics", f"brightness,{HERE}:TextHash",
               "--out", str(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    res = results_of(out)
    failed = sorted((f["prompt_id"], f["stage"]) for f in res["failures"])
    assert failed == [("g0", "metric:text_hash"), ("g1", "metric:text_hash")]
    for f in res["failures"]:
        assert "\n" not in f["error"] and "needs the prompt text" in f["error"] and f["path"] in f["error"]
    assert len(err) == 2 and all(line.startswith("vbench-lite: failed: ") for line in err)
    assert res["prompt_ids"] == ["a-lone-circle", "g0", "g1"]  # g0 and g1 were still scored by brightness
    rows = {r["prompt_id"]: r for r in rows_of(out)}
    assert rows["g0"]["brightness"] != "" and rows["g0"]["text"] == ""  # brightness kept; no made-up text
    # the flat file has its text in its name: the text metric scores it with that text
    assert float(rows["a-lone-circle"]["text_value"]) == text_value("a lone circle")
    assert TextHash.calls == 1


# -- item 14: ids of ad-hoc prompts ------------------------------------------------------------------------------
def test_file_name_prompts_get_distinct_ids(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    texts = ["猫が走る", "犬が走る", "a cat, running", "a cat running!", "a cat running", "two\nlines"]
    for i, text in enumerate(texts):
        write_video(videos / f"{text}-0.mp4", Clip(np.full((2, 16, 16, 3), 10 * i, np.uint8)))
    assert score("--videos", str(videos), "--suite", "synthetic", "--metrics", "brightness", "--out", str(out)) == 0
    rows = {r["text"]: r for r in rows_of(out)}
    assert sorted(rows) == sorted(texts) and all(r["sample"] == "0" for r in rows.values())
    assert len({r["prompt_id"] for r in rows.values()}) == len(texts)
    assert rows["a cat running"]["prompt_id"] == "a-cat-running"
    assert rows["猫が走る"]["prompt_id"] == "prompt_" + hashlib.sha256("猫が走る".encode()).hexdigest()[:8]


@pytest.mark.parametrize(("name", "expected"), [
    ("two\nlines-3.mp4", ("two\nlines", 3, "text")),
    ("ends in a newline\n-0.mp4", ("ends in a newline\n", 0, "text")),
    ("a cat-12.mp4", ("a cat", 12, "text")),
    ("no index.mp4", ("no index", 0, "text")),
    ("p1/\u00b2.mp4", ("\u00b2", 0, "text")),  # "²" is a digit to str.isdigit, not to int()
    ("p1/7.mp4", ("p1", 7, "id")),
])
def test_parse_video_name_reads_newlines_and_ascii_indices(tmp_path, name, expected):
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"")
    assert parse_video_name(path, tmp_path) == expected


# -- item 10: usage errors before any decoding --------------------------------------------------------------------
@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a usage error must be found before any video is decoded")

    monkeypatch.setattr("vbench_lite.scoring.read_video", refuse)
    monkeypatch.setattr("vbench_lite.video_io.read_video", refuse)


@pytest.mark.parametrize(("extra", "expected"), [
    (["--metrics", "brightness,temporl"], "--metrics: unknown metric 'temporl' (did you mean 'temporal'?"),
    (["--metrics", "brightness,brightness"], "'brightness' is named twice"),
    (["--metrics", "tests.vbench_lite.test_score_cli:NoSuchThing"], "has no attribute"),
    (["--metrics", "tests.vbench_lite.test_score_cli:text_value"], "is not a metric plug-in"),
    (["--metrics", "temporal", "--metric-args", "temporal.flow_methd=dis"], "'flow_methd'"),
    (["--metrics", "temporal", "--metric-args", "temporal.flow_max_side=big"], "flow_max_side must be an integer"),
    (["--metrics", "clip", "--metric-args", "clip.modle=ViT-B-32"], "did you mean 'model'?"),
    (["--metrics", "brightness", "--metric-args", "clip.frames=4"], "not in --metrics (brightness)"),
    (["--metrics", "brightness", "--metric-args", "clip"], "expected metric.key=value"),
    (["--metrics", "brightness", "--max-frames", "0"], "--max-frames must be at least 1"),
    (["--metrics", "brightness", "--max-side", "-1"], "--max-side must be a number of pixels, or 0"),
    (["--metrics", "brightness", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["--metrics", "temporal,fvd"], "--metrics fvd: needs --reference"),
    (["--metrics", "brightness", "--reference", "{tmp}/missing.npz"], "missing.npz: no such file or folder"),
    (["--metrics", "brightness", "--reference", "{tmp}/ref.txt"], "ref.txt: not an .npz archive"),
    (["--metrics", "brightness", "--reference", "{tmp}/fake.npz"], "fake.npz: not an .npz archive"),
])
def test_usage_errors_exit_2_before_decoding(tmp_path, capsys, no_decoding, extra, expected):
    videos = tmp_path / "videos"
    frame_folder(videos / "p1" / "0", values=(1, 2))
    (tmp_path / "ref.txt").write_text("mu = 1, 2, 3\n")
    (tmp_path / "fake.npz").write_bytes(b"PK\x03\x04 not really a zip")
    extra = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    rc = main(["score", "--videos", str(videos), "--no-progress", "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("vbench-lite: error: ") and expected in err[0], err
    assert "allow_pickle" not in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()


def test_missing_weights_of_every_metric_exit_2_before_decoding_or_generating(tmp_path, capsys, no_decoding,
                                                                                 monkeypatch):
    # subject_consistency's DINO and object_class's OWLv2 are on no machine of ours: no metric can be built
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))  # an empty zoo cache
    videos = tmp_path / "videos"
    frame_folder(videos / "p1" / "0", values=(1, 2))
    rc = main(["score", "--videos", str(videos), "--no-progress", "--out", str(tmp_path / "out"), "--metrics",
               "subject_consistency"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "weights fetch dino-vitb16" in err[0], err
    assert not (tmp_path / "out").exists()
    rc = main(["run", "--generator", "synthetic", "--suite", "synthetic", "--limit", "1", "--out",
               str(tmp_path / "run"), "--no-progress", "--metrics", "object_class"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "weights fetch owlv2-base-ensemble" in err[0], err
    assert not list((tmp_path / "run").rglob("*.mp4"))  # said before generating anything


def test_a_metric_without_weights_is_said_once_and_the_others_are_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))  # an empty zoo cache
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", values=(51, 51))
    rc = score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", "brightness,subject_consistency",
               "--out", str(out))
    err = capsys.readouterr().err
    assert rc == 1 and err.count("weights fetch dino-vitb16") == 1, err  # once, when it is found out
    assert results_of(out)["metrics"]["brightness"]["value"] == pytest.approx(0.2)


def test_good_arguments_pass_validation(tmp_path):
    import argparse

    from vbench_lite.commands._common import validate_score_args

    np.savez(tmp_path / "stats.npz", mu=np.zeros(3))
    (tmp_path / "refs").mkdir()
    for reference in (None, str(tmp_path / "stats.npz"), str(tmp_path / "refs")):
        validate_score_args(argparse.Namespace(metrics="brightness,temporal,clip", reference=reference,
                                               metric_args=["temporal.flow_method=farneback,clip.frames=4"],
                                               max_frames=16, batch_size=2))


# -- also: aggregate failures, notes, toy models, progress, reports ------------------------------------------------
def test_a_metric_whose_aggregate_raises_fails_alone(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", values=(51, 51))
    rc = score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", f"brightness,{HERE}:AggregateBug",
               "--out", str(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    res = results_of(out)
    assert res["metrics"]["brightness"]["value"] == pytest.approx(51 / 255, abs=1e-12)
    assert res["failures"] == [{"path": "aggregate_bug", "stage": "metric:aggregate_bug",
                                "error": "aggregate_bug: aggregate failed: ZeroDivisionError: division by zero "
                                         "second line"}]
    assert err == ["vbench-lite: failed: aggregate_bug: aggregate failed: ZeroDivisionError: division by zero "
                   "second line"]


def test_a_metric_whose_per_video_note_raises_fails_alone(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", values=(51, 51))
    rc = score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", f"brightness,{HERE}:NoteBug",
               "--out", str(out))
    capsys.readouterr()
    res = results_of(out)
    assert rc == 1 and res["metrics"]["brightness"]["value"] == pytest.approx(51 / 255, abs=1e-12)
    assert [f["stage"] for f in res["failures"]] == ["metric:note_bug"] and "note_bug_value" not in res["metrics"]
    with open(out / "per_video.csv", newline="") as fh:
        assert "note_bug_value" not in next(csv.DictReader(fh))  # no half-written values of the failed metric


def test_decode_notes_reach_results_and_per_video_even_from_the_cache(tmp_path, capsys, monkeypatch):
    import vbench_lite.scoring as scoring

    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", values=(5, 5))
    frame_folder(videos / "p2" / "0", values=(7, 7))
    real = scoring.read_video

    def noted(path, **kwargs):
        clip = real(path, **kwargs)
        if Path(path).parent.name == "p1":
            clip.notes = ["decoded 2 of 9 frames: the file ends early"]
        return clip

    monkeypatch.setattr(scoring, "read_video", noted)
    expected = [{"path": str(videos / "p1" / "0"), "prompt_id": "p1", "sample": 0,
                 "note": "decoded 2 of 9 frames: the file ends early"}]
    for _ in range(2):  # the second run decodes nothing: the notes come back from the feature files
        assert score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", "brightness", "--out",
                     str(out)) == 0
        assert results_of(out)["notes"] == expected
        assert [r["notes"] for r in rows_of(out)] == ["decoded 2 of 9 frames: the file ends early", ""]
        monkeypatch.setattr(scoring, "read_video", None)  # would fail if called


def test_toy_models_are_listed_once_sorted(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", values=(5, 5))
    frame_folder(videos / "p2" / "0", values=(7, 7))
    assert score("--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics",
                 f"{HERE}:ToyBrightness,{HERE}:ToyTwin,brightness", "--out", str(out)) == 0
    res = results_of(out)
    assert res["toy_models"] == ["a-toy: another toy", "toy-b: a toy"]
    assert "toy_model" not in res["metrics"]["brightness"]
    assert "toy model" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_one_bar_on_stderr_with_rate_and_eta(tmp_path, capsys, monkeypatch):
    videos = tmp_path / "videos"
    for i in range(3):
        frame_folder(videos / f"p{i}" / "0", values=(i, i))
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["score", "--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", "brightness",
                 "--no-report", "--batch-size", "2"]) == 0
    text = terminal.getvalue()
    assert "3/3" in text and re.search(r"\d(clip/s|s/clip)", text) and re.search(r"\d\d:\d\d<\d\d:\d\d", text)
    assert {m for m in re.findall(r"(\w+):\s+\d+%", text)} == {"score"}  # one bar, named score
    assert not re.search(r"clip/s|s/clip", capsys.readouterr().out)  # the bar is on stderr only


def test_score_ends_with_a_stage_breakdown_on_stderr(tmp_path, capsys, monkeypatch):
    videos = tmp_path / "videos"
    for i in range(3):
        frame_folder(videos / f"p{i}" / "0", values=(i, i))
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["score", "--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", "brightness",
                 "--no-report", "--batch-size", "2", "--workers", "0", "--device", "cpu"]) == 0
    text = terminal.getvalue()
    assert re.search(r"stage times \([\d.]+ s wall, [\d.]+ clips/s\)", text), text
    for stage in ("cache", "decode", "model:brightness", "aggregate:brightness"):
        assert re.search(rf"^  {re.escape(stage)} +[\d.]+ s +[\d.]+%$", text, re.M), stage
    assert "stage times" not in capsys.readouterr().out


def test_score_videos_writes_the_reports_run_writes(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    frame_folder(videos / "p1" / "0", values=(5, 5))
    assert main(["score", "--videos", str(videos), "--suite", p_suite(tmp_path), "--metrics", "brightness",
                 "--no-progress", "--out", str(out)]) == 0
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    report = (out / "report.md").read_text()
    assert "| brightness |" in report and "| notes" not in report  # per_video.csv's notes column is no metric


def test_default_metrics_without_reference_leave_fvd_out_and_say_so(tmp_path, capsys, monkeypatch):
    # Issue 12 item 5: FVD used to be computed and then silently dropped. Asked for by name without --reference it
    # is a usage error (test above); in the default list it is left out, on the console and in results.json.
    from vbench_lite.commands import _common

    monkeypatch.setattr(_common, "DEFAULT_METRICS", "temporal,fvd")
    videos = tmp_path / "videos"
    frame_folder(videos / "p1" / "0", values=(1, 2, 3))
    out = tmp_path / "out"
    assert main(["score", "--videos", str(videos), "--no-progress", "--no-report", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["skipped_metrics"] == {"fvd": "not computed: no --reference given (a folder of reference videos "
                                                 "or a STATS.npz)"}
    assert "fvd" not in results["metrics"] and "temporal_flicker" in results["metrics"] and not results["failures"]
    captured = capsys.readouterr()
    assert "vbench-lite: fvd: not computed: no --reference given" in captured.err
    assert "fvd" in captured.out and "not computed" in captured.out


def test_a_file_prompt_mapping_scores_a_flat_folder_of_any_names(tmp_path):
    # Issue 12 (newcomer): files named anything, mapped to prompts by a `file,prompt` CSV; rows of one text are
    # that prompt's samples in row order.
    videos = tmp_path / "videos"
    frame_folder(videos / "take_07", values=(10, 10))
    frame_folder(videos / "take_08", values=(20, 20))
    frame_folder(videos / "clip.final", values=(30, 30))
    frame_folder(videos / "unmapped", values=(40, 40))
    mapping = tmp_path / "map.csv"
    mapping.write_text("file,prompt\ntake_07,a red circle\ntake_08,a red circle\nclip.final,a blue square\n")
    out = tmp_path / "out"
    assert score("--videos", str(videos), "--suite", str(mapping), "--metrics", "brightness", "--out", str(out)) == 0
    rows = {(r["text"], r["sample"]): float(r["brightness"])
            for r in csv.DictReader(io.StringIO((out / "per_video.csv").read_text()))}
    # brightness of a constant frame folder is its value / 255 (exact in float64)
    assert rows[("a red circle", "0")] == 10 / 255 and rows[("a red circle", "1")] == 20 / 255
    assert rows[("a blue square", "0")] == 30 / 255
    assert rows[("unmapped", "0")] == 40 / 255  # a file the mapping does not name is matched by its name as before


def test_a_file_mapping_refuses_a_file_named_twice(tmp_path):
    from vbench_lite.prompts import load_suite

    mapping = tmp_path / "map.csv"
    mapping.write_text("file,prompt\na.mp4,one\na.mp4,two\n")
    with pytest.raises(VbenchError, match="file 'a.mp4' is mapped twice"):
        load_suite(str(mapping))
