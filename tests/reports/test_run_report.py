"""Run and comparison reports on real runs: files written, sections present, every image inline, user text escaped,
attention and quality-vs-cost sections, and the run command writing reports itself."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from reports.run_report import load_attention, write_comparison_report, write_run_reports
from vbench_lite.types import VbenchError

EVIL = '<script>alert("x")</script> & "quotes" | pipes'


class PageParser(HTMLParser):
    """Collects headings, image sources and anything that would reach the network."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.img_src: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._in_heading = True
            self.headings.append("")
        if tag == "img":
            self.img_src.append(attrs.get("src") or "")
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


def parse(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    return p


def _poison_prompt_text(run: Path) -> None:
    path = run / "per_video.csv"
    rows = list(csv.DictReader(path.open()))
    rows[0]["text"] = EVIL
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_run_command_wrote_reports(real_runs):
    for run in real_runs.values():
        assert (run / "report.html").stat().st_size > 1000 and (run / "report.md").exists()


def test_run_report_sections_images_and_escaping(copied_run):
    _poison_prompt_text(copied_run)
    paths = write_run_reports(copied_run)
    assert set(paths) == {"report.md", "report.html"} and all(p.parent == copied_run for p in paths.values())
    html = paths["report.html"].read_text()
    page = parse(html)
    for heading in ("Metrics", "Per-video values", "By dimension", "Clips", "Provenance"):
        assert heading in page.headings, page.headings
    n_clips = len(pd.read_csv(copied_run / "per_video.csv"))
    # one filmstrip per clip plus the charts, every one inline
    assert len(page.img_src) >= n_clips + 2
    assert all(src.startswith("data:image/") for src in page.img_src)
    assert sum(src.startswith("data:image/jpeg") for src in page.img_src) == n_clips
    assert not page.external and page.scripts == 0
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp;" in html
    md = paths["report.md"].read_text()
    assert md.startswith("# vbench-lite report: copy") and "| warping_error | lower |" in md


def test_run_report_values_match_results(real_runs):
    from reports.tables import load_run
    from reports.text import fmt_number

    run = load_run(real_runs["noisy"])
    md = (real_runs["noisy"] / "report.md").read_text()
    for name, entry in run.metrics.items():
        line = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {fmt_number(entry['value'])} |" in line
        assert f"[{fmt_number(entry['ci95'][0])}, {fmt_number(entry['ci95'][1])}]" in line


def test_run_report_shows_failures_and_missing_clips(copied_run):
    import json

    results = json.loads((copied_run / "results.json").read_text())
    results["failures"] = [{"path": "x.mp4", "error": f"x.mp4: cannot decode {EVIL}", "prompt_id": "p",
                            "sample": 0, "stage": "decode"}]
    (copied_run / "results.json").write_text(json.dumps(results))
    victim = next((copied_run / "clips").iterdir())
    for f in victim.iterdir():
        f.unlink()
    per_video = pd.read_csv(copied_run / "per_video.csv")
    per_video["path"] = "nowhere/0.mp4"  # the recorded paths point at the original run: make them miss too
    per_video.to_csv(copied_run / "per_video.csv", index=False)
    html = write_run_reports(copied_run)["report.html"].read_text()
    assert "Failures" in parse(html).headings and "clip file not found" in html and "<script>alert" not in html
    assert "## Failures" in (copied_run / "report.md").read_text()


@pytest.fixture(scope="module")
def attention_rows():
    from vbench_lite.lab.attention_sweep import SweepSettings, run_sweep

    return run_sweep(SweepSettings(strategies=("full", "spatial", "temporal"), frames=(2, 4, 8), grids=((4, 4),),
                                   dim=32, heads=2)).rows


def test_comparison_report_with_attention_and_quality_cost(real_runs, tmp_path, attention_rows):
    quality_cost = pd.DataFrame({"strategy": ["full", "spatial"], "gflops_per_clip": [12.5, 3.1],
                                 "latency_ms_per_clip": [40.0, 12.0], "fvd": [310.0, 420.0]}).set_index("strategy")
    paths = write_comparison_report([real_runs["clean"], real_runs["noisy"]], tmp_path / "cmp",
                                    attention_csv=attention_rows, quality_cost_df=quality_cost, title=f"demo {EVIL}",
                                    notes=[f"note {EVIL}"])
    assert set(paths) == {"leaderboard.csv", "report.md", "report.html"}
    html = paths["report.html"].read_text()
    page = parse(html)
    for heading in ("Leaderboard", "Metrics", "By dimension", "Attention cost", "Quality versus cost", "Clips",
                    "Runs"):
        assert heading in page.headings, page.headings
    assert all(src.startswith("data:image/") for src in page.img_src) and len(page.img_src) >= 10
    assert "<script>alert" not in html and not page.external
    board = pd.read_csv(paths["leaderboard.csv"])
    assert sorted(board["run"]) == ["clean", "noisy"]
    md = paths["report.md"].read_text()
    assert "## Attention cost" in md and "## Quality versus cost" in md and "| full |" in md
    assert "<script>" not in md and "# demo &lt;script&gt;alert" in md  # no raw HTML from user text


def test_comparison_report_attention_from_csv_draws_its_charts(real_runs, tmp_path, attention_rows):
    from reports.plots import attention_plots
    from vbench_lite.lab.attention_sweep import write_attention_report

    written = write_attention_report(attention_rows, tmp_path / "att")
    charts = attention_plots(pd.read_csv(written["csv"]))
    assert [caption.split()[:2] for caption, _ in charts] == [["Analytic", "attention"]]  # this sweep was not timed
    paths = write_comparison_report([real_runs["clean"]], tmp_path / "cmp", attention_csv=written["csv"])
    html = paths["report.html"].read_text()
    assert all(uri in html for _, uri in charts)  # same rows, same bytes
    # a demo folder's own sweep (OUT/attention/attention.csv) is found without being named
    demo = write_attention_report(attention_rows, tmp_path / "demo" / "attention")
    paths = write_comparison_report([real_runs["clean"]], tmp_path / "demo")
    assert all(uri in paths["report.html"].read_text() for _, uri in attention_plots(pd.read_csv(demo["csv"])))


def test_load_attention_errors(tmp_path):
    with pytest.raises(VbenchError, match="no such attention CSV"):
        load_attention(tmp_path / "nope.csv")
    assert load_attention(None) == (None, None)
