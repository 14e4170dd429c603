"""Where vbench-lite keeps things: a user cache for converted weights and reference statistics.

``VBENCH_LITE_CACHE`` overrides the cache folder (CI and multi-node runs point it at a shared disk).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("VBENCH_LITE_CACHE")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "vbench-lite"
    path.mkdir(parents=True, exist_ok=True)
    return path


def weights_dir() -> Path:
    path = cache_dir() / "weights"
    path.mkdir(parents=True, exist_ok=True)
    return path
