"""Tables and formatting: results -> long tables, per_video.csv with awkward text, number formats, Markdown tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reports.tables import dimension_table, load_run, metric_table, per_video_table
from reports.text import fmt_interval, fmt_number, fmt_rank, markdown_table
from tests.reports.conftest import metric_entry, results_dict, write_results
from vbench_lite.types import VbenchError


def test_metric_and_dimension_tables_follow_results(tmp_path):
    dims = {"color": {"value": 0.5, "ci95": [0.4, 0.6], "n": 3}, "motion": {"value": None, "ci95": None, "n": 0}}
    res = results_dict({"clip": metric_entry(0.3, [0.2, 0.4], n=5, by_dimension=dims),
                        "fvd": metric_entry(None, None, n=0, higher=False)})
    run = load_run(write_results(tmp_path / "r", res))
    mt = metric_table([run]).set_index("metric")
    assert mt.loc["clip", ["value", "ci95_low", "ci95_high", "n"]].tolist() == [0.3, 0.2, 0.4, 5]
    assert bool(mt.loc["fvd", "higher_is_better"]) is False and math.isnan(mt.loc["fvd", "value"])
    dt = dimension_table([run]).set_index("group")
    assert dt.loc["color", ["value", "ci95_low", "ci95_high", "n"]].tolist() == [0.5, 0.4, 0.6, 3]
    assert math.isnan(dt.loc["motion", "value"])


@pytest.mark.parametrize("content, needle", [("[]", "not a results object"), ('{"schema": "x"}', "schema"),
                                             ('{"schema": "vbench-lite/results@1"}', "metrics: missing")])
def test_load_run_rejects_bad_results(tmp_path, content, needle):
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(VbenchError, match=needle):
        load_run(tmp_path)


def test_per_video_table_keeps_text_and_parses_values(tmp_path):
    df = pd.DataFrame([{"prompt_id": "001", "sample": 0, "category": "c", "dimensions": "a;b",
                        "text": 'a "quoted", comma, text', "path": "x.mp4", "status": "ok", "error": "",
                        "clip": 0.25},
                       {"prompt_id": "NA", "sample": 1, "category": "c", "dimensions": "", "text": "None",
                        "path": "y.mp4", "status": "failed", "error": "boom", "clip": None}])
    df.to_csv(tmp_path / "per_video.csv", index=False)
    got = per_video_table(tmp_path)
    assert got["prompt_id"].tolist() == ["001", "NA"] and got["text"].tolist() == ['a "quoted", comma, text', "None"]
    assert got["clip"].iloc[0] == 0.25 and math.isnan(got["clip"].iloc[1]) and got["error"].tolist() == ["", "boom"]
    assert per_video_table(tmp_path / "missing") is None


@pytest.mark.parametrize("value, text", [
    (None, "-"), (float("nan"), "-"), (0, "0"), (0.0, "0"), (12345, "12,345"), (7, "7"), (0.00012345, "0.000123"),
    (0.123456, "0.1235"), (1.0, "1.0000"), (9.87654, "9.8765"), (245.316, "245.32"), (12345.67, "12345.7"),
    (1234567.0, "1.235e+06"), (-0.5, "-0.5000"), (float("inf"), "inf"), ("abc", "abc"), (True, "True"),
])
def test_fmt_number(value, text):
    assert fmt_number(value) == text


def test_fmt_interval_and_rank():
    assert fmt_interval(0.5, 0.25, 0.75) == "0.5000 [0.2500, 0.7500]"
    assert fmt_interval(0.5, None, None) == "0.5000" and fmt_interval(0.5, float("nan"), 1) == "0.5000"
    assert fmt_rank(2.0) == "2" and fmt_rank(2.5) == "2.50" and fmt_rank(float("nan")) == "-"


def test_markdown_table_escapes_pipes_newlines_and_html():
    table = markdown_table(["a", "b"], [["x|y", "two\nlines <b>"]])
    assert table.splitlines() == ["| a | b |", "|:---|---:|", "| x\\|y | two lines &lt;b&gt; |"]
