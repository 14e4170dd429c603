"""``vbench-lite generate``: make the clips of a suite with a generator (cached and resumable)."""

from __future__ import annotations

from vbench_lite.commands._common import add_generation_options, limit_suite, out_folder, report_failures


def register(sub) -> None:
    p = sub.add_parser("generate", help="generate clips for a prompt suite")
    add_generation_options(p)
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_generate)


def build_requested_generator(args):
    """``--generator`` with its ``--generator-args`` (unknown names and arguments are one-line usage errors)."""
    from vbench_lite.generators.base import build_generator, parse_generator_args

    return build_generator(args.generator, parse_generator_args(args.generator_args))


def do_generate(args, dist, *, report: bool = True, generator=None):
    """Generate the clips; ``report=False`` leaves printing the failures to the caller (``run`` prints them once,
    with the scoring failures); ``generator``: already built by the caller (``run`` builds it before the metrics)."""
    from vbench_lite.pipeline import GenerationSettings, generate, resolve_suite

    out = out_folder(args.out)
    suite = limit_suite(resolve_suite(args.suite, out), args.limit)
    generator = generator or build_requested_generator(args)
    settings = GenerationSettings(samples=args.samples, seed=args.seed, num_frames=args.frames, size=args.size,
                                  lossless=args.lossless)
    made, skipped, failures = generate(generator, suite, out, settings, dist=dist,
                                       progress=not args.no_progress)
    if dist.is_main:
        print(f"generated {made} clips, {skipped} already present, {len(failures)} failed -> {out / 'clips'}")
        if report:
            report_failures(failures)
    return suite, generator, failures


def run_generate(args) -> int:
    from vbench_lite.distributed import init_from_env

    dist = init_from_env()
    try:
        _, _, failures = do_generate(args, dist)
    finally:
        dist.close()
    return 1 if failures else 0
