"""Run folders and ``results.json`` files as pandas tables.

A :class:`Run` is one scored run: its name (the folder name, or the generator name and arguments when folder names
collide), its folder and its ``results.json`` dict. The tables are long ("tidy") frames that the leaderboard,
the Markdown and the HTML reports share:

- :func:`metric_table`: one row per (run, metric) with ``value``, ``ci95_low``, ``ci95_high``, ``n``,
  ``higher_is_better``.
- :func:`dimension_table`: one row per (run, metric, dimension) from ``metrics[m]["by_dimension"]``
  (or ``by_category``).
- :func:`per_video_table`: ``per_video.csv`` of one run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vbench_lite.results import load_results, one_line
from vbench_lite.types import VbenchError

METRIC_COLUMNS = ["run", "metric", "value", "ci95_low", "ci95_high", "n", "higher_is_better"]
GROUP_COLUMNS = ["run", "metric", "group", "value", "ci95_low", "ci95_high", "n", "higher_is_better"]


@dataclass
class Run:
    """One scored run: a name for tables, its folder and its ``results.json`` content."""

    name: str
    path: Path
    results: dict[str, Any]
    results_path: Path
    _per_video: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def generator(self) -> str:
        return generator_label(self.results)

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return self.results.get("metrics") or {}

    @property
    def toy_models(self) -> dict[str, str]:
        """``{metric: description}`` of the metrics this run computed with a toy model (``toy_model``)."""
        return {m: str(e["toy_model"]) for m, e in self.metrics.items() if isinstance(e, dict) and e.get("toy_model")}

    @property
    def toy_descriptions(self) -> list[str]:
        """Every toy model behind this run's numbers, once each: the metrics' ``toy_model`` and the top-level
        ``toy_models`` list (strings, or objects shown as ``key: value`` pairs)."""
        found = list(self.toy_models.values())
        for item in self.results.get("toy_models") or []:
            found.append(item if isinstance(item, str) else ", ".join(f"{k}: {v}" for k, v in item.items()))
        return list(dict.fromkeys(" ".join(str(t).split()) for t in found if str(t).strip()))

    @property
    def metric_notes(self) -> list[str]:
        """Each metric's notes as ``"metric: note"`` (which prompts were not applicable and why, small-sample
        warnings, toy-model remarks), the metrics that share a note named together."""
        by_note: dict[str, list[str]] = {}
        for m, e in self.metrics.items():
            for note in (e.get("notes") or []) if isinstance(e, dict) else []:
                by_note.setdefault(" ".join(str(note).split()), []).append(m)
        return [f"{', '.join(names)}: {note}" for note, names in by_note.items()]

    @property
    def prompt_ids(self) -> frozenset[str] | None:
        """The prompts this run scored: ``prompt_ids`` of ``results.json`` when the pipeline recorded them, else the
        ``prompt_id`` column of ``per_video.csv`` beside it; ``None`` when neither says."""
        recorded = self.results.get("prompt_ids")
        if isinstance(recorded, list):
            return frozenset(map(str, recorded))
        per_video = self.per_video
        if per_video is None or "prompt_id" not in per_video.columns:
            return None
        return frozenset(per_video["prompt_id"].astype(str))

    @property
    def per_video(self) -> pd.DataFrame | None:
        """``per_video.csv`` beside ``results.json`` (``None`` when there is none)."""
        if self._per_video is None:
            self._per_video = per_video_table(self.path)
        return self._per_video


def generator_label(results: dict[str, Any]) -> str:
    """``synthetic(defect=noise, strength=1.0)``: the generator name and its recorded arguments."""
    gen = results.get("generator") or {}
    name = str(gen.get("name") or "unknown")
    args = gen.get("args") or {}
    if not args:
        return name
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"


def load_run(path: str | os.PathLike, name: str | None = None) -> Run:
    """A run folder or a ``results.json`` file; a bad one raises :class:`VbenchError` naming the file."""
    path = Path(path)
    if path.is_dir():
        results_path = path / "results.json"
    elif path.exists():
        results_path = path
    else:
        raise VbenchError(f"{one_line(path)}: no such run folder or results file")
    results = load_results(results_path)
    folder = results_path.parent
    return Run(name=name or folder.resolve().name, path=folder, results=results, results_path=results_path)


def load_runs(paths: Iterable[str | os.PathLike]) -> list[Run]:
    """Runs with unique names: folder names, else generator labels, else folder names numbered."""
    runs = [load_run(p) for p in paths]
    if not runs:
        raise VbenchError("no runs given")
    _make_names_unique(runs)
    return runs


def _make_names_unique(runs: Sequence[Run]) -> None:
    def duplicated() -> set[str]:
        names = [r.name for r in runs]
        return {n for n in names if names.count(n) > 1}

    clash = duplicated()
    for run in runs:
        if run.name in clash:
            run.name = run.generator
    clash = duplicated()
    if clash:
        seen: dict[str, int] = {}
        for run in runs:
            if run.name in clash:
                seen[run.name] = seen.get(run.name, 0) + 1
                run.name = f"{run.name} #{seen[run.name]}"


def _num(x: Any) -> float:
    """A JSON number or null as a float (NaN for null or junk)."""
    try:
        out = float(x)
    except (TypeError, ValueError):
        return math.nan
    return out


def _interval(entry: dict[str, Any]) -> tuple[float, float]:
    ci = entry.get("ci95")
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        return _num(ci[0]), _num(ci[1])
    return math.nan, math.nan


def metric_names(runs: Sequence[Run]) -> list[str]:
    """Every metric of the runs, in order of first appearance."""
    return list(dict.fromkeys(m for r in runs for m in r.metrics))


def metric_directions(runs: Sequence[Run]) -> dict[str, bool]:
    """``higher_is_better`` of each metric, as the first run that has it says."""
    out: dict[str, bool] = {}
    for run in runs:
        for name, entry in run.metrics.items():
            if name not in out and isinstance(entry, dict) and "higher_is_better" in entry:
                out[name] = bool(entry["higher_is_better"])
    return out


def metric_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per (run, metric): value, ci95_low, ci95_high, n, higher_is_better."""
    rows = []
    for run in runs:
        for name, entry in run.metrics.items():
            if not isinstance(entry, dict):
                continue
            lo, hi = _interval(entry)
            rows.append({"run": run.name, "metric": name, "value": _num(entry.get("value")), "ci95_low": lo,
                         "ci95_high": hi, "n": int(entry.get("n") or 0),
                         "higher_is_better": bool(entry.get("higher_is_better", True))})
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def dimension_table(runs: Sequence[Run], by: str = "by_dimension") -> pd.DataFrame:
    """One row per (run, metric, group) from ``metrics[m][by]`` (``by_dimension`` or ``by_category``)."""
    rows = []
    for run in runs:
        for name, entry in run.metrics.items():
            if not isinstance(entry, dict):
                continue
            for group, sub in (entry.get(by) or {}).items():
                if not isinstance(sub, dict):
                    continue
                lo, hi = _interval(sub)
                rows.append({"run": run.name, "metric": name, "group": str(group), "value": _num(sub.get("value")),
                             "ci95_low": lo, "ci95_high": hi, "n": int(sub.get("n") or 0),
                             "higher_is_better": bool(entry.get("higher_is_better", True))})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def per_video_table(run_dir: str | os.PathLike) -> pd.DataFrame | None:
    """``per_video.csv`` of a run (text columns as strings, empty errors as ""); ``None`` when absent."""
    path = Path(run_dir) / "per_video.csv"
    if not path.exists():
        return None
    try:
        df = pd.read_csv(path, dtype={"prompt_id": str, "text": str, "category": str, "dimensions": str,
                                      "path": str, "status": str, "error": str}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise VbenchError(f"{one_line(path)}: cannot read as CSV ({' '.join(str(exc).split())})") from exc
    for col in value_columns(df):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


#: Columns of ``per_video.csv`` that describe the clip; every other column is a metric value.
PER_VIDEO_INFO = ("prompt_id", "sample", "category", "dimensions", "text", "path", "status", "error", "notes")


def value_columns(per_video: pd.DataFrame) -> list[str]:
    return [c for c in per_video.columns if c not in PER_VIDEO_INFO]


__all__ = [
    "GROUP_COLUMNS", "METRIC_COLUMNS", "PER_VIDEO_INFO", "Run", "dimension_table", "generator_label", "load_run",
    "load_runs", "metric_directions", "metric_names", "metric_table", "per_video_table", "value_columns",
]
