"""The regression gate: fails on a worse run, passes on an identical one, direction-aware, tolerances (absolute,
relative, --relative, default), the CI-aware rule, missing metrics, summaries, and bad input -> exit 2."""

from __future__ import annotations

import copy
import json

import pytest

from reports.check import Tolerance, check_metric, compare_results, parse_tolerances
from tests.reports.conftest import SUITE, metric_entry, results_dict, write_results
from vbench_lite.cli import main
from vbench_lite.results import read_results
from vbench_lite.types import VbenchError

BASE = {"clip_similarity": metric_entry(0.300, [0.290, 0.310]), "fvd": metric_entry(200.0, [190.0, 210.0],
                                                                                     higher=False)}


def _files(tmp_path, new_metrics, base_metrics=None, **new_kw):
    base = write_results(tmp_path / "base", results_dict(base_metrics or BASE)) / "results.json"
    new = write_results(tmp_path / "new", results_dict(new_metrics, **new_kw)) / "results.json"
    return str(new), str(base)


def _with(metric, **changes):
    out = copy.deepcopy(BASE)
    out[metric].update(changes)
    return out


def test_identical_run_passes_and_prints_a_table(tmp_path, capsys):
    new, base = _files(tmp_path, BASE)
    assert main(["check", new, "--baseline", base]) == 0
    out = capsys.readouterr().out
    assert "**PASS**" in out and "| metric | better | baseline |" in out and "| clip_similarity | higher |" in out


def test_worse_run_fails(tmp_path, capsys):
    new, base = _files(tmp_path, _with("clip_similarity", value=0.25, ci95=[0.24, 0.26]))
    assert main(["check", new, "--baseline", base]) == 1
    out = capsys.readouterr().out
    assert "**FAIL**" in out and "regressed" in out and "clip_similarity" in out.split("**FAIL**")[1].splitlines()[0]


@pytest.mark.parametrize("fvd, expected", [(150.0, 0), (250.0, 1)])
def test_direction_aware_lower_fvd_passes_higher_fails(tmp_path, fvd, expected):
    new, base = _files(tmp_path, _with("fvd", value=fvd, ci95=[fvd - 5, fvd + 5]))
    assert main(["check", new, "--baseline", base]) == expected


def test_higher_clip_similarity_is_an_improvement():
    row = check_metric("clip", metric_entry(0.4, [0.39, 0.41]), metric_entry(0.3), Tolerance(0.0))
    assert row.status == "improved" and not row.failed and row.worsening == pytest.approx(-0.1)


@pytest.mark.parametrize("tolerance, expected", [
    ("clip_similarity=0.03", 1),   # worse by 0.04 > 0.03
    ("clip_similarity=0.05", 0),   # 0.04 <= 0.05
    ("clip_similarity=10%", 1),    # 10% of 0.3 = 0.03 < 0.04
    ("clip_similarity=15%", 0),    # 0.045 >= 0.04
    ("default=0.05", 0),
    ("default=0.05,clip_similarity=0.01", 1),  # a metric's own tolerance beats the default
])
def test_tolerance_absolute_and_relative(tmp_path, tolerance, expected):
    new, base = _files(tmp_path, _with("clip_similarity", value=0.26, ci95=[0.25, 0.27]))
    assert main(["check", new, "--baseline", base, "--tolerance", tolerance]) == expected


def test_relative_flag_reads_bare_numbers_as_percent(tmp_path):
    new, base = _files(tmp_path, _with("fvd", value=215.0, ci95=[211.0, 219.0]))  # worse by 15 = 7.5%
    assert main(["check", new, "--baseline", base, "--tolerance", "fvd=10"]) == 1  # absolute 10 < 15
    assert main(["check", new, "--baseline", base, "--tolerance", "fvd=10", "--relative"]) == 0  # 20 >= 15
    assert parse_tolerances(["fvd=10"], relative=True)["fvd"] == Tolerance(0.10, True)


def test_ci_aware_rule(tmp_path):
    # worse by 0.02 > tolerance 0.01, but the new CI [0.26, 0.30] still holds the baseline 0.30
    new, base = _files(tmp_path, _with("clip_similarity", value=0.28, ci95=[0.26, 0.30]))
    assert main(["check", new, "--baseline", base, "--tolerance", "clip_similarity=0.01"]) == 0
    assert main(["check", new, "--baseline", base, "--tolerance", "clip_similarity=0.01", "--no-ci-aware"]) == 1
    # the same drop with a CI that excludes the baseline fails either way
    new2, _ = _files(tmp_path / "b", _with("clip_similarity", value=0.28, ci95=[0.27, 0.299]))
    base2 = str(tmp_path / "b" / "base" / "results.json")
    assert main(["check", new2, "--baseline", base2, "--tolerance", "clip_similarity=0.01"]) == 1
    # lower is better: the CI must lie entirely above the baseline
    row = check_metric("fvd", metric_entry(230.0, [199.0, 260.0], higher=False), BASE["fvd"], Tolerance(0.0))
    assert row.status == "within CI" and not row.failed
    row = check_metric("fvd", metric_entry(230.0, [201.0, 260.0], higher=False), BASE["fvd"], Tolerance(0.0))
    assert row.status == "regressed"
    # no interval (set-level metric): judged on the value alone
    row = check_metric("kvd", metric_entry(2.0, None, higher=False), metric_entry(1.0, None, higher=False),
                       Tolerance(0.5))
    assert row.status == "regressed"


def test_missing_and_new_metrics(tmp_path, capsys):
    only_clip = {"clip_similarity": BASE["clip_similarity"], "kvd": metric_entry(0.1, higher=False)}
    new, base = _files(tmp_path, only_clip)
    assert main(["check", new, "--baseline", base]) == 1
    out = capsys.readouterr().out
    assert "missing" in out and "| fvd |" in out and "| kvd |" in out and "new" in out
    assert main(["check", new, "--baseline", base, "--allow-missing"]) == 0
    # a metric present but without a value (it failed) is missing too
    new2, base2 = _files(tmp_path / "v", _with("fvd", value=None, ci95=None))
    assert main(["check", new2, "--baseline", base2]) == 1
    assert main(["check", new2, "--baseline", base2, "--allow-missing"]) == 0


def test_summary_file_and_github_step_summary(tmp_path, monkeypatch, capsys):
    new, base = _files(tmp_path, _with("fvd", value=260.0, ci95=[250.0, 270.0]))
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    summary = tmp_path / "summary.md"
    assert main(["check", new, "--baseline", base, "--summary-md", str(summary)]) == 1
    printed = capsys.readouterr().out
    assert summary.read_text() == printed
    assert step.read_text().startswith("earlier step\n") and printed in step.read_text()


def test_metrics_option_limits_the_gate(tmp_path):
    new, base = _files(tmp_path, _with("fvd", value=260.0, ci95=[250.0, 270.0]))
    assert main(["check", new, "--baseline", base, "--metrics", "clip_similarity"]) == 0


@pytest.mark.parametrize("content, needle", [("{oops", "invalid JSON"), ('{"schema": "other"}', "not a vbench-lite"),
                                             (None, "no such")])
def test_bad_files_exit_2_with_one_line(tmp_path, capsys, content, needle):
    _, base = _files(tmp_path, BASE)
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["check", str(bad), "--baseline", base]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.json" in err and needle in err
    assert main(["check", base, "--baseline", str(bad)]) == 2


@pytest.mark.parametrize("tol, needle", [("fvd", "expected metric=value"), ("fvd=abc", "not a number"),
                                         ("fvd=-1", ">= 0"), ("nope=1", "no metric 'nope'")])
def test_bad_tolerances_exit_2(tmp_path, capsys, tol, needle):
    new, base = _files(tmp_path, BASE)
    assert main(["check", new, "--baseline", base, "--tolerance", tol]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_mixed_suite_is_refused_unless_allowed(tmp_path, capsys):
    new, base = _files(tmp_path, BASE, suite={**SUITE, "sha256": "c" * 64})
    assert main(["check", new, "--baseline", base]) == 2
    err = capsys.readouterr().err
    assert "suite sha256" in err and "--allow-mixed" in err
    assert main(["check", new, "--baseline", base, "--allow-mixed"]) == 0


def test_real_run_against_itself_and_a_worsened_copy(real_runs, tmp_path):
    path = real_runs["clean"] / "results.json"
    assert main(["check", str(path), "--baseline", str(path)]) == 0
    worse = read_results(path)
    entry = worse["metrics"]["warping_error"]  # lower is better: push it and its interval up
    v = entry["value"] * 10
    entry["value"], entry["ci95"] = v + 0.01, [v + 0.005, v + 0.02]
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    assert main(["check", str(tmp_path / "worse.json"), "--baseline", str(path)]) == 1
    assert main(["check", str(tmp_path / "worse.json"), "--baseline", str(path), "--tolerance", "warping_error=1"]) == 0


def test_compare_results_unknown_metric_filter():
    with pytest.raises(VbenchError, match="no metric 'x'"):
        compare_results(results_dict(BASE), results_dict(BASE), metrics=["x"])


@pytest.mark.parametrize("command", ["check", "leaderboard"])
def test_help_renders(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "%%" not in out and "95% CI" in out


def _with_prompts(folder, prompt_ids):
    res = results_dict(BASE)
    res["prompt_ids"] = prompt_ids
    return write_results(folder, res) / "results.json"


def test_runs_that_share_no_prompts_are_refused_unless_allowed(tmp_path, capsys):
    """Before: a baseline and a new run on disjoint prompts passed the gate as if they measured the same thing."""
    base = _with_prompts(tmp_path / "base", ["p1", "p2"])
    new = _with_prompts(tmp_path / "new", ["p3", "p4"])
    assert main(["check", str(new), "--baseline", str(base)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'baseline'" in err and "'new'" in err
    assert "share no prompts (2 and 2 prompts)" in err and "--allow-mixed" in err
    assert main(["check", str(new), "--baseline", str(base), "--allow-mixed"]) == 0
    assert "share no prompts" in capsys.readouterr().out


def test_partly_shared_prompts_are_reported(tmp_path, capsys):
    base = _with_prompts(tmp_path / "base", ["p1", "p2", "p3"])
    new = _with_prompts(tmp_path / "new", ["p2", "p3"])
    assert main(["check", str(new), "--baseline", str(base)]) == 0
    captured = capsys.readouterr()
    note = "the runs share 2 of 3 prompts ('baseline' 3, 'new' 2)"
    assert note in captured.out and note in captured.err


def test_unreadable_per_video_csv_is_one_line_naming_it(tmp_path, capsys):
    """per_video.csv says which prompts a run scored (when results.json does not): a broken one is named, not
    skipped, and pandas' own multi-line message is folded into the line."""
    new, base = _files(tmp_path, BASE)
    (tmp_path / "new" / "per_video.csv").write_text("prompt_id,sample\np1,0\np2,0,5,6\n")
    assert main(["check", new, "--baseline", base]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "per_video.csv: cannot read as CSV" in err and "Expected 2 fields" in err
