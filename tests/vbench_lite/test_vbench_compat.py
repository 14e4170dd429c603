"""VBench compatibility (issue 17): VBench's prompt file with its duplicates and case variants, per-dimension
subsets with sample indices 0-4, missing/extra videos, *_eval_results.json, the Total/Quality/Semantic aggregate
against a hand computation of scripts/cal_final_score.py, and a VBench results folder imported as a run."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from vbench_lite.cli import main
from vbench_lite.prompts import load_suite
from vbench_lite.prompts.library import VBENCH_INFO
from vbench_lite.results import load_results
from vbench_lite.types import Clip, VbenchError
from vbench_lite.vbench_compat.aggregate import vbench_aggregate
from vbench_lite.vbench_compat.layout import load_entries, plan_videos
from vbench_lite.vbench_compat.results_io import read_results_folder
from vbench_lite.video_io import write_video

BUND = "The bund Shanghai, oil painting"
ENTRIES = [
    {"prompt_en": "a cat", "dimension": ["temporal_flickering", "motion_smoothness", "dynamic_degree"]},
    {"prompt_en": BUND, "dimension": ["appearance_style"],
     "auxiliary_info": {"appearance_style": {"appearance_style": "oil painting"}}},
    {"prompt_en": BUND, "dimension": ["overall_consistency", "temporal_flickering"]},
    {"prompt_en": "A fantasy landscape", "dimension": ["temporal_flickering"]},
    {"prompt_en": "a fantasy landscape", "dimension": ["temporal_flickering"]},
]
#: decode in process: a few tiny clips, and no worker processes to start per test
WORKERS = ("--workers", "0")
#: The two semantic dimensions of ENTRIES on the offline toy CLIP (the real CLIP and X-CLIP cannot be fetched here).
TOY_SEMANTIC = ("--metric-args", "appearance_style.model=vbench-toy-clip", "--metric-args",
                "overall_consistency.model=vbench-toy-clip")
EXTRA = {"a cat-5": "sample index outside 0-4", "unknown prompt-0": "no entry", "A Cat-4": "case differs"}


def _clip(seed: int) -> Clip:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 200, (1, 32, 32, 3)) + np.arange(8)[:, None, None, None] * int(rng.integers(1, 6))
    return Clip(np.clip(frames + rng.integers(0, 8, (8, 32, 32, 3)), 0, 255).astype(np.uint8), 8.0)


@pytest.fixture(scope="module")
def vbench_folder(tmp_path_factory) -> tuple[Path, Path]:
    """VBench's flat layout: 'a cat-4' missing; an index 5, an unknown prompt and a case-changed name extra."""
    root = tmp_path_factory.mktemp("vbench")
    videos = root / "videos"
    videos.mkdir()
    info = root / "info.json"
    info.write_text(json.dumps(ENTRIES), encoding="utf-8")
    names = [f"{t}-{i}" for t in ("a cat", BUND, "A fantasy landscape", "a fantasy landscape") for i in range(5)]
    names = [n for n in names if n != "a cat-4"] + list(EXTRA)
    for k, name in enumerate(names):
        write_video(videos / f"{name}.mp4", _clip(k))
    return videos, info


def _rows(out: Path) -> list[dict]:
    with open(out / "per_video.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- the prompt file -----------------------------------------------------------------------------------------------
def test_shipped_file_is_vbenchs_and_its_duplicates_and_case_variants_are_kept_as_vbench_does():
    # the bytes of vbench/VBench_full_info.json at VBench commit 45e79ec (Apache-2.0, licence shipped beside it)
    digest = hashlib.sha256(VBENCH_INFO.read_bytes()).hexdigest()
    assert digest == "5dd2de80ee43cda750b2b72ea7023657c0b90d3702041c7e4608c65dbe50dccd"
    assert (VBENCH_INFO.parent / "VBENCH_LICENSE.txt").read_text().lstrip().startswith("Apache License")
    entries = load_entries()
    suite = load_suite("vbench")
    assert len(entries) == 946 and len(suite) == 944  # two prompts are listed twice
    bund = [p for p in suite if p.text == BUND]
    assert len(bund) == 1 and bund[0].fields["vbench_entries"] == 2
    assert set(bund[0].dimensions) == {"appearance_style", "overall_consistency", "aesthetic_quality",
                                       "imaging_quality"}  # appearance_style is no longer lost
    assert bund[0].fields["style"] == "oil painting"
    fantasy = [p for p in suite if p.text.lower() == "a fantasy landscape"]
    assert sorted(p.text for p in fantasy) == ["A fantasy landscape", "a fantasy landscape"]
    assert len({p.id for p in fantasy}) == 2
    # per-dimension subsets are the entries' tags, counted as VBench counts them
    counts = {d: sum(d in e["dimension"] for e in entries) for d in ("human_action", "temporal_flickering",
                                                                     "subject_consistency", "appearance_style")}
    assert counts == {"human_action": 100, "temporal_flickering": 75, "subject_consistency": 72,
                      "appearance_style": 90}


def test_a_prompt_listed_twice_for_one_dimension_counts_twice_as_in_vbench(tmp_path):
    # load_dimension_info concatenates the video lists of every entry with the dimension
    for i in range(5):
        (tmp_path / f"x-{i}.mp4").write_bytes(b"")
    entries = [{"prompt_en": "x", "dimension": ["scene"]}, {"prompt_en": "x", "dimension": ["scene", "color"]}]
    plan = plan_videos(tmp_path, entries, ["scene", "color"], {})
    assert len(plan.dimensions["scene"].videos) == 10 and len(plan.dimensions["color"].videos) == 5
    assert len(plan.used()) == 5 and plan.extra == []


# -- issue items (a) and (b) in the ordinary score path --------------------------------------------------------------
def test_plain_score_keeps_duplicate_tags_and_scores_both_case_variants(vbench_folder, tmp_path):
    videos, info = vbench_folder
    out = tmp_path / "out"
    # exit 1 before: the second case variant's files were "a second video" of the first
    assert main(["score", "--videos", str(videos), "--suite", str(info), "--metrics", "brightness", "--out",
                 str(out), "--no-progress", "--no-report", *WORKERS]) == 0
    rows = _rows(out)
    bund = {r["dimensions"] for r in rows if r["text"] == BUND}
    assert bund == {"appearance_style;overall_consistency;temporal_flicker"}
    fantasy = {(r["text"], r["prompt_id"]) for r in rows if r["text"].lower() == "a fantasy landscape"}
    assert len(fantasy) == 2 and all(r["status"] == "ok" for r in rows)


# -- issue items (c) and (d): --mode vbench ------------------------------------------------------------------------
def test_mode_vbench_subsets_missing_extra_and_eval_results(vbench_folder, tmp_path, capsys):
    videos, info = vbench_folder
    out = tmp_path / "out"
    # Without their weights the semantic dimensions fail loudly (exit 1, how to fetch them), the others are kept.
    assert main(["score", "--videos", str(videos), "--suite", str(info), "--mode", "vbench", "--out",
                 str(tmp_path / "no-weights"), "--no-progress", "--no-report", *WORKERS]) == 1
    err = capsys.readouterr().err
    assert "vbench-lite weights fetch xclip-base-patch32" in err and "appearance_style" in err
    assert (tmp_path / "no-weights" / "vbench" / "temporal_flickering_eval_results.json").is_file()
    code = main(["score", "--videos", str(videos), "--suite", str(info), "--mode", "vbench", "--out", str(out),
                 "--no-progress", "--no-report", *WORKERS, *TOY_SEMANTIC])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    table = printed.out
    assert "temporal_flickering            4       20     19       1  yes" in table
    assert "appearance_style               1        5      5       0  yes" in table
    assert "a cat-4.mp4" in table
    for name, why in EXTRA.items():
        assert any(line.strip().startswith(f"{name}.mp4: {why}") for line in table.splitlines()), (name, table)
    assert "VBench Total not computed" in table and "subject_consistency" in table
    plan = json.loads((out / "vbench" / "videos.json").read_text())
    assert plan["dimensions"]["motion_smoothness"]["missing"] == ["a cat-4.mp4"]
    # each dimension = mean of its per-video values over VBench's list (per_video.csv is the independent source)
    values = {Path(r["path"]).name: r for r in _rows(out)}
    expected_files = {
        "temporal_flickering": [f"{t}-{i}.mp4" for t in (BUND, "A fantasy landscape", "a fantasy landscape")
                                for i in range(5)] + [f"a cat-{i}.mp4" for i in range(4)],
        "motion_smoothness": [f"a cat-{i}.mp4" for i in range(4)],
        "dynamic_degree": [f"a cat-{i}.mp4" for i in range(4)],
    }
    results = load_results(out / "results.json")
    expected_files["appearance_style"] = expected_files["overall_consistency"] = [f"{BUND}-{i}.mp4" for i in range(5)]
    for dim, output in (("temporal_flickering", "temporal_flicker"), ("motion_smoothness", "motion_smoothness"),
                        ("dynamic_degree", "dynamic_degree"), ("appearance_style", "appearance_style"),
                        ("overall_consistency", "overall_consistency")):
        data = json.loads((out / "vbench" / f"{dim}_eval_results.json").read_text())
        score, rows = data[dim]
        assert sorted(Path(r["video_path"]).name for r in rows) == sorted(expected_files[dim])
        hand = np.mean([float(values[f][output]) for f in expected_files[dim]])
        assert score == pytest.approx(hand, rel=1e-12)  # the same float64 values, summed in another order
        assert results["metrics"][output]["value"] == score and results["metrics"][output]["n"] == len(rows)
    assert "vbench_total" not in results["metrics"]
    assert results["vbench"]["aggregate"]["total"] is None


# -- the aggregate ------------------------------------------------------------------------------------------------
#: scripts/constant.py at VBench 45e79ec, typed in again here: (Min, Max, weight, group)
CONSTANTS = {
    "subject_consistency": (0.1462, 1.0, 1, "q"), "background_consistency": (0.2615, 1.0, 1, "q"),
    "temporal_flickering": (0.6293, 1.0, 1, "q"), "motion_smoothness": (0.706, 0.9975, 1, "q"),
    "aesthetic_quality": (0.0, 1.0, 1, "q"), "imaging_quality": (0.0, 1.0, 1, "q"),
    "dynamic_degree": (0.0, 1.0, 0.5, "q"), "object_class": (0.0, 1.0, 1, "s"),
    "multiple_objects": (0.0, 1.0, 1, "s"), "human_action": (0.0, 1.0, 1, "s"), "color": (0.0, 1.0, 1, "s"),
    "spatial_relationship": (0.0, 1.0, 1, "s"), "scene": (0.0, 0.8222, 1, "s"),
    "appearance_style": (0.0009, 0.2855, 1, "s"), "temporal_style": (0.0, 0.364, 1, "s"),
    "overall_consistency": (0.0, 0.364, 1, "s"),
}
SCORES = {"subject_consistency": 0.9622, "background_consistency": 0.9705, "temporal_flickering": 0.9811,
          "motion_smoothness": 0.9812, "aesthetic_quality": 0.6215, "imaging_quality": 0.6734,
          "dynamic_degree": 0.7, "object_class": 0.8617, "multiple_objects": 0.5712, "human_action": 0.95,
          "color": 0.8313, "spatial_relationship": 0.6217, "scene": 0.4712, "appearance_style": 0.2201,
          "temporal_style": 0.2512, "overall_consistency": 0.2717}


def _hand_aggregate(scores):
    norm = {k: (v - CONSTANTS[k][0]) / (CONSTANTS[k][1] - CONSTANTS[k][0]) * CONSTANTS[k][2]
            for k, v in scores.items()}
    quality = sum(norm[k] for k in norm if CONSTANTS[k][3] == "q") / 6.5  # six weights of 1 and one of 0.5
    semantic = sum(norm[k] for k in norm if CONSTANTS[k][3] == "s") / 9
    return quality, semantic, (4 * quality + semantic) / 5


def test_aggregate_equals_a_hand_computation_of_cal_final_score():
    quality, semantic, total = _hand_aggregate(SCORES)
    agg = vbench_aggregate(SCORES)
    # same formula, the sums taken in another order: a few ulps
    assert agg["quality"] == pytest.approx(quality, rel=1e-12)
    assert agg["semantic"] == pytest.approx(semantic, rel=1e-12)
    assert agg["total"] == pytest.approx(total, rel=1e-12)
    assert 0.8 < agg["total"] < 0.85  # the magnitude of VBench leaderboard totals, as a sanity check
    partial = vbench_aggregate({k: v for k, v in SCORES.items() if k != "scene"} | {"color": float("nan")})
    assert partial["total"] is None and partial["semantic"] is None
    assert partial["quality"] == pytest.approx(quality, rel=1e-12)
    assert partial["missing"]["semantic"] == ["color", "scene"]
    assert "2 of 16 dimensions missing (color, scene)" in partial["statement"]


# -- import-vbench --------------------------------------------------------------------------------------------------
def test_results_folder_round_trip_to_a_leaderboard(vbench_folder, tmp_path, capsys):
    videos, info = vbench_folder
    ours = tmp_path / "ours"
    assert main(["score", "--videos", str(videos), "--suite", str(info), "--mode", "vbench", "--out", str(ours),
                 "--no-progress", "--no-report", *WORKERS, *TOY_SEMANTIC]) == 0
    imported = tmp_path / "imported"
    assert main(["import-vbench", str(ours / "vbench"), "--out", str(imported), "--suite", str(info),
                 "--name", "published"]) == 0
    a, b = load_results(ours / "results.json"), load_results(imported / "results.json")
    assert a["suite"] == b["suite"] and b["generator"]["name"] == "published"
    for name in ("temporal_flicker", "motion_smoothness", "dynamic_degree"):
        assert b["metrics"][name]["value"] == a["metrics"][name]["value"]
        assert b["metrics"][name]["n"] == a["metrics"][name]["n"]
    assert set(b["prompt_ids"]) <= set(a["prompt_ids"]) and b["prompt_ids"]
    board = tmp_path / "board.csv"
    capsys.readouterr()
    assert main(["leaderboard", str(ours), str(imported), "--out", str(board)]) == 0
    with open(board, newline="") as fh:
        rows = {r["run"]: r for r in csv.DictReader(fh)}
    assert rows["ours"]["temporal_flicker"] == rows["imported"]["temporal_flicker"]


def test_import_a_complete_vbench_folder_computes_the_aggregate(tmp_path, capsys):
    # cal_final_score.py's layout: json files at the top and in a sub-folder, "_" or " " in names
    folder = tmp_path / "evaluation_results"
    (folder / "sub").mkdir(parents=True)
    names = list(SCORES)
    (folder / "results_2024_eval_results.json").write_text(json.dumps(
        {n: [SCORES[n], [{"video_path": f"a cat-{i}.mp4", "video_results": SCORES[n]} for i in range(2)]]
         for n in names[:8]}))
    (folder / "sub" / "more_eval_results.json").write_text(json.dumps({n: [SCORES[n], []] for n in names[8:]}))
    (folder / "results_2024_full_info.json").write_text(json.dumps(ENTRIES))  # a list: skipped, as VBench does
    out = tmp_path / "run"
    assert main(["import-vbench", str(folder), "--out", str(out)]) == 0
    results = load_results(out / "results.json")
    quality, semantic, total = _hand_aggregate(SCORES)
    assert results["metrics"]["vbench_total"]["value"] == pytest.approx(total, rel=1e-12)
    assert results["metrics"]["vbench_quality"]["value"] == pytest.approx(quality, rel=1e-12)
    assert results["metrics"]["vbench_semantic"]["value"] == pytest.approx(semantic, rel=1e-12)
    assert results["metrics"]["temporal_flicker"]["value"] == SCORES["temporal_flickering"]
    assert results["suite"]["name"] == "vbench"
    assert "computed from all 16 dimensions" in capsys.readouterr().out


def test_unreadable_or_empty_results_folders_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x_eval_results.json").write_text("{not json")
    with pytest.raises(VbenchError, match="x_eval_results.json: not a readable JSON file"):
        read_results_folder(tmp_path / "bad")
    (tmp_path / "none").mkdir()
    assert main(["import-vbench", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no VBench results" in err[0]
    (tmp_path / "shape").mkdir()
    (tmp_path / "shape" / "s_eval_results.json").write_text(json.dumps({"color": "high"}))
    with pytest.raises(VbenchError, match="expected \\[score, \\[per-video results\\]\\]"):
        read_results_folder(tmp_path / "shape")
