"""The results schema, provenance and atomic writing.

``results.json`` (schema ``vbench-lite/results@1``) carries ``suite`` (name, version, sha256), ``generator`` (name,
args), ``metrics`` (per metric: value, ci95, n, higher_is_better, settings), ``provenance`` (package versions, git
commit, weights sha256, protocol hashes, seed, started/finished times), plus ``failures`` (inputs that could not be
scored, each with a one-line reason) and ``counts``; optionally ``prompt_ids`` (the prompts scored) and
``toy_models`` (descriptions of toy models behind some numbers; each metric entry may carry its own ``toy_model``).

:func:`load_results` is the one reader for ``check``, ``leaderboard`` and the reports: it validates the file against
this schema (:func:`validate_results`) and refuses anything it would otherwise misread, with one line naming the file
and the JSON path (``metrics.clip_similarity.value: expected a number or null, got string``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
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


def one_line(text: Any) -> str:
    """User text (a path, a name) fit for a one-line message: newlines and other unprintable characters written as
    Python escapes (``\\n``), everything else as it is."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


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
        raise VbenchError(f"{one_line(path)}: no such file") from exc
    except IsADirectoryError as exc:
        raise VbenchError(f"{one_line(path)}: is a folder, not a JSON file") from exc
    except UnicodeDecodeError as exc:
        raise VbenchError(f"{one_line(path)}: not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise VbenchError(f"{one_line(path)}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Load a ``results.json`` (or a run folder holding one) and validate it against the schema.

    The one reader of results files for ``check``, ``leaderboard`` and the reports: anything they would otherwise
    misread (a string or a boolean where a number belongs, a bare number as a metric entry, a reversed interval)
    raises a one-line :class:`VbenchError` naming the file and the JSON path of the offending value.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    data = read_json(path)
    validate_results(data, source=path)
    return data


#: The older name of :func:`load_results`.
read_results = load_results


def validate_results(data: Any, source: str | os.PathLike = "results.json") -> None:
    """Raise a one-line :class:`VbenchError` (``FILE: JSON.PATH: problem``) unless ``data`` follows the results
    schema (see the module docstring). Unknown fields are allowed: newer writers may add some."""
    _ResultsValidator(str(source)).results(data)


def _json_type(value: Any) -> str:
    """The JSON name of a Python value's type, as users see it in the file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number" if math.isfinite(value) else repr(float(value)).replace("nan", "NaN").replace("inf", "Infinity")
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_json_number(value: Any) -> bool:
    """A finite JSON number: ``bool`` is not a number, nor are NaN and infinities (results write those as null)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def _child(where: str, key: str | int) -> str:
    """``metrics.clip_similarity`` or ``failures[3]``; odd keys quoted as JSON (one line, whatever they hold)."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    step = key if _PLAIN_KEY.match(key) else json.dumps(key)
    return f"{where}.{step}" if where else step


class _ResultsValidator:
    """Walks a results dict; the first problem found raises."""

    def __init__(self, source: str) -> None:
        self.source = one_line(source)

    def fail(self, where: str, problem: str) -> None:
        raise VbenchError(f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}")

    def expect(self, value: Any, where: str, kind: str, *, nullable: bool = False) -> None:
        ok = {"object": isinstance(value, dict), "array": isinstance(value, list), "string": isinstance(value, str),
              "boolean": isinstance(value, bool), "number": is_json_number(value),
              "integer": is_json_number(value) and float(value).is_integer() and value >= 0}[kind]
        if ok or (nullable and value is None):
            return
        wanted = {"integer": "an integer >= 0", "object": "an object", "array": "an array"}.get(kind, f"a {kind}")
        self.fail(where, f"expected {wanted}{' or null' if nullable else ''}, got {_json_type(value)}")

    def optional(self, obj: dict[str, Any], key: str, where: str, kind: str, *, nullable: bool = True) -> None:
        if key in obj:
            self.expect(obj[key], _child(where, key), kind, nullable=nullable)

    def required(self, obj: dict[str, Any], key: str, where: str, kind: str, *, nullable: bool = False) -> None:
        if key not in obj:
            wanted = {"integer": "an integer", "object": "an object", "array": "an array"}.get(kind, f"a {kind}")
            self.fail(_child(where, key), f"missing (expected {wanted}{' or null' if nullable else ''})")
        self.expect(obj[key], _child(where, key), kind, nullable=nullable)

    def results(self, data: Any) -> None:
        if not isinstance(data, dict):
            self.fail("", f"not a results object (got a JSON {_json_type(data)})")
        if data.get("schema") != SCHEMA:
            self.fail("", f"not a vbench-lite results file (schema {data.get('schema')!r}, expected {SCHEMA!r})")
        self.required(data, "metrics", "", "object")
        for name, entry in data["metrics"].items():
            self.metric(entry, _child("metrics", name))
        self.optional(data, "suite", "", "object")
        if isinstance(data.get("suite"), dict):
            for key in ("name", "version", "sha256"):
                self.optional(data["suite"], key, "suite", "string")
            self.optional(data["suite"], "n_prompts", "suite", "integer")
        self.optional(data, "generator", "", "object")
        if isinstance(data.get("generator"), dict):
            self.optional(data["generator"], "name", "generator", "string")
            self.optional(data["generator"], "args", "generator", "object")
        self.optional(data, "counts", "", "object", nullable=False)
        for key, value in (data.get("counts") or {}).items():
            self.expect(value, _child("counts", key), "integer", nullable=True)
        self.failures(data)
        self.optional(data, "provenance", "", "object", nullable=False)
        for bucket in ("weights", "protocols"):
            self.optional(data.get("provenance") or {}, bucket, "provenance", "object")
        self.string_list(data, "prompt_ids")
        self.optional(data, "toy_models", "", "array")
        for i, item in enumerate(data.get("toy_models") or []):
            if not isinstance(item, (str, dict)):
                self.fail(_child("toy_models", i), f"expected a string or an object, got {_json_type(item)}")

    def metric(self, entry: Any, where: str) -> None:
        self.expect(entry, where, "object")
        self.required(entry, "value", where, "number", nullable=True)
        self.required(entry, "higher_is_better", where, "boolean")
        self.interval(entry, where)
        self.optional(entry, "n", where, "integer")
        for key in ("settings", "extra"):
            self.optional(entry, key, where, "object")
        for key in ("family", "toy_model"):
            self.optional(entry, key, where, "string")
        self.string_list(entry, "notes", where)
        for by in ("by_dimension", "by_category"):
            self.optional(entry, by, where, "object")
            for group, sub in (entry.get(by) or {}).items():
                sub_where = _child(_child(where, by), group)
                self.expect(sub, sub_where, "object")
                self.optional(sub, "value", sub_where, "number")
                self.optional(sub, "n", sub_where, "integer")
                self.interval(sub, sub_where)

    def interval(self, entry: dict[str, Any], where: str) -> None:
        if entry.get("ci95") is None:
            return
        ci, ci_where = entry["ci95"], _child(where, "ci95")
        if not isinstance(ci, list) or len(ci) != 2:
            self.fail(ci_where, f"expected [low, high] or null, got {_json_type(ci)}"
                      + (f" of length {len(ci)}" if isinstance(ci, list) else ""))
        for i, bound in enumerate(ci):
            self.expect(bound, _child(ci_where, i), "number", nullable=True)
        if is_json_number(ci[0]) and is_json_number(ci[1]) and ci[0] > ci[1]:
            self.fail(ci_where, f"low {ci[0]!r} is above high {ci[1]!r}")

    def failures(self, data: dict[str, Any]) -> None:
        self.optional(data, "failures", "", "array", nullable=False)
        for i, failure in enumerate(data.get("failures") or []):
            where = _child("failures", i)
            self.expect(failure, where, "object")
            self.required(failure, "error", where, "string")
            for key in ("stage", "prompt_id", "path"):
                self.optional(failure, key, where, "string")
            self.optional(failure, "sample", where, "integer")

    def string_list(self, obj: dict[str, Any], key: str, where: str = "") -> None:
        self.optional(obj, key, where, "array")
        for i, item in enumerate(obj.get(key) or []):
            self.expect(item, _child(_child(where, key), i), "string")


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
