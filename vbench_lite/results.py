"""The results schema, provenance and atomic writing.

``results.json`` (schema ``vbench-lite/results@1``) carries ``suite`` (name, version, sha256), ``generator`` (name,
args), ``metrics`` (per metric: value, ci95, n, higher_is_better, settings), ``provenance`` (package versions, git
commit, weights sha256, protocol hashes, seed, started/finished times), plus ``failures`` (inputs that could not be
scored, each with a one-line reason) and ``counts``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from vbench_lite.types import VbenchError

SCHEMA = "vbench-lite/results@1"
_PACKAGES = ("vbench-lite", "torch", "torchvision", "open_clip_torch", "torchmetrics", "numpy", "scipy", "pandas",
             "av", "decord", "opencv-python-headless", "safetensors")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for sharing, like any other file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating,)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean_floats(obj: Any) -> Any:
    """NaN and inf are not JSON: write them as null."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_floats(v) for v in obj]
    return obj


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    text = json.dumps(_clean_floats(data), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VbenchError(f"{path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise VbenchError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """Load a ``results.json`` (or a run folder holding one) and check its schema."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise VbenchError(f"{path}: not a vbench-lite results file (schema {data.get('schema')!r}, "
                          f"expected {SCHEMA!r})" if isinstance(data, dict) else f"{path}: not a results object")
    return data


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def package_versions(names: Iterable[str] = _PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The commit of the vbench-lite source checkout, when it is one (``-dirty`` if it has local changes)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def base_provenance(seed: int | None = None) -> dict[str, Any]:
    try:
        import torch

        threads = torch.get_num_threads()
        device = "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a dependency
        threads, device = None, "cpu"
    return {
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "git_commit": git_commit(),
        "command": sys.argv[:],
        "seed": seed,
        "torch_threads": threads,
        "device": device,
        "weights": {},
        "protocols": {},
    }
