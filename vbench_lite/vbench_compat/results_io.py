"""VBench's result files, written and read.

VBench's ``evaluate`` writes ``<name>_eval_results.json``: ``{dimension: [score, [{"video_path", "video_results"},
...]]}`` and ``<name>_full_info.json`` (the entries with their ``video_list``). ``scripts/cal_final_score.py`` reads
every ``*.json`` of a folder (and of its sub-folders) that is an object and takes ``value[0]`` of each key, with
``_`` read as a space. We write one ``<dimension>_eval_results.json`` per dimension, which that script reads, and
read any folder it reads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from vbench_lite.results import atomic_write_json
from vbench_lite.types import VbenchError
from vbench_lite.vbench_compat.dimensions import BY_NAME

RESULTS_SUFFIX = "_eval_results.json"


def write_dimension_results(folder: str | Path, name: str, score: float | None,
                            videos: list[tuple[str, float]]) -> Path:
    """``folder/<name>_eval_results.json`` in VBench's shape; ``videos`` are (path, per-video value)."""
    rows = [{"video_path": path, "video_results": value} for path, value in videos]
    return atomic_write_json(Path(folder) / f"{name}{RESULTS_SUFFIX}", {name: [score, rows]})


def _json_files(folder: Path) -> list[Path]:
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "__")):
            continue
        if entry.is_dir():
            files.extend(sorted(f for f in entry.iterdir() if f.suffix == ".json" and f.is_file()))
        elif entry.suffix == ".json":
            files.append(entry)
    return files


def read_results_folder(folder: str | Path) -> dict[str, dict[str, Any]]:
    """``{dimension: {"score", "videos": [(path, value)], "file"}}`` from a VBench results folder (or one file).

    Keys are VBench's dimension names; files that are lists (``*_full_info.json``) are skipped, as VBench's script
    does. A dimension found in two files with different scores is an error naming both files.
    """
    folder = Path(folder)
    if not folder.exists():
        raise VbenchError(f"{folder}: no such folder")
    files = [folder] if folder.is_file() else _json_files(folder)
    found: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VbenchError(f"{path}: not a readable JSON file ({exc})") from exc
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            name = key.strip().replace(" ", "_")
            if name not in BY_NAME:
                continue  # VBench's script keeps unknown keys but never uses them
            if not isinstance(value, list) or not value or not _is_number(value[0]):
                raise VbenchError(f"{path}: {key!r}: expected [score, [per-video results]] as VBench writes it")
            videos = []
            for row in value[1] if len(value) > 1 and isinstance(value[1], list) else []:
                if isinstance(row, dict) and "video_path" in row:
                    videos.append((str(row["video_path"]), row.get("video_results")))
            score = float(value[0])
            if name in found and found[name]["score"] != score:
                raise VbenchError(f"{path}: {name} = {score} but {found[name]['file']} says {found[name]['score']}")
            found[name] = {"score": score, "videos": videos, "file": str(path)}
    if not found:
        raise VbenchError(f"{folder}: no VBench results (*_eval_results.json with VBench dimension names) found")
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))
