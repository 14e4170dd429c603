"""Leaderboard: competition ranks against a hand-written loop, direction, ties, missing values, mean rank,
per-dimension columns, comparability refusals, and the `leaderboard` command on real runs."""

from __future__ import annotations

import itertools
import math
import random

import pandas as pd
import pytest

from reports.leaderboard import build_leaderboard, check_comparable, dimension_column, rank_values
from reports.tables import load_run, load_runs
from tests.reports.conftest import SUITE, metric_entry, results_dict, write_results
from vbench_lite.cli import main
from vbench_lite.types import VbenchError


def loop_ranks(values, higher_is_better):
    """Reference: rank = 1 + number of runs strictly better; runs without a value share the place after all
    runs that have one."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    out = []
    for v in values:
        if v is None or math.isnan(v):
            out.append(len(present) + 1)
        else:
            out.append(1 + sum(1 for w in present if (w > v if higher_is_better else w < v)))
    return out


@pytest.mark.parametrize("higher", [True, False])
def test_rank_values_matches_loop_on_random_values_with_ties_and_nans(higher):
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(1, 9)
        values = [rng.choice([float("nan"), *[float(rng.randint(0, 4)) for _ in range(4)]]) for _ in range(n)]
        got = rank_values(pd.Series(values), higher).tolist()
        assert got == loop_ranks(values, higher), values


def test_rank_values_closed_forms():
    assert rank_values(pd.Series([3.0, 1.0, 2.0]), True).tolist() == [1, 3, 2]
    assert rank_values(pd.Series([3.0, 1.0, 2.0]), False).tolist() == [3, 1, 2]
    assert rank_values(pd.Series([1.0, 1.0, 0.5]), True).tolist() == [1, 1, 3]  # "1224" ties
    assert rank_values(pd.Series([float("nan"), 1.0, float("nan")]), True).tolist() == [2, 1, 2]


def _three_runs(tmp_path):
    dims = {"color": {"value": 0.5, "ci95": [0.4, 0.6], "n": 4}, "motion": {"value": 0.25, "ci95": None, "n": 1}}
    runs = {
        "alpha": {"clip": metric_entry(0.30, [0.28, 0.32], by_dimension=dims), "fvd": metric_entry(120.0, None,
                                                                                                   higher=False)},
        "beta": {"clip": metric_entry(0.32, [0.30, 0.34]), "fvd": metric_entry(80.0, None, higher=False)},
        "gamma": {"clip": metric_entry(0.30, [0.29, 0.31])},  # ties alpha on clip, has no FVD
    }
    return [write_results(tmp_path / name, results_dict(m)) for name, m in runs.items()]


def test_leaderboard_ranks_intervals_and_mean_rank(tmp_path):
    board = build_leaderboard(load_runs(_three_runs(tmp_path)))
    by_run = board.set_index("run")
    # clip (higher better): beta 1, alpha and gamma tie at 2; fvd (lower better): beta 1, alpha 2, gamma missing 3
    assert by_run["clip_rank"].to_dict() == {"beta": 1, "alpha": 2, "gamma": 2}
    assert by_run["fvd_rank"].to_dict() == {"beta": 1, "alpha": 2, "gamma": 3}
    assert by_run["mean_rank"].to_dict() == {"beta": 1.0, "alpha": 2.0, "gamma": 2.5}
    assert board["run"].tolist() == ["beta", "alpha", "gamma"]
    assert board["rank"].tolist() == [1, 2, 3]
    assert by_run.loc["alpha", "clip_ci95_low"] == 0.28 and by_run.loc["alpha", "clip_ci95_high"] == 0.32
    assert by_run.loc["alpha", "clip_n"] == 8
    assert math.isnan(by_run.loc["beta", "fvd_ci95_low"])
    assert math.isnan(by_run.loc["gamma", "fvd"])
    # per-dimension columns carry by_dimension values; runs without them are NaN
    assert by_run.loc["alpha", dimension_column("clip", "color")] == 0.5
    assert by_run.loc["alpha", "clip[motion]"] == 0.25
    assert math.isnan(by_run.loc["beta", "clip[color]"])
    assert board.attrs["higher_is_better"] == {"clip": True, "fvd": False}
    assert list(board.columns[:9]) == ["run", "rank", "score", "mean_rank", "generator", "suite", "suite_sha256",
                                       "videos", "failed_videos"]
    # score, no anchor (the best run stands in): clip differences are inside the intervals (g = 0); fvd has no
    # interval: s = 1% of the range 40 = 0.4, alpha d = 40 / 0.4 = 100, g = 100/101; gamma has no fvd: g = 1
    assert by_run["score"].to_dict() == pytest.approx({"beta": 100.0, "alpha": 100 * (1 - 100 / 101 / 2),
                                                       "gamma": 50.0})


def test_leaderboard_metrics_subset_and_unknown(tmp_path):
    runs = load_runs(_three_runs(tmp_path))
    board = build_leaderboard(runs, metrics=["fvd"])
    assert board["run"].tolist() == ["beta", "alpha", "gamma"] and "clip" not in board.columns
    with pytest.raises(VbenchError, match="no run has metric.*nope"):
        build_leaderboard(runs, metrics=["nope"])


def test_families_are_averaged_before_metrics(tmp_path):
    """A run that wins four correlated metrics of one family and loses the only metric of two other families
    must not top the board: ranks are averaged within a family first (hand-computed below)."""
    temporal = ("temporal_flicker", "motion_smoothness", "warping_error", "clip_consistency")

    def entries(t_values, dyn, fvd):
        out = {m: {**metric_entry(v, higher=m != "warping_error"), "family": "temporal_consistency"}
               for m, v in zip(temporal, t_values)}
        out["dynamic_degree"] = metric_entry(dyn)  # no family recorded: KNOWN_FAMILIES says "dynamics"
        out["fvd"] = {**metric_entry(fvd, higher=False), "family": "distribution"}
        return out

    frozen = write_results(tmp_path / "frozen", results_dict(entries((1.0, 1.0, 0.0, 1.0), 0.0, 90.0)))
    exact = write_results(tmp_path / "exact", results_dict(entries((0.99, 0.99, 0.1, 0.95), 1.0, 10.0)))
    board = build_leaderboard(load_runs([frozen, exact])).set_index("run")
    # per-metric mean would be frozen (1+1+1+1+2+2)/6 = 1.33 vs exact 1.67; by family:
    # frozen: temporal 1, dynamics 2, distribution 2 -> 5/3; exact: temporal 2, dynamics 1, distribution 1 -> 4/3
    assert board.loc["frozen", "family_rank[temporal_consistency]"] == 1.0
    assert board.loc["exact", "family_rank[dynamics]"] == 1.0
    assert board["mean_rank"].to_dict() == pytest.approx({"exact": 4 / 3, "frozen": 5 / 3})
    assert board["rank"].to_dict() == {"exact": 1, "frozen": 2}
    assert board.attrs["families"]["dynamic_degree"] == "dynamics"


def test_all_missing_metric_does_not_count_in_mean_rank(tmp_path):
    a = write_results(tmp_path / "a", results_dict({"clip": metric_entry(0.3), "fvd": metric_entry(None)}))
    b = write_results(tmp_path / "b", results_dict({"clip": metric_entry(0.2), "fvd": metric_entry(None)}))
    board = build_leaderboard(load_runs([a, b])).set_index("run")
    assert board["mean_rank"].to_dict() == {"a": 1.0, "b": 2.0}


@pytest.mark.parametrize("change, field", [
    ({"suite": {**SUITE, "sha256": "b" * 64}}, "suite sha256"),
    ({"suite": {**SUITE, "name": "standard"}}, "suite name"),
    ({"protocols": {"fvd_protocol_hash": "p2"}}, "provenance.protocols.fvd_protocol_hash"),
    ({"weights": {"i3d_weights_sha256": "w2"}}, "provenance.weights.i3d_weights_sha256"),
])
def test_mixed_runs_refused_with_one_line_naming_runs_and_field(tmp_path, change, field):
    base = {"protocols": {"fvd_protocol_hash": "p1"}, "weights": {"i3d_weights_sha256": "w1"}}
    a = write_results(tmp_path / "run_a", results_dict({"fvd": metric_entry(1.0, higher=False)}, **base))
    b = write_results(tmp_path / "run_b", results_dict({"fvd": metric_entry(2.0, higher=False)}, **{**base, **change}))
    runs = load_runs([a, b])
    with pytest.raises(VbenchError) as err:
        build_leaderboard(runs)
    msg = str(err.value)
    assert "\n" not in msg and "'run_a'" in msg and "'run_b'" in msg and field in msg and "--allow-mixed" in msg
    board = build_leaderboard(runs, allow_mixed=True)
    assert len(board) == 2 and any(field in note for note in board.attrs["notes"])


def test_weights_of_different_metrics_do_not_conflict(tmp_path):
    a = write_results(tmp_path / "a", results_dict({"x": metric_entry(1.0)}, weights={"i3d_weights_sha256": "w"}))
    b = write_results(tmp_path / "b", results_dict({"x": metric_entry(2.0)}, weights={"clip:sha256": "c"}))
    assert check_comparable(load_runs([a, b])) == []


def test_conflicting_directions_are_refused(tmp_path):
    a = write_results(tmp_path / "a", results_dict({"x": metric_entry(1.0, higher=True)}))
    b = write_results(tmp_path / "b", results_dict({"x": metric_entry(2.0, higher=False)}))
    with pytest.raises(VbenchError, match="direction of x"):
        build_leaderboard(load_runs([a, b]))


def test_same_folder_names_fall_back_to_generator_labels(tmp_path):
    blur = {"name": "synthetic", "args": {"defect": "blur"}}
    a = write_results(tmp_path / "one" / "RUN", results_dict({"x": metric_entry(1.0)}, generator=blur))
    b = write_results(tmp_path / "two" / "RUN", results_dict({"x": metric_entry(2.0)}))
    c = write_results(tmp_path / "three" / "RUN", results_dict({"x": metric_entry(3.0)}))
    names = [r.name for r in load_runs([a, b, c])]
    assert names == ["synthetic(defect=blur)", "synthetic #1", "synthetic #2"]
    assert load_run(a / "results.json").name == "RUN"


# -- the command, on real runs ----------------------------------------------------------------------------------------
def test_leaderboard_command_on_real_runs(real_runs, tmp_path, capsys):
    out = tmp_path / "lb.csv"
    html, md = tmp_path / "lb.html", tmp_path / "lb.md"
    code = main(["leaderboard", str(real_runs["clean"]), str(real_runs["noisy"]), "--out", str(out),
                 "--html", str(html), "--md", str(md)])
    assert code == 0
    board = pd.read_csv(out)
    assert sorted(board["run"]) == ["clean", "noisy"]
    clean = load_run(real_runs["clean"]).results["metrics"]
    row = board.set_index("run").loc["clean"]
    for metric, entry in clean.items():
        assert row[metric] == pytest.approx(entry["value"], rel=1e-12, abs=1e-15)
        assert row[f"{metric}_ci95_low"] == pytest.approx(entry["ci95"][0], rel=1e-12, abs=1e-15)
        assert row[f"{metric}_n"] == entry["n"]
        for dim, sub in entry.get("by_dimension", {}).items():
            assert row[f"{metric}[{dim}]"] == pytest.approx(sub["value"], rel=1e-12, abs=1e-15)
    # the exact renderer warps better (lower warping error) than its noisy variant
    assert row["warping_error_rank"] == 1
    assert "| rank | run " in capsys.readouterr().out
    assert html.read_text().startswith("<!DOCTYPE html>") and md.read_text().startswith("# vbench-lite leaderboard")


def test_leaderboard_command_refuses_mixed_suites(real_runs, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    res = load_run(real_runs["noisy"]).results
    res["suite"]["sha256"] = "0" * 64
    write_results(other, res)
    code = main(["leaderboard", str(real_runs["clean"]), str(other), "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "'clean'" in err and "'other'" in err and "suite sha256" in err
    assert not (tmp_path / "x.csv").exists()
    assert main(["leaderboard", str(real_runs["clean"]), str(other), "--out", str(tmp_path / "x.csv"),
                 "--allow-mixed"]) == 0


def test_leaderboard_command_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text("{not json")
    assert main(["leaderboard", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "results.json" in err and "invalid JSON" in err
    assert main(["leaderboard", str(tmp_path / "missing"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "no such run folder" in capsys.readouterr().err


# -- which prompts the runs scored ------------------------------------------------------------------------------------
def _scored(folder, value, prompt_ids, *, recorded_in="results"):
    """A run that scored ``prompt_ids``, said by results.json ``prompt_ids`` or only by its per_video.csv."""
    res = results_dict({"x": metric_entry(value)})
    if recorded_in == "results":
        res["prompt_ids"] = list(prompt_ids)
    write_results(folder, res)
    if recorded_in == "per_video":
        rows = [{"prompt_id": p, "sample": 0, "text": f"prompt {p}", "status": "ok", "error": "", "x": value}
                for p in prompt_ids]
        pd.DataFrame(rows).to_csv(folder / "per_video.csv", index=False)
    return folder


@pytest.mark.parametrize("recorded_in", ["results", "per_video"])
def test_runs_that_share_no_prompts_are_refused_unless_allowed(tmp_path, capsys, recorded_in):
    """Before: two runs of the same suite on disjoint prompts were ranked as if comparable, without a word."""
    a = _scored(tmp_path / "run_a", 0.5, ["p1", "p2"], recorded_in=recorded_in)
    b = _scored(tmp_path / "run_b", 0.6, ["p3", "p4", "p5"], recorded_in=recorded_in)
    out = tmp_path / "lb.csv"
    assert main(["leaderboard", str(a), str(b), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'run_a'" in err and "'run_b'" in err
    assert "share no prompts (2 and 3 prompts)" in err and "--allow-mixed" in err and not out.exists()
    md = tmp_path / "lb.md"
    assert main(["leaderboard", str(a), str(b), "--out", str(out), "--md", str(md), "--allow-mixed"]) == 0
    assert "share no prompts" in capsys.readouterr().err and "share no prompts" in md.read_text()


def test_runs_that_share_some_prompts_are_ranked_with_the_overlap(tmp_path, capsys):
    a = _scored(tmp_path / "a", 0.5, ["p1", "p2", "p3", "p4"])
    b = _scored(tmp_path / "b", 0.6, ["p3", "p4", "p5"], recorded_in="per_video")  # one of each source
    md = tmp_path / "lb.md"
    assert main(["leaderboard", str(a), str(b), "--out", str(tmp_path / "lb.csv"), "--md", str(md)]) == 0
    note = "the runs share 2 of 5 prompts ('a' 4, 'b' 3)"
    assert note in capsys.readouterr().err and note in md.read_text()


def test_overlap_is_checked_between_every_pair_of_runs(tmp_path):
    a = _scored(tmp_path / "a", 0.5, ["p1", "p2", "p3"])
    b = _scored(tmp_path / "b", 0.6, ["p1"])
    c = _scored(tmp_path / "c", 0.7, ["p3"])
    with pytest.raises(VbenchError, match=r"runs 'b' \(.*\) and 'c' \(.*\) share no prompts"):
        build_leaderboard(load_runs([a, b, c]))


def test_same_prompts_or_unknown_prompts_add_no_note(tmp_path):
    a = _scored(tmp_path / "a", 0.5, ["p2", "p1"])
    b = _scored(tmp_path / "b", 0.6, ["p1", "p2"], recorded_in="per_video")
    c = _scored(tmp_path / "c", 0.7, [], recorded_in="nowhere")  # hand-written results: which prompts is unknown
    assert build_leaderboard(load_runs([a, b, c])).attrs["notes"] == []


def _entry(value, half, n=4, higher=True, family=None):
    out = metric_entry(value, [value - half, value + half] if half is not None else None, n=n, higher=higher)
    if family:
        out["family"] = family
    return out


def test_overall_score_against_an_anchor_by_hand(tmp_path):
    """One two-sided metric (temporal_consistency) and one one-sided (text_alignment), computed by hand."""
    def run(name, flicker, clip):
        return write_results(tmp_path / name, results_dict({
            "temporal_flicker": _entry(flicker, 0.01, family="temporal_consistency"),
            "clip_similarity": _entry(clip, 0.02, family="text_alignment")}))

    folders = [run("ref", 0.95, 0.30), run("still", 1.00, 0.30), run("shaky", 0.80, 0.30), run("off", 0.95, 0.10)]
    board = build_leaderboard(load_runs(folders), anchor="ref").set_index("run")
    # h = sqrt(0.01^2 + 0.01^2), s = 0.01 * sqrt(4) / 1.96 (the anchor's per-clip sd from its interval)
    h, s = math.sqrt(2) * 0.01, 0.02 / 1.96
    d_still, d_shaky = (0.05 - h) / s, (0.15 - h) / s  # still is penalised too: two-sided
    hc, sc = math.sqrt(2) * 0.02, 0.04 / 1.96
    d_off = (0.20 - hc) / sc

    def g(d):
        return d / (1 + d)

    assert board.loc["still", "score"] == pytest.approx(100 * (1 - g(d_still) / 2), rel=1e-12)
    assert board.loc["shaky", "score"] == pytest.approx(100 * (1 - g(d_shaky) / 2), rel=1e-12)
    assert board.loc["off", "score"] == pytest.approx(100 * (1 - g(d_off) / 2), rel=1e-12)
    assert board["rank"].drop("ref").to_dict() == {"still": 1, "off": 2, "shaky": 3}  # d: 3.6, 8.4, 13.3
    assert math.isnan(board.loc["ref", "rank"]) and math.isnan(board.loc["ref", "temporal_flicker_rank"])
    assert board.attrs["anchor"] == "ref" and board.attrs["score_note"] is None
    assert board.index[-1] == "ref"  # shown last, unranked
    # without the anchor, stillness wins the two-sided family again, and the board says so
    free = build_leaderboard(load_runs(folders))
    assert free.attrs["score_note"] and free.iloc[0]["run"] in ("still", "ref")
    with pytest.raises(VbenchError, match="--anchor nope: not one of the runs"):
        build_leaderboard(load_runs(folders), anchor="nope")
    # an anchor without a value for a metric: that metric falls back to the best run, and the board says so
    bare = write_results(tmp_path / "bare", results_dict({"clip_similarity": _entry(0.30, 0.02,
                                                                                     family="text_alignment")}))
    partial = build_leaderboard(load_runs([bare, *folders[1:]]), anchor="bare")
    assert partial.attrs["score_note"] == ("overall score: the anchor bare has no value for temporal_flicker; those "
                                           "metrics are measured against the best run, one-sided")


def test_score_is_strictly_decreasing_in_the_gap(tmp_path):
    """A stronger defect always scores lower: g = d / (1 + d) never saturates to a tie."""
    folders = [write_results(tmp_path / f"r{i}", results_dict({"fvd": _entry(v, 1.0, higher=False)}))
               for i, v in enumerate([10.0, 20.0, 400.0, 800.0, 1600.0])]
    board = build_leaderboard(load_runs(folders), anchor="r0")
    assert board["run"].tolist() == ["r1", "r2", "r3", "r4", "r0"]
    scores = board["score"].tolist()[:4]
    assert all(a > b for a, b in itertools.pairwise(scores))
