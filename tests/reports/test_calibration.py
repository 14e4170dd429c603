"""The calibration report (reports/calibration.py): heatmap orientation, tables, charts and the HTML section."""

from __future__ import annotations

import math

import pandas as pd

from reports.calibration import (
    calibration_context,
    calibration_html,
    calibration_markdown,
    heatmap_frame,
    oriented_rho,
    summary_cells,
)


def _summary() -> pd.DataFrame:
    return pd.DataFrame([
        {"output": "temporal_flicker", "family": "temporal_consistency", "defect": "noise", "higher_is_better": True,
         "strengths": 2, "direction": "worse", "spearman": -1.0, "monotonicity": 1.0, "detected_at": 0.5},
        {"output": "temporal_flicker", "family": "temporal_consistency", "defect": "freeze", "higher_is_better": True,
         "strengths": 2, "direction": "better", "spearman": 1.0, "monotonicity": 0.0, "detected_at": math.nan},
        {"output": "warping_error", "family": "temporal_consistency", "defect": "noise", "higher_is_better": False,
         "strengths": 2, "direction": "worse", "spearman": 0.5, "monotonicity": 0.5, "detected_at": 1.0},
    ])


def _table() -> pd.DataFrame:
    rows = []
    for defect, values in (("noise", [0.99, 0.9, 0.8]), ("freeze", [0.99, 0.995, 1.0])):
        for s, v in zip((0.0, 0.5, 1.0), values):
            rows.append({"output": "temporal_flicker", "family": "temporal_consistency", "defect": defect,
                         "strength": s, "value": v, "ci95_low": 0.985, "ci95_high": 0.995, "n": 4,
                         "higher_is_better": True, "run": "x"})
    return pd.DataFrame(rows)


def test_oriented_rho_is_positive_when_the_metric_degrades():
    # flicker (higher better) falls with noise: rho -1 -> +1; warping error (lower better) rises: rho +0.5 stays
    assert oriented_rho(_summary()).tolist() == [1.0, -1.0, 0.5]
    rho, det = heatmap_frame(_summary())
    assert list(rho.index) == ["temporal_flicker", "warping_error"] and list(rho.columns) == ["noise", "freeze"]
    assert rho.loc["temporal_flicker", "freeze"] == -1.0 and math.isnan(rho.loc["warping_error", "freeze"])
    assert det.loc["temporal_flicker", "noise"] == 0.5


def test_tables_show_dashes_for_undetected():
    header, rows = summary_cells(_summary())
    assert header[-1] == "detected at" and rows[1][-1] == "-" and rows[0][-1] == "0.5"
    md = calibration_markdown(_summary(), title="Synthetic")
    assert md.startswith("## Synthetic") and "| temporal_flicker | noise | worse | -1.0000 | 1.0000 | 0.5 |" in md


def test_html_section_has_the_heatmap_and_a_line_chart_per_metric():
    ctx = calibration_context(_table(), _summary())
    assert ctx["heatmap"].startswith("data:image/png;base64,")
    assert [caption for caption, _ in ctx["lines"]] == ["temporal_flicker"]
    html = calibration_html(_table(), _summary())
    assert 'id="calibration"' in html and html.count("data:image/png;base64,") == 2
    assert calibration_context(None, pd.DataFrame()) is None
