"""``vbench-lite calibrate``: do the metrics respond to known damage? Metric x defect x strength.

Each defect of :mod:`reference_models.video_defects` (and, on the synthetic suite, the scene defects) is applied at
several strengths to one set of clips (the synthetic suite's renderer clips, or the user's own videos), each
(defect, strength) set is scored as an ordinary run by the pipeline (``OUT/runs/<defect>-<strength>/results.json``,
features cached, resumable), and every (metric output, defect) pair is summarised by
:func:`vbench_lite.calibration_math.summarize_pair`: direction, Spearman rho between strength and value,
monotonicity, and the smallest strength detected beyond the clean clips' 95% interval.

Layout of ``OUT``::

    runs/clean/                 the clean clips (strength 0), re-encoded like every other set
    runs/<defect>-<s>/          one run per defect and strength
    runs/reference/             synthetic suite only: the exact renderer with other seeds (FVD's reference set and
                                the leaderboard's anchor)
    calibration.csv             one row per (output, defect, strength): value, ci95, n, higher_is_better
    calibration_summary.csv     one row per (output, defect): direction, spearman, monotonicity, detected_at
    sample_efficiency.csv       set metrics only (FVD...): ranking agreement against clips per run
                                (:mod:`vbench_lite.calibrate_efficiency`)

Clips are written as H.264 at the pipeline's quality (crf 12), the clean set included, so encoding touches every
set alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbench_lite.calibrate_runs import CLEAN_RUN, REFERENCE_RUN, run_name
from vbench_lite.types import VbenchError

DEFAULT_STRENGTHS = (0.25, 0.5, 1.0)
#: Defects that need the synthetic world's scene (they change what is drawn).
SYNTHETIC_ONLY = ("wrong_color", "remove_object")


def all_defects(synthetic: bool) -> tuple[str, ...]:
    from reference_models.video_defects import FRAME_DEFECTS

    return tuple(FRAME_DEFECTS) + (SYNTHETIC_ONLY if synthetic else ())


def strengths_of(defect: str, strengths: Sequence[float]) -> list[float]:
    """The strengths a defect is applied at: binary defects (``wrong_color``) only at 1, the same clip at any."""
    from reference_models.synthetic_world import BINARY_DEFECTS

    return [1.0] if defect in BINARY_DEFECTS else sorted(set(strengths))


@dataclass
class CalibrationSettings:
    metrics: tuple[str, ...] = ("clip", "temporal")
    metric_args: dict[str, dict[str, str]] = field(default_factory=dict)
    defects: tuple[str, ...] | None = None  # None: every defect the source allows
    strengths: tuple[float, ...] = DEFAULT_STRENGTHS
    reference: str | None = None  # FVD's reference (default: runs/reference, or the clean clips of --videos)
    limit: int | None = 12  # prompts of the suite, spread over it (every k-th); None: all
    samples: int = 1
    num_frames: int = 16
    size: tuple[int, int] = (64, 64)
    seed: int = 0
    reference_seed: int = 1000
    reference_samples: int = 1
    device: str | None = None
    max_frames: int = 128
    max_side: int | None = None  # None: the pipeline's default
    #: Sample efficiency of set metrics: clean against each of these defects at the smallest strength.
    efficiency_defects: tuple[str, ...] = ("noise", "blur", "shuffle", "freeze")
    efficiency_boot: int = 50
    workers: int = 0  # decode in process: the clips are tiny, and worker start-up would cost more than it saves
    progress: bool = True


@dataclass
class CalibrationOutcome:
    out: Path
    runs: dict[str, Path]
    anchor: str | None
    table: Any  # pandas: one row per (output, defect, strength)
    summary: Any  # pandas: one row per (output, defect)
    notes: list[str]
    efficiency: Any = None  # pandas: sample efficiency rows, or None without a set metric


def check_settings(settings: CalibrationSettings, synthetic: bool) -> tuple[str, ...]:
    """The defects to apply, or one line naming the bad option."""
    known = all_defects(True)
    defects = tuple(settings.defects) if settings.defects else all_defects(synthetic)
    for d in defects:
        if d not in known:
            raise VbenchError(f"--defects: unknown defect {d!r} (known: {', '.join(known)})")
        if d in SYNTHETIC_ONLY and not synthetic:
            raise VbenchError(f"--defects: {d} changes the rendered scene: only with the synthetic suite")
    strengths = settings.strengths
    if not strengths or any(not (math.isfinite(s) and s > 0) for s in strengths):
        raise VbenchError(f"--strengths: need numbers > 0, got {','.join(map(str, strengths)) or 'none'}")
    if settings.limit is not None and settings.limit < 2:
        raise VbenchError(f"--limit: need at least 2 prompts, got {settings.limit}")
    return defects


def spread(prompts: Sequence[Any], limit: int | None) -> list[Any]:
    """``limit`` prompts spread over the suite (every k-th), so a small calibration still sees every kind."""
    if limit is None or limit >= len(prompts):
        return list(prompts)
    step = len(prompts) / limit
    return [prompts[int(i * step)] for i in range(limit)]


def run_calibration(out: str | Path, settings: CalibrationSettings | None = None, *, suite: str | None = None,
                    videos: str | Path | None = None) -> CalibrationOutcome:
    """Apply, score and summarise (see the module docstring); ``suite`` (default ``synthetic``) or ``videos``."""
    from dataclasses import replace

    from vbench_lite.pipeline import ScoreSettings, build_metrics
    from vbench_lite.prompts import load_suite

    settings = settings or CalibrationSettings()
    if suite and videos:
        raise VbenchError("calibrate: give --suite or --videos, not both")
    synthetic = videos is None
    defects = check_settings(settings, synthetic)
    out = Path(out)
    notes: list[str] = []
    the_suite = load_suite(suite or ("synthetic" if synthetic else "standard"))
    if synthetic:
        if the_suite.name != "synthetic" and any(p.category != "synthetic" for p in the_suite.prompts):
            raise VbenchError(f"--suite {suite}: the defects are applied to the synthetic renderer's clips; use the "
                              "synthetic suite, or --videos DIR for your own videos")
        the_suite = replace(the_suite, prompts=spread(the_suite.prompts, settings.limit))
    score_settings = ScoreSettings(max_frames=settings.max_frames, seed=settings.seed, workers=settings.workers,
                                   **({"max_side": settings.max_side} if settings.max_side else {}))
    metrics, metric_failures = build_metrics(list(settings.metrics), settings.metric_args, device=settings.device)
    notes += [f.error for f in metric_failures]
    if not metrics:
        raise VbenchError(f"calibrate: no metric could be built ({'; '.join(notes) or 'none asked for'})")
    runs_dir = out / "runs"
    plan = [("none", 0.0)] + [(d, s) for d in defects for s in strengths_of(d, settings.strengths)]
    if synthetic:
        from vbench_lite.calibrate_runs import synthetic_runs

        runs, reference_dir, anchor = synthetic_runs(runs_dir, the_suite, plan, settings)
    else:
        from vbench_lite.calibrate_runs import video_runs

        runs, reference_dir, anchor = video_runs(runs_dir, Path(videos), the_suite, plan, settings, score_settings)
    reference = settings.reference or str(reference_dir)
    from vbench_lite.calibrate_runs import score_runs

    score_runs(runs, metrics, the_suite, reference, score_settings, settings.progress)
    table = calibration_table(runs, plan)
    summary = summarize_table(table)
    from vbench_lite.results import atomic_write_text

    atomic_write_text(out / "calibration.csv", table.to_csv(index=False))
    atomic_write_text(out / "calibration_summary.csv", summary.to_csv(index=False))
    efficiency = None
    pairs = [(CLEAN_RUN, run_name(d, strengths_of(d, settings.strengths)[0]))
             for d in settings.efficiency_defects if d in defects]
    if pairs and any(m.needs_reference for m in metrics):
        from vbench_lite.calibrate_efficiency import sample_efficiency

        efficiency = sample_efficiency(runs, metrics, reference, score_settings, pairs,
                                       n_boot=settings.efficiency_boot, seed=settings.seed)
        atomic_write_text(out / "sample_efficiency.csv", efficiency.to_csv(index=False))
    return CalibrationOutcome(out, {name: run.run_dir for name, run in runs.items()}, anchor, table, summary, notes,
                              efficiency)


def calibration_table(runs: dict[str, Any], plan: Sequence[tuple[str, float]]):
    """One row per (output, defect, strength) from the runs' ``results.json``; strength 0 (clean) is repeated under
    every defect so each defect's curve starts from the same point."""
    import pandas as pd

    from vbench_lite.results import read_json

    rows = []
    defects = list(dict.fromkeys(d for d, _ in plan if d != "none"))
    for defect, strength in plan:
        run = runs[run_name(defect, strength)]
        results_path = run.run_dir / "results.json"
        results = read_json(results_path) if results_path.exists() else {}
        for output, entry in (results.get("metrics") or {}).items():
            ci = entry.get("ci95") or [None, None]
            base = {"output": output, "strength": float(strength), "value": _num(entry.get("value")),
                    "ci95_low": _num(ci[0]), "ci95_high": _num(ci[1]), "n": int(entry.get("n") or 0),
                    "higher_is_better": bool(entry.get("higher_is_better", True)),
                    "family": entry.get("family") or output, "run": run_name(defect, strength)}
            for d in (defects if defect == "none" else [defect]):
                rows.append({**base, "defect": d})
    columns = ["output", "family", "defect", "strength", "value", "ci95_low", "ci95_high", "n", "higher_is_better",
               "run"]
    return pd.DataFrame(rows, columns=columns).sort_values(["output", "defect", "strength"]).reset_index(drop=True)


def summarize_table(table):
    """One row per (output, defect): :func:`vbench_lite.calibration_math.summarize_pair` of its strengths."""
    import pandas as pd

    from vbench_lite.calibration_math import summarize_pair

    rows = []
    for (output, defect), g in table.groupby(["output", "defect"], sort=True):
        g = g.sort_values("strength")
        clean = g[g["strength"] == 0]
        if clean.empty:
            continue
        ci = (clean["ci95_low"].iloc[0], clean["ci95_high"].iloc[0])
        higher = bool(g["higher_is_better"].iloc[0])
        stats = summarize_pair(g["strength"].tolist(), g["value"].tolist(), ci, higher)
        rows.append({"output": output, "family": g["family"].iloc[0], "defect": defect, "higher_is_better": higher,
                     "strengths": len(g) - 1, **stats})
    columns = ["output", "family", "defect", "higher_is_better", "strengths", "direction", "spearman",
               "monotonicity", "detected_at"]
    return pd.DataFrame(rows, columns=columns)


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


__all__ = ["CLEAN_RUN", "DEFAULT_STRENGTHS", "REFERENCE_RUN", "SYNTHETIC_ONLY", "CalibrationOutcome",
           "CalibrationSettings", "all_defects", "calibration_table", "check_settings", "run_calibration", "run_name",
           "spread", "strengths_of", "summarize_table"]
