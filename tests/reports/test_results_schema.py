"""The one results.json validator (vbench_lite.results.load_results) and the commands that read through it: every
value of the wrong JSON type is refused with one line naming the file and the JSON path, never coerced ("0.5" and
true are not numbers) and never an internal error (a bare number as a metric entry)."""

from __future__ import annotations

import json

import pytest

from reports.check import Tolerance, check_metric
from tests.reports.conftest import metric_entry, results_dict, write_results
from vbench_lite.cli import main
from vbench_lite.results import load_results, read_results, validate_results
from vbench_lite.types import VbenchError

GOOD = {"clip_similarity": metric_entry(0.3, [0.29, 0.31]), "fvd": metric_entry(200.0, [190.0, 210.0], higher=False)}


def _bad(mutate) -> dict:
    res = results_dict(GOOD)
    mutate(res)
    return res


def _set(path: str, value):
    """A mutation that sets ``res[a][b]...`` (dotted path) to ``value``."""
    def mutate(res):
        *parents, last = path.split(".")
        node = res
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return mutate


NUMBER = "expected a number or null"
# (mutation, the message after "FILE: ") -- one case per way a file could be misread
CASES = [
    (_set("metrics.clip_similarity.value", "0.5"), f"metrics.clip_similarity.value: {NUMBER}, got string"),
    (_set("metrics.clip_similarity.value", True), f"metrics.clip_similarity.value: {NUMBER}, got boolean"),
    (_set("metrics.clip_similarity", 0.5), "metrics.clip_similarity: expected an object, got number"),
    (_set("metrics.fvd", [1, 2]), "metrics.fvd: expected an object, got array"),
    (_set("metrics", [GOOD]), "metrics: expected an object, got array"),
    (_set("metrics.fvd.higher_is_better", "false"), "metrics.fvd.higher_is_better: expected a boolean, got string"),
    (lambda r: r["metrics"]["fvd"].pop("higher_is_better"),
     "metrics.fvd.higher_is_better: missing (expected a boolean)"),
    (lambda r: r["metrics"]["fvd"].pop("value"), "metrics.fvd.value: missing (expected a number or null)"),
    (_set("metrics.fvd.ci95", [210.0, 190.0]), "metrics.fvd.ci95: low 210.0 is above high 190.0"),
    (_set("metrics.fvd.ci95", [1.0, 2.0, 3.0]),
     "metrics.fvd.ci95: expected [low, high] or null, got array of length 3"),
    (_set("metrics.fvd.ci95", [1.0, "2"]), "metrics.fvd.ci95[1]: expected a number or null, got string"),
    (_set("metrics.fvd.n", True), "metrics.fvd.n: expected an integer >= 0 or null, got boolean"),
    (_set("metrics.fvd.n", -3), "metrics.fvd.n: expected an integer >= 0 or null, got number"),
    (_set("metrics.fvd.toy_model", 1), "metrics.fvd.toy_model: expected a string or null, got number"),
    (_set("metrics.clip_similarity.by_dimension", {"color": {"value": "x"}}),
     "metrics.clip_similarity.by_dimension.color.value: expected a number or null, got string"),
    (_set("metrics.clip_similarity.by_dimension", {"two words": 3}),
     'metrics.clip_similarity.by_dimension."two words": expected an object, got number'),
    (_set("counts.videos", "8"), "counts.videos: expected an integer >= 0 or null, got string"),
    (_set("failures", [{"error": "x"}, "oops"]), "failures[1]: expected an object, got string"),
    (_set("failures", [{"stage": "decode"}]), "failures[0].error: missing (expected a string)"),
    (_set("suite.sha256", 7), "suite.sha256: expected a string or null, got number"),
    (_set("provenance.protocols", "p"), "provenance.protocols: expected an object or null, got string"),
    (_set("prompt_ids", ["a", 2]), "prompt_ids[1]: expected a string, got number"),
    (_set("toy_models", [3]), "toy_models[0]: expected a string or an object, got number"),
]


@pytest.mark.parametrize("mutate, message", CASES, ids=[m for _, m in CASES])
def test_validator_names_file_and_json_path(tmp_path, mutate, message):
    folder = write_results(tmp_path / "run", _bad(mutate))
    with pytest.raises(VbenchError) as err:
        load_results(folder)
    assert str(err.value) == f"{folder / 'results.json'}: {message}"


def test_nan_and_infinity_literals_are_not_numbers(tmp_path):
    text = json.dumps(results_dict(GOOD)).replace('"value": 0.3', '"value": NaN', 1)
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(VbenchError, match=r"metrics\.clip_similarity\.value: expected a number or null, got NaN"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text(text.replace("NaN", "-Infinity"))
    with pytest.raises(VbenchError, match="got -Infinity"):
        load_results(tmp_path)


def test_a_real_run_and_the_hand_written_results_are_valid(real_runs, tmp_path):
    for run in real_runs.values():
        res = load_results(run)
        assert res["metrics"] and read_results(run / "results.json") == res  # the old name is the same reader
    validate_results(results_dict(GOOD))
    # null values and intervals, unknown extra fields, integer values and toy notes are all allowed
    validate_results(results_dict({"x": metric_entry(None, None, n=0), "y": {**metric_entry(3, [2, 4]), "new": 1,
                                                                             "toy_model": "toy CLIP"}}))


def test_error_with_odd_file_name_stays_one_line(tmp_path):
    folder = write_results(tmp_path / "a\nb", _bad(_set("metrics.fvd", 1)))
    with pytest.raises(VbenchError) as err:
        load_results(folder)
    assert "\n" not in str(err.value) and "a\\nb" in str(err.value)


@pytest.mark.parametrize("mutate, message", [CASES[0], CASES[1], CASES[2]], ids=["string", "true", "bare number"])
@pytest.mark.parametrize("which", ["new", "baseline"])
def test_check_refuses_values_that_are_not_numbers(tmp_path, capsys, mutate, message, which):
    """Before: "0.5" was read as 0.5 and true as 1.0 (a pass or a fail on a number nobody wrote), and a bare number
    as a metric entry made an internal error."""
    good = write_results(tmp_path / "good", results_dict(GOOD)) / "results.json"
    bad = write_results(tmp_path / "bad", _bad(mutate)) / "results.json"
    new, base = (bad, good) if which == "new" else (good, bad)
    assert main(["check", str(new), "--baseline", str(base)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"vbench-lite: error: {bad}: {message}"


@pytest.mark.parametrize("mutate, message", [CASES[0], CASES[1], CASES[2]], ids=["string", "true", "bare number"])
def test_leaderboard_refuses_values_that_are_not_numbers(tmp_path, capsys, mutate, message):
    good = write_results(tmp_path / "good", results_dict(GOOD))
    bad = write_results(tmp_path / "bad", _bad(mutate))
    assert main(["leaderboard", str(good), str(bad), "--out", str(tmp_path / "lb.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"vbench-lite: error: {bad / 'results.json'}: {message}"
    assert not (tmp_path / "lb.csv").exists()


def test_reports_refuse_values_that_are_not_numbers(tmp_path):
    from reports.run_report import write_run_reports

    bad = write_results(tmp_path / "bad", _bad(CASES[0][0]))
    with pytest.raises(VbenchError, match="expected a number or null, got string"):
        write_run_reports(bad)
    assert not (bad / "report.md").exists()


def test_check_metric_api_does_not_coerce_strings_or_booleans():
    """The gate's own reader counts only real numbers, for callers that pass dicts without loading a file."""
    for junk in ("0.5", True):
        row = check_metric("m", {"value": junk, "higher_is_better": True}, metric_entry(0.4), Tolerance(0.0))
        assert row.value is None and row.status == "no value" and row.failed
