from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FIXTURE_PLUGINS
from vbench_lite.cli import main
from vbench_lite.results import SCHEMA
from vbench_lite.types import Clip
from vbench_lite.video_io import write_video

REPO = Path(__file__).resolve().parents[2]


def _run(out, *extra):
    return main(["run", "--generator", "synthetic", "--suite", "synthetic", "--samples", "2", "--limit", "3",
                 "--metrics", "brightness", "--no-progress", "--no-report", "--out", str(out), *extra])


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_run_writes_clips_results_and_per_video(tmp_path, capsys):
    out = tmp_path / "RUN"
    assert _run(out) == 0
    clips = sorted(out.glob("clips/*/*.mp4"))
    assert len(clips) == 6
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == SCHEMA
    assert results["suite"]["name"] == "synthetic" and len(results["suite"]["sha256"]) == 64
    assert results["generator"]["name"] == "synthetic"
    m = results["metrics"]["brightness"]
    assert m["n"] == 6 and m["higher_is_better"] is True and 0 < m["value"] < 1
    assert m["ci95"][0] <= m["value"] <= m["ci95"][1]
    prov = results["provenance"]
    assert prov["packages"]["torch"] and prov["seed"] == 0 and prov["started"] <= prov["finished"]
    rows = _rows(out / "per_video.csv")
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok"}
    # the summary is the mean of the per-video values
    assert np.mean([float(r["brightness"]) for r in rows]) == pytest.approx(m["value"], rel=1e-12)
    by_dim = m["by_dimension"]
    assert by_dim and all(v["n"] >= 1 for v in by_dim.values())


def test_second_run_generates_and_extracts_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "RUN"
    assert _run(out) == 0
    first = json.loads((out / "results.json").read_text())
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("clips/*/*.mp4")}
    capsys.readouterr()

    from tests.fixtures.brightness import BrightnessMetric

    def boom(self, clips, prompts):
        raise AssertionError("features should come from the cache")

    monkeypatch.setattr(BrightnessMetric, "extract", boom)
    assert _run(out) == 0
    assert "generated 0 clips, 6 already present" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.glob("clips/*/*.mp4")} == mtimes
    second = json.loads((out / "results.json").read_text())
    assert second["metrics"] == first["metrics"]


def test_run_folder_refuses_other_settings(tmp_path, capsys):
    out = tmp_path / "RUN"
    assert _run(out) == 0
    assert _run(out, "--seed", "5") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run.json" in err[0] and "another generation" in err[0]


def _subprocess(args, env_extra, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(FIXTURE_PLUGINS)]), **env_extra)
    return subprocess.run([sys.executable, "-m", "vbench_lite", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("stage", ["generate", "score"])
def test_resume_after_kill(tmp_path, stage):
    args = ["run", "--generator", "python", "--generator-args",
            "callable=tests.vbench_lite.crashy:synthetic_then_die,pass=prompt", "--suite", "synthetic",
            "--limit", "4", "--samples", "2", "--metrics", "tests.vbench_lite.crashy:BrightnessThenDie",
            "--batch-size", "1", "--no-progress", "--no-report"]
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = {"CRASHY_COUNTER": str(tmp_path / "counter"), f"CRASHY_KILL_AT_{stage.upper()}": "5"}
    proc = _subprocess([*args, "--out", str(killed)], env, REPO)
    assert proc.returncode == -9, proc.stderr
    assert not (killed / "results.json").exists()
    assert not list(killed.rglob(".*tmp*")), "a killed run must not leave half-written files behind"
    made_before = {p: p.stat().st_mtime_ns for p in killed.glob("clips/*/*.mp4")}
    assert len(made_before) == (4 if stage == "generate" else 8)

    log = tmp_path / "extract.log"
    proc = _subprocess([*args, "--out", str(killed)], {"CRASHY_EXTRACT_LOG": str(log)}, REPO)
    assert proc.returncode == 0, proc.stderr
    assert {p: p.stat().st_mtime_ns for p in made_before} == made_before  # finished clips were not redone
    extracted_again = sum(int(x) for x in log.read_text().split())
    assert extracted_again == (8 if stage == "generate" else 4)  # features of the first 4 clips were cached

    proc = _subprocess([*args, "--out", str(clean)], {}, REPO)
    assert proc.returncode == 0, proc.stderr
    a = json.loads((killed / "results.json").read_text())["metrics"]
    b = json.loads((clean / "results.json").read_text())["metrics"]
    assert a == b
    assert _rows(killed / "per_video.csv") == [
        {**r, "path": r["path"].replace(str(clean), str(killed))} for r in _rows(clean / "per_video.csv")]


def _bad_inputs_folder(root: Path) -> dict[str, Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    good = Clip(rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8))
    paths = {
        "good": write_video(root / "a red circle moving left on a black background-0.mp4", good),
        "one_frame": write_video(root / "a lone frame-0.mp4", Clip(good.frames[:1])),
        "unicode": write_video(root / "un café à Paris, été ☀-0.mp4", good),
        "uhd": write_video(root / "a huge clip-0.mp4", Clip(np.full((2, 2160, 3840, 3), 77, np.uint8))),
    }
    zero = root / "zero-0.mp4"
    zero.write_bytes(b"")
    text = root / "text-0.mp4"
    text.write_text("hello, I am not a video\n" * 50)
    full = write_video(root / "tmp_full.mp4", Clip(rng.integers(0, 255, (30, 64, 64, 3), dtype=np.uint8)))
    truncated = root / "truncated-0.mp4"
    truncated.write_bytes(full.read_bytes()[:600])
    full.unlink()
    gray = root / "gray gif-0.gif"
    frames = [Image.fromarray(np.full((16, 16), 40 * t, np.uint8), "L") for t in range(3)]
    frames[0].save(gray, save_all=True, append_images=frames[1:], duration=100)
    alpha = root / "alpha gif-0.gif"
    rgba = [Image.fromarray(np.dstack([np.full((16, 16, 3), 200, np.uint8), np.full((16, 16), 128 * (t % 2),
                                                                                     np.uint8)]), "RGBA")
            for t in range(3)]
    rgba[0].save(alpha, save_all=True, append_images=rgba[1:], duration=100)
    slashes = root / "bad..id" / "0.mp4"
    write_video(slashes, good)
    paths.update(zero=zero, text=text, truncated=truncated, gray=gray, alpha=alpha, slashes=slashes)
    return paths


def test_bad_inputs_are_reported_and_the_rest_is_scored(tmp_path, capsys):
    videos = tmp_path / "videos"
    _bad_inputs_folder(videos)
    out = tmp_path / "out"
    rc = main(["score", "--videos", str(videos), "--suite", "synthetic", "--metrics", "brightness",
               "--no-progress", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 1, captured.err
    results = json.loads((out / "results.json").read_text())
    failed = {Path(f["path"]).name: f["error"] for f in results["failures"]}
    for name in ("zero-0.mp4", "text-0.mp4", "0.mp4"):
        assert name in failed, failed
    assert "empty file" in failed["zero-0.mp4"]
    for error in failed.values():
        assert "\n" not in error and "Traceback" not in error
    rows = {r["text"]: r for r in _rows(out / "per_video.csv")}
    for text in ("a red circle moving left on a black background", "a lone frame", "un café à Paris, été ☀",
                 "a huge clip", "gray gif", "alpha gif"):
        assert rows[text]["status"] == "ok" and rows[text]["brightness"] != "", text
    assert float(rows["a huge clip"]["brightness"]) == pytest.approx(77 / 255, abs=0.01)
    # the good video matched the synthetic suite's prompt by its text; the others got ad-hoc prompts
    assert rows["a red circle moving left on a black background"]["category"] == "synthetic"
    assert "truncated-0.mp4" in failed or rows["truncated"]["status"] == "ok"
    assert results["counts"]["videos"] >= 8
    for line in captured.err.strip().splitlines():
        assert line.startswith("vbench-lite: failed: ")


def test_score_all_good_exits_0(tmp_path, capsys):
    out = tmp_path / "RUN"
    assert main(["generate", "--generator", "synthetic", "--suite", "synthetic", "--limit", "2", "--no-progress",
                 "--out", str(out)]) == 0
    assert main(["score", str(out), "--metrics", "brightness", "--no-progress"]) == 0
    assert json.loads((out / "results.json").read_text())["suite"]["name"] == "synthetic"


def test_usage_errors_are_one_line(tmp_path, capsys):
    assert main(["score", str(tmp_path / "missing"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0]
    assert main(["run", "--generator", "nope", "--suite", "synthetic", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown generator 'nope'" in err[0]


def test_unknown_metric_is_a_usage_error_before_any_work(tmp_path, capsys):
    # a typo in --metrics used to surface as a failure after generating and scoring everything else (exit 1)
    out = tmp_path / "RUN"
    assert _run(out, "--metrics", "brightness,nonexistent_metric") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown metric 'nonexistent_metric'" in err[0]
    assert not list(out.glob("clips/*/*.mp4")) and not (out / "results.json").exists()


def test_metric_that_cannot_be_built_is_reported_not_fatal(tmp_path, capsys):
    # a metric whose weights are missing is not a usage error: the other metrics are still scored
    out = tmp_path / "RUN"
    (tmp_path / "refs").mkdir()  # fvd needs a --reference to be asked for at all
    rc = _run(out, "--metrics", "brightness,fvd", "--metric-args", f"fvd.weights={tmp_path / 'no-such-weights.pt'}",
              "--reference", str(tmp_path / "refs"))
    assert rc == 1
    results = json.loads((out / "results.json").read_text())
    assert "brightness" in results["metrics"]
    assert any(f["stage"] == "metric:fvd" and "no-such-weights" in f["error"] for f in results["failures"])
