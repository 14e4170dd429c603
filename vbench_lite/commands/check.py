"""``vbench-lite check``: the CI regression gate (exit 1 when a metric got worse beyond its tolerance)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "check", help="compare results with a baseline; exit 1 on a regression",
        description="Exit 1 when a metric is worse than the baseline by more than its tolerance and (CI-aware, the "
        "default) the new run's 95% CI lies entirely on the worse side of the baseline value; exit 0 otherwise, "
        "2 on unusable input. Direction comes from higher_is_better. Prints a Markdown table, also appended to "
        "$GITHUB_STEP_SUMMARY when set.")
    p.add_argument("results", metavar="RESULTS.json", help="the new run's results.json (or its run folder)")
    p.add_argument("--baseline", required=True, metavar="BASELINE.json", help="the baseline results.json")
    p.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE[%]",
                   help="allowed worsening: absolute (fvd=5) or relative to the baseline (clip_similarity=2%%); "
                   "default=VALUE sets it for every other metric (default 0); repeatable or comma-separated")
    p.add_argument("--relative", action="store_true", help="read bare tolerance numbers as percentages")
    ci = p.add_mutually_exclusive_group()
    ci.add_argument("--ci-aware", dest="ci_aware", action="store_true", default=True,
                    help="a drop only counts when the new 95%% CI excludes the baseline value (default)")
    ci.add_argument("--no-ci-aware", dest="ci_aware", action="store_false",
                    help="judge on the value alone")
    p.add_argument("--allow-missing", action="store_true",
                   help="a metric of the baseline missing in the new run is not a failure")
    p.add_argument("--allow-mixed", action="store_true",
                   help="compare even if suites, FVD protocols or weights differ or the runs share no prompts")
    p.add_argument("--metrics", default=None, help="comma-separated metrics to gate (default: all)")
    p.add_argument("--summary-md", default=None, metavar="FILE", help="also write the Markdown summary here")
    p.set_defaults(func=run_check_command)


def run_check_command(args: argparse.Namespace) -> int:
    from reports.check import run_check

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    return run_check(args.results, args.baseline, tolerances=args.tolerance, relative=args.relative,
                     ci_aware=args.ci_aware, allow_missing=args.allow_missing, allow_mixed=args.allow_mixed,
                     metrics=metrics, summary_md=args.summary_md)
