"""``vbench-lite run``: generate + score + report, resumable end to end."""

from __future__ import annotations

import argparse

from vbench_lite.commands._common import add_generation_options, add_score_options


def register(sub) -> None:
    p = sub.add_parser("run", help="generate, score and report in one go")
    add_generation_options(p)
    add_score_options(p)
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--no-report", action="store_true", help="skip report.md / report.html")
    p.set_defaults(func=run_run)


def run_run(args: argparse.Namespace) -> int:
    from reports.run_report import write_run_reports
    from vbench_lite.commands._common import report_failures, validate_score_args
    from vbench_lite.commands.generate import build_requested_generator, do_generate
    from vbench_lite.commands.score import build_requested_metrics, do_score
    from vbench_lite.distributed import init_from_env

    validate_score_args(args)  # a typo in --metrics or --reference must not wait for the whole generation
    dist = init_from_env()  # first: it picks this rank's GPU, where the metrics' models then go
    try:
        generator = build_requested_generator(args)
        built = build_requested_metrics(args, dist)  # missing weights: said before generating, fatal when none builds
        # Generation failures are printed once: by score, which reports them with its own (prior_failures).
        _suite, generator, gen_failures = do_generate(args, dist, report=False, generator=generator)
        score_args = argparse.Namespace(**vars(args))
        score_args.run, score_args.videos = args.out, None
        score_args.suite = args.suite
        try:
            results = do_score(score_args, dist, generator_desc=generator.describe(), prior_failures=gen_failures,
                               built=built)
        except BaseException:
            if dist.is_main:  # scoring never got to report them: say what failed before the error
                report_failures(gen_failures)
            raise
        if results is not None and not args.no_report:
            write_run_reports(args.out)
    finally:
        dist.close()
    if results is None:
        return 0
    return 1 if results["failures"] else 0

