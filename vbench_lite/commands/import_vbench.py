"""``vbench-lite import-vbench RESULTS_DIR --out RUN``: a VBench evaluation as a run our leaderboard reads."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("import-vbench", help="read a VBench results folder (*_eval_results.json) into a run folder")
    p.add_argument("results", help="VBench's output folder (or one *_eval_results.json file)")
    p.add_argument("--out", required=True, help="run folder to write results.json into")
    p.add_argument("--suite", default="vbench",
                   help="the VBench full-info file the evaluation used (default: vbench, VBench's standard suite)")
    p.add_argument("--name", default=None, help="model name shown on the leaderboard (default: the folder name)")
    p.set_defaults(func=run_import_vbench)


def run_import_vbench(args) -> int:
    from vbench_lite.prompts import load_suite
    from vbench_lite.vbench_compat.runs import import_folder

    suite = load_suite(args.suite)
    results = import_folder(args.results, args.out, suite=suite, name=args.name)
    block = results["vbench"]
    for name, score in block["dimensions"].items():
        print(f"  {name:<24} {score:.4f}")
    print(block["aggregate"]["statement"])
    for key in ("total", "quality", "semantic"):
        value = block["aggregate"][key]
        if value is not None:
            print(f"  VBench {key:<9} {value:.4%}")
    print(f"imported {len(block['dimensions'])} dimensions -> {Path(args.out) / 'results.json'}")
    return 0
