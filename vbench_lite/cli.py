"""The ``vbench-lite`` console script (also ``python -m vbench_lite``).

Exit codes: 0 success, 1 regression found (check) or some inputs failed (score), 2 usage or unusable input.
Errors reach the user as one line on stderr, never as a traceback (set ``VBENCH_LITE_DEBUG=1`` to see it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from vbench_lite import __version__
from vbench_lite.commands import COMMAND_MODULES
from vbench_lite.types import VbenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vbench-lite",
        description="Evaluate and benchmark generated video: CLIP similarity, FVD/KVD, temporal consistency "
        "and attention cost.",
    )
    parser.add_argument("--version", action="version", version=f"vbench-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"vbench_lite.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except VbenchError as exc:
        print(f"vbench-lite: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vbench-lite: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one line, unless debugging
        if os.environ.get("VBENCH_LITE_DEBUG"):
            raise
        print(f"vbench-lite: internal error: {type(exc).__name__}: {exc} (set VBENCH_LITE_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
