"""The offline demo end to end on a few prompts: every shipped DiT checkpoint is generated and scored next to the
synthetic variants and the untrained baseline, and the report carries the quality-versus-cost table and chart."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from reference_models.video_dit_checkpoint import shipped_checkpoints
from vbench_lite.demo import DIT_STRATEGIES, quick_settings, run_demo


@pytest.mark.slow
def test_demo_scores_every_dit_checkpoint_and_reports_quality_against_cost(tmp_path, capsys):
    if not all(f"vdit-t-{s}" in shipped_checkpoints() for s in DIT_STRATEGIES):
        pytest.fail("a shipped DiT checkpoint is missing from reference_models/checkpoints")
    settings = replace(quick_settings(), prompt_stride=52, with_dit=True, with_attention=False,
                       metrics=("clip", "temporal"))
    outcome = run_demo(tmp_path / "demo", settings)

    dit_runs = {f"dit-{s}" for s in DIT_STRATEGIES}
    assert dit_runs | {"untrained-dit", "synthetic"} <= set(outcome.runs)
    for name in dit_runs | {"untrained-dit"}:
        results = json.loads((outcome.runs[name] / "results.json").read_text())
        assert results["generator"]["name"] == "reference"
        assert results["metrics"]["clip_similarity"]["value"] is not None
    from vbench_lite.lab.strategy_cost import quality_cost_for_runs  # the chart's labels: the runs' directions

    table = quality_cost_for_runs({"full": outcome.runs["dit-full"]}, measure_latency=False)
    for metric, entry in results["metrics"].items():
        assert table.attrs["higher_is_better"][metric] is entry["higher_is_better"]
    provenance = json.loads((outcome.runs["dit-window"] / "run.json").read_text())["generator_provenance"]
    assert provenance["strategy"] == "window" and len(provenance["weights_sha256"]) == 64

    html = outcome.files["report.html"].read_text()
    assert "Quality vs cost" in html and "untrained-dit" in html
    markdown = outcome.files["report.md"].read_text()
    assert "## Quality versus cost" in markdown
    section = markdown.split("## Quality versus cost", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")]
    assert rows[1:] == [*DIT_STRATEGIES, "untrained"]  # after the header row
    leaderboard = pd.read_csv(outcome.files["leaderboard.csv"])
    assert dit_runs | {"untrained-dit"} <= set(leaderboard["run"])
    # the last thing on stdout: the final ranking, one row per run in leaderboard order
    _, _, header, _, *rows = capsys.readouterr().out.split("Final ranking", 1)[1].strip().splitlines()
    assert [cell.strip() for cell in header.split("|")[1:5]] == ["rank", "run", "score", "mean rank"]
    assert [row.split("|")[2].strip() for row in rows] == list(leaderboard["run"])


def test_demo_prints_its_final_ranking_last(tmp_path):
    """The ranking table (rank, run, mean rank, each family's mean rank) in leaderboard order, on stdout."""
    import io

    from reports.leaderboard import build_leaderboard
    from reports.tables import load_runs
    from tests.reports.conftest import metric_entry, results_dict, write_results
    from vbench_lite.demo import DemoOutcome, print_ranking

    runs = {"synthetic-blur": (0.2, 300.0), "synthetic": (0.3, 100.0), "synthetic-noise": (0.1, 200.0)}
    folders = [write_results(tmp_path / name, results_dict({"clip_similarity": metric_entry(clip),
                                                             "fvd": metric_entry(fvd, higher=False)}))
               for name, (clip, fvd) in runs.items()]
    outcome = DemoOutcome(tmp_path, leaderboard=build_leaderboard(load_runs(folders)))
    out = io.StringIO()
    print_ranking(outcome, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Final ranking (3 runs; rank 1 is best")
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[2:]]
    assert cells[0] == ["rank", "run", "score", "mean rank", "text", "distribution"]  # text_alignment, shortened
    # clip ranks: synthetic 1, blur 2, noise 3; FVD ranks: synthetic 1, noise 2, blur 3 -> means 1, 2.5, 2.5.
    # Score (reports/overall_score.py, no anchor: the best run stands in, no intervals so h = 0 and s = 1% of the
    # range): clip s = 0.002, blur d = 0.1/0.002 = 50, noise d = 100; FVD s = 2, blur d = 100, noise d = 50;
    # g = d/(1+d); both 100 (1 - (50/51 + 100/101)/2) = 1.4755 -> "1.5", a tie like the mean rank.
    assert cells[2:] == [["1", "synthetic", "100.0", "1", "1", "1"], ["2", "synthetic-blur", "1.5", "2.50", "2", "3"],
                         ["2", "synthetic-noise", "1.5", "2.50", "3", "2"]]
    print_ranking(DemoOutcome(tmp_path), out)  # no leaderboard (every run failed): nothing more is printed
    assert out.getvalue().splitlines() == lines
