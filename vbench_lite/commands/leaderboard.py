"""``vbench-lite leaderboard``: rank runs into a CSV, with optional Markdown and single-file HTML reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("leaderboard", help="rank runs: leaderboard CSV, Markdown and HTML reports",
                       description="One row per run: each metric with its 95% CI and rank (direction-aware), "
                       "a mean rank overall, per-dimension values. Runs made with different suites, FVD protocols "
                       "or weights, or that scored no prompt in common, are refused unless --allow-mixed; runs that "
                       "share only some prompts are ranked with a note saying how many they share.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (or their results.json)")
    p.add_argument("--out", required=True, help="leaderboard CSV to write")
    p.add_argument("--html", default=None, help="also write a single-file HTML report here")
    p.add_argument("--md", default=None, help="also write a Markdown report here")
    p.add_argument("--allow-mixed", action="store_true",
                   help="rank runs even if their suites, FVD protocols or weights differ or they share no prompts "
                   "(noted in the reports)")
    p.add_argument("--metrics", default=None, help="comma-separated metrics to rank on (default: all)")
    p.add_argument("--anchor", default=None, metavar="RUN",
                   help="the reference videos' run (one of the RUNs): the overall score measures every other run "
                   "against it and it takes no rank (see docs/reports.md)")
    p.add_argument("--title", default="vbench-lite leaderboard", help="report title")
    p.add_argument("--attention", default=None, metavar="CSV",
                   help="attention sweep (attention.csv of `vbench-lite attention --out`) to add to the reports")
    p.add_argument("--max-prompts", type=int, default=24, help="prompts with filmstrips in the HTML report")
    p.set_defaults(func=run_leaderboard)


def run_leaderboard(args: argparse.Namespace) -> int:
    from reports.html import comparison_html
    from reports.leaderboard import write_leaderboard_csv
    from reports.markdown import comparison_markdown, leaderboard_markdown
    from reports.run_report import comparison_outputs, load_attention
    from reports.text import TOY_BANNER
    from vbench_lite.results import atomic_write_text

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    runs, board = comparison_outputs(args.runs, allow_mixed=args.allow_mixed, metrics=metrics, anchor=args.anchor)
    attention, attention_path = load_attention(args.attention)
    write_leaderboard_csv(board, Path(args.out))
    written = [args.out]
    if args.md:
        atomic_write_text(args.md, comparison_markdown(runs, board, title=args.title, attention=attention))
        written.append(args.md)
    if args.html:
        atomic_write_text(args.html, comparison_html(runs, board, title=args.title, attention=attention,
                                                     attention_csv=attention_path, max_prompts=args.max_prompts))
        written.append(args.html)
    print(leaderboard_markdown(board, intervals=False))  # the terminal view; the files carry the intervals
    if board.attrs.get("toy_descriptions"):
        print(f"vbench-lite: note: {TOY_BANNER}: {'; '.join(board.attrs['toy_descriptions'])}", file=sys.stderr)
    for note in board.attrs.get("notes", []):
        print(f"vbench-lite: note: {note}", file=sys.stderr)
    print(f"wrote {', '.join(map(str, written))}", file=sys.stderr)
    return 0
