"""The regression gate: compare a run's ``results.json`` with a baseline and decide pass or fail.

For each metric of the baseline, with ``b`` the baseline value, ``v`` the new value, ``[lo, hi]`` the new run's
``ci95`` and ``t`` the metric's tolerance:

- ``worsening = b - v`` when higher is better, ``v - b`` when lower is better (so a lower FVD is an improvement).
- The tolerance is absolute (``fvd=5``), or relative with a ``%`` suffix (``clip_similarity=2%`` means
  ``t = 0.02 * |b|``). ``--relative`` reads bare numbers as percentages too. A ``default=...`` entry applies to
  metrics without their own tolerance; without one the tolerance is 0.
- A metric **regresses** when ``worsening > t`` and, with the CI-aware rule (on by default), the new run's interval
  lies entirely on the worse side of the baseline value: ``hi < b`` (higher is better) or ``lo > b`` (lower is
  better). A metric without an interval (fewer than 2 videos, or set-level like KVD) is judged on the value alone.
  Without the CI-aware rule (``ci_aware=False``) ``worsening > t`` alone is a regression.
- A metric of the baseline that the new run lacks (or has no value for) is a failure unless ``allow_missing``;
  a metric only in the new run is listed as ``new`` and never fails; a baseline without a value is not gated.

The two files must be comparable as for the leaderboard (same suite, FVD protocol, weights, directions, and at least
one scored prompt in common) unless ``allow_mixed``; a partial prompt overlap is reported in the notes.

The outcome prints as a Markdown table (for a CI job summary); :func:`run_check` is the whole command.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbench_lite.results import is_json_number, one_line
from vbench_lite.types import VbenchError

#: Status of one metric row; FAILING ones make the check fail.
REGRESSED, MISSING, NO_VALUE = "regressed", "missing", "no value"
OK, IMPROVED, WITHIN_TOL, WITHIN_CI, NEW, UNGATED, MISSING_ALLOWED = (
    "ok", "improved", "within tolerance", "within CI", "new", "not gated", "missing (allowed)")
FAILING = {REGRESSED, MISSING, NO_VALUE}


@dataclass(frozen=True)
class Tolerance:
    amount: float
    relative: bool = False  # amount is a fraction of |baseline|

    def absolute(self, baseline: float) -> float:
        return self.amount * abs(baseline) if self.relative else self.amount

    def __str__(self) -> str:
        return f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"


def parse_tolerances(items: Sequence[str] | None, relative: bool = False) -> dict[str, Tolerance]:
    """``["fvd=5", "clip_similarity=2%"]`` -> tolerances; ``default=`` sets the fallback. Bad entries raise."""
    out: dict[str, Tolerance] = {}
    for item in items or []:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not sep or not name or not text:
                raise VbenchError(f"--tolerance: expected metric=value or metric=value%, got {part!r}")
            is_pct = text.endswith("%") or relative
            try:
                amount = float(text.rstrip("%").strip())
            except ValueError as exc:
                raise VbenchError(f"--tolerance: {text!r} is not a number (in {part!r})") from exc
            if not math.isfinite(amount) or amount < 0:
                raise VbenchError(f"--tolerance: {part!r} must be a finite number >= 0")
            out[name] = Tolerance(amount / 100.0 if is_pct else amount, is_pct)
    return out


@dataclass
class MetricCheck:
    metric: str
    status: str
    higher_is_better: bool | None = None
    baseline: float | None = None
    value: float | None = None
    ci95: tuple[float, float] | None = None
    tolerance: Tolerance | None = None
    worsening: float | None = None
    reason: str = ""
    toy_model: str | None = None  # the toy model behind either number, when one is

    @property
    def failed(self) -> bool:
        return self.status in FAILING


@dataclass
class CheckOutcome:
    rows: list[MetricCheck]
    new_path: str = ""
    baseline_path: str = ""
    ci_aware: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[MetricCheck]:
        return [r for r in self.rows if r.failed]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _value(entry: Any) -> float | None:
    """The value of a metric entry; only a real number counts (not ``"0.5"``, not ``true``: see
    :func:`vbench_lite.results.validate_results`, which refuses such files before they get here)."""
    if not isinstance(entry, Mapping):
        return None
    v = entry.get("value")
    return float(v) if is_json_number(v) else None


def _ci(entry: Mapping[str, Any]) -> tuple[float, float] | None:
    ci = entry.get("ci95")
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or not all(is_json_number(b) for b in ci):
        return None
    return float(ci[0]), float(ci[1])


def check_metric(name: str, new_entry: Any, base_entry: Any, tolerance: Tolerance, *, ci_aware: bool = True,
                 allow_missing: bool = False) -> MetricCheck:
    """The verdict on one metric (see the module docstring for the rule)."""
    base_value = _value(base_entry)
    higher = None
    for entry in (base_entry, new_entry):
        if isinstance(entry, Mapping) and "higher_is_better" in entry:
            higher = bool(entry["higher_is_better"])
            break
    toy = next((e["toy_model"] for e in (new_entry, base_entry) if isinstance(e, Mapping) and e.get("toy_model")),
               None)
    row = MetricCheck(name, OK, higher, base_value, tolerance=tolerance, toy_model=toy)
    if base_entry is None:
        row.value = _value(new_entry)
        row.status, row.reason = NEW, "not in the baseline"
        return row
    if new_entry is None:
        row.status = MISSING_ALLOWED if allow_missing else MISSING
        row.reason = "not in the new run"
        return row
    row.value, row.ci95 = _value(new_entry), _ci(new_entry)
    if base_value is None:
        row.status, row.reason = UNGATED, "the baseline has no value"
        return row
    if row.value is None:
        row.status = MISSING_ALLOWED if allow_missing else NO_VALUE
        row.reason = "the new run has no value"
        return row
    if higher is None:
        raise VbenchError(f"{one_line(name)}: neither file says whether higher is better (no 'higher_is_better')")
    row.worsening = (base_value - row.value) if higher else (row.value - base_value)
    allowed = tolerance.absolute(base_value)
    if row.worsening <= 0:
        row.status = IMPROVED if -row.worsening > allowed else OK
        return row
    if row.worsening <= allowed:
        row.status, row.reason = WITHIN_TOL, f"worse by {_fmt(row.worsening)} <= {_fmt(allowed)}"
        return row
    if ci_aware and row.ci95 is not None:
        lo, hi = row.ci95
        clear = hi < base_value if higher else lo > base_value
        if not clear:
            row.status = WITHIN_CI
            row.reason = f"worse by {_fmt(row.worsening)} > {_fmt(allowed)} but the 95% CI holds the baseline"
            return row
    row.status = REGRESSED
    row.reason = f"worse by {_fmt(row.worsening)} > {_fmt(allowed)}" + (
        ", baseline outside the 95% CI" if ci_aware and row.ci95 is not None else "")
    return row


def compare_results(new: Mapping[str, Any], baseline: Mapping[str, Any], tolerances: Mapping[str, Tolerance] | None
                    = None, *, ci_aware: bool = True, allow_missing: bool = False,
                    metrics: Sequence[str] | None = None) -> CheckOutcome:
    """Check every metric of ``baseline`` (or only ``metrics``) in ``new``; metrics only in ``new`` are listed."""
    tolerances = dict(tolerances or {})
    default = tolerances.pop("default", Tolerance(0.0))
    new_metrics = new.get("metrics") or {}
    base_metrics = baseline.get("metrics") or {}
    names = list(metrics) if metrics else list(dict.fromkeys([*base_metrics, *new_metrics]))
    unknown = [m for m in [*tolerances, *(metrics or [])] if m not in base_metrics and m not in new_metrics]
    if unknown:
        raise VbenchError(f"no metric {', '.join(map(repr, dict.fromkeys(unknown)))} in either file "
                          f"(metrics: {one_line(', '.join(dict.fromkeys([*base_metrics, *new_metrics]))) or 'none'})")
    rows = [check_metric(m, new_metrics.get(m), base_metrics.get(m), tolerances.get(m, default), ci_aware=ci_aware,
                         allow_missing=allow_missing) for m in names]
    return CheckOutcome(rows, ci_aware=ci_aware)


# -- presentation -------------------------------------------------------------------------------------------------
def _fmt(x: float | None) -> str:
    from reports.text import fmt_number

    return fmt_number(x)


_ICONS = {OK: "✅", IMPROVED: "✅", WITHIN_TOL: "✅", WITHIN_CI: "⚠️", NEW: "➕", UNGATED: "➖",
          MISSING_ALLOWED: "➖", REGRESSED: "❌", MISSING: "❌", NO_VALUE: "❌"}


def check_markdown(outcome: CheckOutcome) -> str:
    """The verdict and one table row per metric, as Markdown for a CI job summary."""
    from reports.text import TOY_MARK, fmt_interval, markdown_table, md_text, toy_banner_lines

    failures = outcome.failures
    verdict = ("**PASS**: no metric regressed beyond its tolerance" if outcome.passed else
               f"**FAIL**: {len(failures)} metric{'s' if len(failures) != 1 else ''} "
               f"({', '.join(r.metric for r in failures)})")
    header = ["metric", "better", "baseline", "new [95% CI]", "change", "tolerance", "status"]
    cells = []
    for r in outcome.rows:
        change = "" if r.value is None or r.baseline is None else _signed(r.value - r.baseline)
        if change and r.baseline:
            change += f" ({(r.value - r.baseline) / abs(r.baseline) * 100:+.1f}%)"
        new = "" if r.value is None else fmt_interval(r.value, *(r.ci95 or (None, None)))
        better = "" if r.higher_is_better is None else ("higher" if r.higher_is_better else "lower")
        status = f"{_ICONS.get(r.status, '')} {r.status}".strip() + (f": {r.reason}" if r.reason else "")
        name = f"{r.metric} {TOY_MARK}" if r.toy_model else r.metric
        cells.append([name, better, _fmt(r.baseline) if r.baseline is not None else "", new, change,
                      str(r.tolerance) if r.tolerance else "", status])
    parts = ["### vbench-lite check", ""]
    parts += toy_banner_lines(list(dict.fromkeys(r.toy_model for r in outcome.rows if r.toy_model)))
    if outcome.new_path or outcome.baseline_path:
        parts += [f"{md_text(outcome.new_path)} against baseline {md_text(outcome.baseline_path)}", ""]
    parts += [verdict, "", markdown_table(header, cells, ["l", "l", "r", "r", "r", "r", "l"]), ""]
    rule = ("a metric regresses when it is worse than the baseline by more than its tolerance **and** its 95% CI "
            "excludes the baseline value" if outcome.ci_aware else
            "a metric regresses when it is worse than the baseline by more than its tolerance")
    parts += [f"Rule: {rule}.", ""]
    parts += [f"- {md_text(note)}" for note in outcome.notes]
    return "\n".join(parts).rstrip() + "\n"


def _signed(x: float) -> str:
    return "0" if x == 0 else ("+" if x > 0 else "-") + _fmt(abs(x))


# -- the command ---------------------------------------------------------------------------------------------------
def run_check(results_path: str | os.PathLike, baseline_path: str | os.PathLike, *,
              tolerances: Sequence[str] | None = None, relative: bool = False, ci_aware: bool = True,
              allow_missing: bool = False, allow_mixed: bool = False, metrics: Sequence[str] | None = None,
              summary_md: str | os.PathLike | None = None, out=None) -> int:
    """``vbench-lite check``: print the Markdown verdict, write/append summaries, return the exit code (0 or 1)."""
    import sys

    from reports.leaderboard import comparability_issues, prompt_overlap_note
    from reports.tables import load_run

    out = out or sys.stdout
    new_run, base_run = load_run(results_path), load_run(baseline_path)
    new_run.name, base_run.name = "new", "baseline"
    issues = comparability_issues([base_run, new_run])
    if issues and not allow_mixed:
        more = f" (and {len(issues) - 1} more differences)" if len(issues) > 1 else ""
        raise VbenchError(f"{issues[0]}{more}; the comparison is meaningless (use --allow-mixed to check anyway)")
    outcome = compare_results(new_run.results, base_run.results, parse_tolerances(tolerances, relative),
                              ci_aware=ci_aware, allow_missing=allow_missing, metrics=metrics)
    outcome.new_path, outcome.baseline_path = str(new_run.results_path), str(base_run.results_path)
    outcome.notes += [f"mixed: {i}" for i in issues]
    overlap = prompt_overlap_note([base_run, new_run])
    if overlap:
        outcome.notes.append(f"prompts: {overlap}")
    for note in outcome.notes:
        print(f"vbench-lite: note: {note}", file=sys.stderr)
    text = check_markdown(outcome)
    out.write(text)
    if summary_md:
        from vbench_lite.results import atomic_write_text

        atomic_write_text(summary_md, text)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(Path(step_summary), "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return outcome.exit_code


__all__ = [
    "FAILING", "CheckOutcome", "MetricCheck", "Tolerance", "check_markdown", "check_metric", "compare_results",
    "parse_tolerances", "run_check",
]
