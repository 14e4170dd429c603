"""``vbench-lite prompts``: show a prompt suite as a table, CSV or JSON, or list the builtin suites."""

from __future__ import annotations

import csv
import io
import json
import sys

FORMATS = ("table", "csv", "json")
CSV_COLUMNS = ("id", "category", "dimensions", "text", "fields")


def register(sub) -> None:
    p = sub.add_parser("prompts", help="show a prompt suite (table, csv or json) or list the builtin suites")
    p.add_argument("--suite", default="standard", help="builtin suite name or a .json/.txt/.csv file "
                   "(default: standard)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--category", default=None, help="only prompts of this category")
    p.add_argument("--dimension", default=None, help="only prompts tagged with this dimension")
    p.add_argument("--list", action="store_true", help="list the builtin suites and exit")
    p.set_defaults(func=run_prompts)


def run_prompts(args, out=None) -> int:
    from vbench_lite.prompts import list_suites, load_suite

    out = out or sys.stdout
    if args.list:
        out.write(suites_listing([load_suite(name) for name in list_suites()]))
        return 0
    suite = load_suite(args.suite)
    _check_filter(suite, args.category, args.dimension)
    shown = suite.select(category=args.category, dimension=args.dimension)
    if args.format == "json":
        data = shown.to_dict()
        if shown is not suite and (args.category or args.dimension):
            data["selected_from"] = suite.describe()
        out.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        out.write(suite_csv(shown))
    else:
        out.write(suite_table(shown, parent=suite if (args.category or args.dimension) else None))
    return 0


def _check_filter(suite, category: str | None, dimension: str | None) -> None:
    from vbench_lite.types import VbenchError

    categories = sorted({p.category for p in suite})
    dimensions = sorted({d for p in suite for d in p.dimensions})
    if category is not None and category not in categories:
        raise VbenchError(f"--category {category!r}: not a category of suite {suite.name!r} "
                          f"(categories: {', '.join(categories)})")
    if dimension is not None and dimension not in dimensions:
        raise VbenchError(f"--dimension {dimension!r}: no prompt of suite {suite.name!r} has it "
                          f"(dimensions: {', '.join(dimensions)})")


def suite_csv(suite) -> str:
    """One row a prompt; ``dimensions`` joined by ';', ``fields`` as JSON (``import_csv`` reads it back)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in suite:
        writer.writerow([p.id, p.category, ";".join(p.dimensions), p.text,
                         json.dumps(p.fields, ensure_ascii=False, sort_keys=True) if p.fields else ""])
    return buf.getvalue()


def _aligned(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the last column is left ragged."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "".join("  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]).rstrip() + "\n" for r in rows)


def suite_table(suite, parent=None) -> str:
    header = f"suite {suite.name} version {suite.version} sha256 {suite.sha256} prompts {len(suite)}\n"
    if parent is not None:
        header += (f"selected from {parent.name} version {parent.version} sha256 {parent.sha256} "
                   f"prompts {len(parent)}\n")
    if not len(suite):
        return header + "(no prompts)\n"
    rows = [["id", "category", "dimensions", "text"]]
    rows += [[p.id, p.category, ",".join(p.dimensions), p.text] for p in suite]
    return header + _aligned(rows)


def suites_listing(suites) -> str:
    rows = [["name", "version", "prompts", "sha256", "description"]]
    rows += [[s.name, s.version, str(len(s)), s.sha256[:12], s.description] for s in suites]
    return _aligned(rows)
