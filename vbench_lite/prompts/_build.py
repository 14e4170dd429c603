"""Writing a builtin suite file from a build module, refusing to change prompts without a new version."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vbench_lite.prompts.library import builtin_suite_path
from vbench_lite.prompts.suite import Suite, write_suite
from vbench_lite.types import Prompt


def _shipped(path: Path) -> dict | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def build_main(name: str, description: str, categories: list[str], dimension_meanings: dict[str, str],
               make_prompts, argv: list[str] | None = None) -> int:
    """Command line of ``python -m vbench_lite.prompts.build_<name>``: rebuild ``suites/<name>.json``.

    Same prompts: the file is rewritten with the version it has. Changed prompts: ``--version`` must name a new
    version, so that a released (name, version) always means the same sha256.
    """
    parser = argparse.ArgumentParser(prog=f"python -m vbench_lite.prompts.build_{name}",
                                     description=f"Write the builtin '{name}' suite file.")
    parser.add_argument("--version", help="version of the new file (required when the prompts change)")
    parser.add_argument("--out", type=Path, default=builtin_suite_path(name), help="where to write it")
    parser.add_argument("--check", action="store_true", help="only check that the shipped file is up to date")
    args = parser.parse_args(argv)

    prompts: list[Prompt] = make_prompts()
    shipped = _shipped(args.out)
    version = args.version or (shipped or {}).get("version") or "1.0.0"
    suite = Suite(name=name, version=version, prompts=prompts, description=description, source=str(args.out),
                  dimension_meanings=dimension_meanings, categories=categories)
    unchanged = shipped is not None and shipped.get("sha256") == suite.sha256
    if args.check:
        up_to_date = unchanged and shipped == suite.to_dict()
        print(f"{args.out}: {'up to date' if up_to_date else 'OUT OF DATE'} ({len(suite)} prompts, {suite.sha256})")
        return 0 if up_to_date else 1
    if shipped is not None and not unchanged and version == shipped.get("version"):
        print(f"{args.out}: the prompts changed (sha256 {shipped.get('sha256')} -> {suite.sha256}); "
              f"pass --version with a new version (now {version})", file=sys.stderr)
        return 2
    write_suite(suite, args.out)
    print(f"wrote {args.out}: {name} {version}, {len(suite)} prompts, sha256 {suite.sha256}")
    return 0
