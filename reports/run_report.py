"""Write the reports to disk: ``report.md`` + ``report.html`` of one run, or a comparison of several runs
(``leaderboard.csv``, ``report.md``, ``report.html``) for ``vbench-lite leaderboard`` and the demo."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from reports.html import comparison_html, run_html
from reports.leaderboard import build_leaderboard, write_leaderboard_csv
from reports.markdown import comparison_markdown, run_markdown
from reports.tables import Run, load_run, load_runs
from vbench_lite.results import atomic_write_text, one_line
from vbench_lite.types import VbenchError


def write_run_reports(run_dir: str | os.PathLike, *, max_clips: int = 120) -> dict[str, Path]:
    """``report.md`` and ``report.html`` inside ``run_dir`` (which holds ``results.json``); returns their paths
    keyed by file name."""
    run = load_run(run_dir)
    out = {"report.md": run.path / "report.md", "report.html": run.path / "report.html"}
    atomic_write_text(out["report.md"], run_markdown(run))
    atomic_write_text(out["report.html"], run_html(run, max_clips=max_clips))
    return out


def load_attention(attention: Any) -> tuple[pd.DataFrame | None, Path | None]:
    """An attention sweep given as a CSV path (``attention.csv`` from ``write_attention_report``), a DataFrame or
    row dicts -> ``(DataFrame, csv path or None)``."""
    if attention is None:
        return None, None
    if isinstance(attention, (str, os.PathLike)):
        path = Path(attention)
        if path.is_dir():
            path = path / "attention.csv"
        try:
            return pd.read_csv(path), path
        except FileNotFoundError as exc:
            raise VbenchError(f"{one_line(path)}: no such attention CSV") from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise VbenchError(f"{one_line(path)}: cannot read as CSV ({' '.join(str(exc).split())})") from exc
    if isinstance(attention, pd.DataFrame):
        return attention, None
    return pd.DataFrame(list(attention)), None


def comparison_outputs(run_dirs: Sequence[str | os.PathLike | Run], *, leaderboard_df: pd.DataFrame | None = None,
                       allow_mixed: bool = False, metrics: Sequence[str] | None = None, anchor: str | None = None
                       ) -> tuple[list[Run], pd.DataFrame]:
    runs = [r for r in run_dirs if isinstance(r, Run)]
    if len(runs) != len(run_dirs):
        runs = load_runs([r.path if isinstance(r, Run) else r for r in run_dirs])
    if leaderboard_df is None:
        leaderboard_df = build_leaderboard(runs, allow_mixed=allow_mixed, metrics=metrics, anchor=anchor)
    return runs, leaderboard_df


def write_comparison_report(run_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
                            leaderboard_df: pd.DataFrame | None = None, attention_csv: Any = None,
                            quality_cost_df: pd.DataFrame | None = None, title: str = "vbench-lite comparison",
                            notes: Sequence[str] = (), allow_mixed: bool = False,
                            metrics: Sequence[str] | None = None, max_prompts: int = 24,
                            calibration: dict[str, Any] | None = None) -> dict[str, Path]:
    """``leaderboard.csv``, ``report.md`` and ``report.html`` comparing ``run_dirs`` in ``out_dir``.

    ``attention_csv``: an attention sweep (CSV path, DataFrame or rows) whose plots and table become a section; by
    default ``out_dir/attention/attention.csv`` when it exists;
    ``quality_cost_df``: a ``reports.quality_cost.quality_cost_table`` frame for the quality-vs-cost
    section. Runs that are not comparable raise :class:`VbenchError` unless ``allow_mixed``.
    """
    runs, board = comparison_outputs(run_dirs, leaderboard_df=leaderboard_df, allow_mixed=allow_mixed,
                                     metrics=metrics)
    out = Path(out_dir)
    if attention_csv is None and (out / "attention" / "attention.csv").exists():
        attention_csv = out / "attention" / "attention.csv"  # the demo folder's own sweep
    attention, attention_path = load_attention(attention_csv)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"leaderboard.csv": out / "leaderboard.csv", "report.md": out / "report.md",
             "report.html": out / "report.html"}
    write_leaderboard_csv(board, paths["leaderboard.csv"])
    atomic_write_text(paths["report.md"], comparison_markdown(runs, board, title=title, attention=attention,
                                                              quality_cost=quality_cost_df, notes=notes))
    atomic_write_text(paths["report.html"], comparison_html(runs, board, title=title, attention=attention,
                                                            attention_csv=attention_path,
                                                            quality_cost=quality_cost_df, notes=notes,
                                                            max_prompts=max_prompts, calibration=calibration))
    return paths


__all__ = ["comparison_outputs", "load_attention", "write_comparison_report", "write_run_reports"]
