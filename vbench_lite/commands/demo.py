"""``vbench-lite demo``: the offline main job (see :mod:`vbench_lite.demo`)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="the offline demo: generators, all metrics, attention, leaderboard, report")
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out)")
    p.add_argument("--quick", action="store_true", help="a smaller demo (few prompts, no DiT) for smoke tests")
    p.add_argument("--no-dit", action="store_true", help="skip the reference DiT runs")
    p.add_argument("--no-attention", action="store_true", help="skip the attention measurement")
    from vbench_lite.commands._common import add_device_option

    add_device_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import replace

    from vbench_lite.demo import DemoSettings, quick_settings, run_demo

    settings = quick_settings() if args.quick else DemoSettings()
    if args.no_dit:
        settings = replace(settings, with_dit=False)
    if args.no_attention:
        settings = replace(settings, with_attention=False)
    if args.device:
        from vbench_lite.commands._common import check_device

        check_device(args.device)
        settings = replace(settings, device=args.device)
    outcome = run_demo(args.out, settings)
    return 0 if outcome.runs else 2
