"""What the reports say in words: user text from results.json stays inert in Markdown (and HTML), toy-model numbers
carry a banner and a marker in every report, and the leaderboard table fits a 120-column terminal."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.leaderboard import build_leaderboard
from reports.markdown import leaderboard_markdown, ranking_markdown
from reports.run_report import write_run_reports
from reports.tables import load_runs
from reports.text import TOY_BANNER, display_width, fmt_interval, fmt_rank, markdown_table, md_text
from tests.reports.conftest import SUITE, metric_entry, results_dict, write_results
from vbench_lite.cli import main

EVIL_SUITE = {**SUITE, "name": "<img src=x onerror=alert(1)>", "version": "<script>alert(2)</script>"}
EVIL_GENERATOR = {"name": "gen`<b>bold</b>`", "args": {"k": "[x](javascript:alert(3))"}}
TOY = "toy-clip: a toy CLIP trained only on vbench-lite's synthetic world"


def _evil_run(folder):
    res = results_dict({"clip_similarity": metric_entry(0.3, [0.2, 0.4])}, suite=EVIL_SUITE,
                       generator=EVIL_GENERATOR, weights={"<i>w</i>": "`sha`<u>"})
    return write_results(folder, res)


def _assert_inert(md: str) -> None:
    for raw in ("<img", "<script", "<b>", "<i>", "<u>", "](javascript"):
        assert raw not in md, raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "&lt;script&gt;alert(2)&lt;/script&gt;" in md


def test_run_report_markdown_escapes_user_text(tmp_path):
    """Before: the suite version (and any results.json text outside a code span) reached report.md as raw HTML."""
    paths = write_run_reports(_evil_run(tmp_path / "run"))
    _assert_inert(paths["report.md"].read_text())
    html = paths["report.html"].read_text()
    assert "<script>alert(2)" not in html and "<img src=x" not in html  # HTML stays escaped too


def test_leaderboard_markdown_escapes_user_text(tmp_path):
    a, b = _evil_run(tmp_path / "a"), _evil_run(tmp_path / "b")
    md = tmp_path / "lb.md"
    assert main(["leaderboard", str(a), str(b), "--out", str(tmp_path / "lb.csv"), "--md", str(md)]) == 0
    _assert_inert(md.read_text())


def test_md_text_closed_forms():
    assert md_text("a <b> & c") == "a &lt;b&gt; &amp; c"
    assert md_text("x `code` y") == "x \\`code\\` y"
    assert md_text("[t](javascript:x)") == "\\[t]\\(javascript:x)"  # neither a link nor a link definition
    assert md_text("two\nlines") == "two lines"
    assert markdown_table(["a"], [["[0.1, 0.2] |"]]).splitlines()[2] == "| [0.1, 0.2] \\| |"


# -- toy models --------------------------------------------------------------------------------------------------------
def _toy_results(clip_toy: bool = True, top_level: list | None = None) -> dict:
    clip = metric_entry(0.3, [0.2, 0.4])
    if clip_toy:
        clip["toy_model"] = TOY
    res = results_dict({"clip_similarity": clip, "fvd": metric_entry(200.0, [190.0, 210.0], higher=False)})
    if top_level is not None:
        res["toy_models"] = top_level
    return res


def test_run_reports_show_the_toy_banner_and_mark_toy_metrics(tmp_path):
    folder = write_results(tmp_path / "run", _toy_results(top_level=["toy-world: renderer of coloured shapes"]))
    paths = write_run_reports(folder)
    md = paths["report.md"].read_text()
    assert f"> **Toy models.** {TOY_BANNER}." in md and f"> - {md_text(TOY)}" in md
    assert "> - toy-world: renderer of coloured shapes" in md  # the top-level list too
    assert "| clip_similarity (toy) | higher |" in md and "| fvd | lower |" in md  # only the toy metric is marked
    html = paths["report.html"].read_text()
    assert TOY_BANNER in html and html.count('<span class="toy"') == 1


def test_run_reports_list_each_metrics_notes_once(tmp_path):
    # which prompts a semantic metric left out and why is part of the number: both reports show it
    res = _toy_results(clip_toy=False)
    why = "16 of 26 prompts are tagged for other dimensions, not object_class: not applicable"
    res["metrics"]["object_class"] = metric_entry(0.9) | {"notes": [why, "shared remark"]}
    res["metrics"]["color"] = metric_entry(0.8) | {"notes": ["shared remark"]}
    paths = write_run_reports(write_results(tmp_path / "run", res))
    md = paths["report.md"].read_text()
    assert "## Notes" in md and f"- object_class: {md_text(why)}" in md
    assert md.count("shared remark") == 1 and "- object_class, color: shared remark" in md
    assert "not applicable" in paths["report.html"].read_text()


def test_reports_without_toy_models_say_nothing_of_them(tmp_path):
    paths = write_run_reports(write_results(tmp_path / "run", _toy_results(clip_toy=False)))
    assert "toy" not in paths["report.md"].read_text().lower()
    assert TOY_BANNER not in paths["report.html"].read_text()


def test_leaderboard_outputs_show_toy_models(tmp_path, capsys):
    toy_a = write_results(tmp_path / "a", _toy_results())
    real_b = write_results(tmp_path / "b", _toy_results(clip_toy=False))
    out, md, html = tmp_path / "lb.csv", tmp_path / "lb.md", tmp_path / "lb.html"
    assert main(["leaderboard", str(toy_a), str(real_b), "--out", str(out), "--md", str(md), "--html",
                 str(html)]) == 0
    assert TOY_BANNER in capsys.readouterr().err
    board = pd.read_csv(out, keep_default_na=False).set_index("run")
    assert board.loc["a", "clip_similarity_toy_model"] == TOY and board.loc["b", "clip_similarity_toy_model"] == ""
    assert "fvd_toy_model" not in board.columns  # a column only where a toy model was used
    text = md.read_text()
    assert f"> **Toy models.** {TOY_BANNER}." in text
    header = next(line for line in text.splitlines() if line.startswith("| rank"))
    assert "clip_sim ↑ (toy)" in header and "fvd ↓ |" in header
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("|")}
    assert "(toy)" in rows["a"] and "(toy)" not in rows["b"]  # mixed column: the toy run's own cell says so
    page = html.read_text()
    assert TOY_BANNER in page and page.count(f'title="{TOY}"'.replace("'", "&#39;")) == 1


def test_check_marks_toy_metrics(tmp_path, capsys):
    base = write_results(tmp_path / "base", _toy_results()) / "results.json"
    assert main(["check", str(base), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert TOY_BANNER in out and "| clip_similarity (toy) |" in out and "| fvd |" in out


# -- width ---------------------------------------------------------------------------------------------------------
DEMO_METRICS = {"clip_similarity": True, "clipscore": True, "clip_consistency": True, "fvd": False, "kvd": False,
                "temporal_flicker": True, "motion_smoothness": True, "warping_error": False, "dynamic_degree": True}


def _wide_board(tmp_path):
    names = ["synthetic(defect=wrong_color, strength=0.5)", "synthetic(defect=wrong_color, strength=1.0)",
             "untrained-dit", "走る猫の動画を生成するモデル"]
    folders = []
    for i, name in enumerate(names):
        metrics = {m: metric_entry(1234.5678 * (i + 1) if not higher else 0.98765 - i / 10,
                                   None if m == "kvd" else [0.5, 4000.0 * (i + 1)], higher=higher)
                   for m, higher in DEMO_METRICS.items()}
        folders.append(write_results(tmp_path / name, results_dict(metrics)))
    return build_leaderboard(load_runs(folders))


@pytest.mark.parametrize("intervals", [True, False])
def test_leaderboard_table_fits_120_columns_and_keeps_every_value(tmp_path, intervals):
    """Before: one row held every metric's value and interval, 280+ columns wide for the demo's nine metrics."""
    board = _wide_board(tmp_path)
    text = leaderboard_markdown(board, intervals=intervals)
    widths = [display_width(line) for line in text.splitlines()]
    assert max(widths) <= 120, max(widths)
    for _, row in board.iterrows():  # every value (and interval) is still there, once
        for m in DEMO_METRICS:
            cell = fmt_interval(row[m], row[f"{m}_ci95_low"], row[f"{m}_ci95_high"]) if intervals else \
                fmt_interval(row[m])
            assert cell in text
    legend = text[text.index("Columns:"):]
    for abbreviation in ("clip_sim = clip_similarity", "smoothness = motion_smoothness", "warp_err = warping_error"):
        assert abbreviation in legend
    assert "走る猫の動画…するモデル" in text  # 28 columns wide in full: cut to 24 (each character is 2 wide)
    # the two long generator labels differ only at the end: cut in the middle, they stay apart
    assert "synthetic(de…rength=0.5)" in text and "synthetic(de…rength=1.0)" in text


def test_ranking_is_short(tmp_path):
    board = _wide_board(tmp_path)
    lines = ranking_markdown(board).splitlines()
    header = [c.strip() for c in lines[0].split("|")[1:-1]]
    families = ["text", "temporal", "distribution", "dynamics"]  # text_alignment, temporal_consistency shortened
    assert header[:4] == ["rank", "run", "score", "mean rank"] and header[4:] == families[:len(header) - 4]
    assert len(header) >= 6  # as many families as fit in 120 columns, dropped from the right
    assert len(lines) == 2 + len(board) and max(display_width(line) for line in lines) <= 120
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[2:]]
    assert [c[0] for c in cells] == [str(r) for r in board["rank"]]
    assert [c[2] for c in cells] == [f"{s:.1f}" for s in board["score"]]  # the score the rank orders by
    assert [float(c[2]) for c in cells] == sorted((float(c[2]) for c in cells), reverse=True)
    assert [c[3] for c in cells] == [fmt_rank(r) for r in board["mean_rank"]]
