"""Calibration of the shipped metrics: the synthetic suite and, when present, the real clips of ../shared/data/real.

    python benchmarks/bench_calibration.py [--out OUT] [--limit 24] [--fvd] [--real DIR]

Writes OUT/synthetic/ and OUT/real/ (each a ``vbench-lite calibrate`` folder), prints the Markdown tables that
docs/metrics-validity.md carries, the overall-score check (clean first, strength-1 defects below it, each defect
ordered by strength) and the wall time. FVD needs the real I3D (``vbench-lite weights fetch i3d``); ``--fvd`` adds
it and its sample efficiency. The package never reads ../shared; this script may.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reports.calibration import calibration_html, calibration_markdown  # noqa: E402
from reports.leaderboard import build_leaderboard  # noqa: E402
from reports.tables import load_runs  # noqa: E402
from vbench_lite.calibrate import (  # noqa: E402
    CLEAN_RUN,
    CalibrationSettings,
    all_defects,
    run_calibration,
    run_name,
    strengths_of,
)
from vbench_lite.results import atomic_write_text  # noqa: E402

VIDEO_EXTENSIONS = {".mp4", ".avi", ".webm", ".mkv"}


def score_check(outcome, strengths) -> list[str]:
    """The issue's rule on the calibration runs; returns the violations (empty: passes)."""
    board = build_leaderboard(load_runs(list(outcome.runs.values())), anchor=outcome.anchor).set_index("run")
    score, bad = board["score"], []
    for d in sorted(set(outcome.summary["defect"])):
        levels = strengths_of(d, strengths)
        if score[run_name(d, max(levels))] >= score[CLEAN_RUN]:
            bad.append(f"{d} at {max(levels):g} not below clean")
        for weak, strong in itertools.pairwise(levels):
            if not score[run_name(d, strong)] < score[run_name(d, weak)]:
                bad.append(f"{d}: {strong:g} not below {weak:g}")
    print(board[["rank", "score", "mean_rank"]].sort_values("score", ascending=False).round(2).to_string())
    return bad


def real_folder(src: Path, dst: Path) -> Path:
    """The real clips as one folder of ``<name>/0.<ext>`` videos (the distorted carphone copy left out: it is the
    pristine one compressed, a defect of its own)."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.rglob("*")):
        if path.suffix.lower() in VIDEO_EXTENSIONS and "distorted" not in path.name:
            target = dst / f"{path.parent.name}-{path.stem}" / f"0{path.suffix.lower()}"
            target.parent.mkdir(exist_ok=True)
            if not target.exists():
                shutil.copyfile(path, target)
    return dst


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="calibration-bench")
    p.add_argument("--limit", type=int, default=24)
    p.add_argument("--strengths", default="0.25,0.5,1")
    p.add_argument("--fvd", action="store_true")
    p.add_argument("--real", default=str(ROOT.parent / "shared" / "data" / "real"))
    args = p.parse_args()
    strengths = tuple(float(s) for s in args.strengths.split(","))
    metrics = ("clip", "temporal") + (("fvd",) if args.fvd else ())
    out = Path(args.out)
    t0 = time.perf_counter()
    syn = run_calibration(out / "synthetic", CalibrationSettings(metrics=metrics, limit=args.limit,
                                                                 strengths=strengths, progress=False))
    t_syn = time.perf_counter() - t0
    atomic_write_text(out / "synthetic" / "calibration.html",
                      calibration_html(syn.table, syn.summary, efficiency=syn.efficiency))
    print(calibration_markdown(syn.summary, title=f"Synthetic suite ({args.limit} prompts)"))
    bad = score_check(syn, strengths)
    print("overall score check:", "PASS" if not bad else f"FAIL {bad}")
    if syn.efficiency is not None and not syn.efficiency.empty:
        print(syn.efficiency.to_string())
    print(f"synthetic: {len(syn.runs)} runs in {t_syn:.0f} s; defects {', '.join(all_defects(True))}")
    real = Path(args.real)
    if real.is_dir():
        t1 = time.perf_counter()
        videos = real_folder(real, out / "real-videos")
        rc = run_calibration(out / "real", CalibrationSettings(metrics=("temporal",), strengths=strengths,
                                                               max_side=128, progress=False), videos=videos)
        atomic_write_text(out / "real" / "calibration.html", calibration_html(rc.table, rc.summary))
        print(calibration_markdown(rc.summary, title=f"Real clips ({len(list(videos.iterdir()))} videos)"))
        print(f"real: {len(rc.runs)} runs in {time.perf_counter() - t1:.0f} s")
    else:
        print(f"no real clips at {real}: skipped")
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
