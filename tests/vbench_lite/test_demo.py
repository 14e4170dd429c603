"""The offline demo end to end on a few prompts: every shipped DiT checkpoint is generated and scored next to the
synthetic variants and the untrained baseline, and the report carries the quality-versus-cost table and chart."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from vbench_lite.demo import DIT_STRATEGIES, quick_settings, run_demo
from vbench_lite.generators.reference import shipped_checkpoints


@pytest.mark.slow
def test_demo_scores_every_dit_checkpoint_and_reports_quality_against_cost(tmp_path):
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
    from reference_models.compare_strategies import quality_cost_for_runs  # the chart's labels: the runs' directions

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
