"""Finding, checking and loading a diffusers pipeline for the ``diffusers`` generator, offline first.

Kept apart from the adapter (:mod:`vbench_lite.generators.diffusers_generator`) so the rules about what may be
loaded live in one place:

* A model is a local folder (``save_pretrained`` layout) or a Hugging Face hub id. A hub id is looked up only in the
  local Hugging Face cache unless the user passes ``allow_download=true``: an evaluation must not fetch gigabytes, or
  silently pick up a newer revision, because a cache was cleared.
* Weights are read from safetensors files only. A component that ships only pickled weights (``.bin``, ``.pt``,
  ``.ckpt``, ``.pth``) is refused before anything is read, unless ``allow_pickle=true`` (diffusers and transformers
  then read them with ``torch.load(weights_only=True)``).
* Every weights file's sha256 goes into the run's provenance. Hashing a 30 GB checkpoint takes about a minute, so
  the digests are remembered in ``<vbench-lite cache>/sha256-files.json`` keyed by the file's resolved path, size
  and modification time (a changed file has another size or mtime and is hashed again).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from vbench_lite.paths import cache_dir
from vbench_lite.results import atomic_write_json, sha256_file
from vbench_lite.types import VbenchError

SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")
HASH_CACHE = "sha256-files.json"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def import_diffusers():
    """``diffusers`` and ``torch``, or one line saying how to install the optional extra."""
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise VbenchError("generator 'diffusers' needs the optional packages diffusers and transformers: "
                          f"pip install 'vbench-lite[diffusers]' ({exc})") from exc
    return diffusers, torch


def looks_like_path(model: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything else (``./x``, ``/abs``, ``~/x``, ``a/b/c``) is a folder."""
    return model.startswith((".", "/", "~", "\\")) or model.count("/") > 1 or ":" in model[1:3]


def resolve_model(model: str, revision: str | None, *, allow_download: bool, allow_pickle: bool,
                  variant: str | None) -> tuple[Path, dict[str, Any]]:
    """The local folder holding ``model`` and a record of where it came from (id, revision, commit)."""
    local = Path(model).expanduser()
    if local.is_dir():
        folder = local.resolve()
        record: dict[str, Any] = {"model": model, "source": "local folder", "folder": str(folder)}
        commit = _snapshot_commit(folder)
        if commit:
            record["commit"] = commit
        if revision:
            record["revision_ignored"] = f"{revision} (a local folder is used as it is)"
        return folder, record
    if looks_like_path(model) or local.exists():
        raise VbenchError(f"--generator-args model={model}: no such folder (give a folder written by "
                          "save_pretrained, or a Hugging Face hub id such as org/name)")
    diffusers, _ = import_diffusers()
    try:
        folder = Path(diffusers.DiffusionPipeline.download(
            model, revision=revision, local_files_only=not allow_download, variant=variant,
            use_safetensors=None if allow_pickle else True))
    except Exception as exc:  # huggingface_hub raises several types (LocalEntryNotFound, OSError, HTTP errors...)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        if not allow_download:
            raise VbenchError(f"--generator-args model={model}: not found offline (not a folder and not in the "
                              f"Hugging Face cache{f' at revision {revision}' if revision else ''}); download it "
                              f"once with `hf download {model}` or pass allow_download=true "
                              f"({type(exc).__name__})") from exc
        raise VbenchError(f"--generator-args model={model}: download failed: {first}") from exc
    record = {"model": model, "source": "hugging face cache" if not allow_download else "hugging face hub",
              "folder": str(folder), "revision": revision or "main"}
    commit = _snapshot_commit(folder)
    if commit:
        record["commit"] = commit
    return folder, record


def _snapshot_commit(folder: Path) -> str | None:
    """The commit hash of a Hugging Face cache snapshot (``.../snapshots/<40 hex>``), else ``None``."""
    if folder.parent.name == "snapshots" and _COMMIT.match(folder.name):
        return folder.name
    return None


def weights_files(folder: Path, allow_pickle: bool) -> list[Path]:
    """The weights files of a pipeline folder; refuses a component whose only weights are pickled."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    weights = [p for p in files if p.suffix in SAFE_SUFFIXES + PICKLE_SUFFIXES]
    by_dir: dict[Path, list[Path]] = {}
    for path in weights:
        by_dir.setdefault(path.parent, []).append(path)
    for directory, paths in by_dir.items():
        if any(p.suffix in SAFE_SUFFIXES for p in paths) or allow_pickle:
            continue
        names = ", ".join(p.name for p in paths[:3])
        raise VbenchError(f"{directory}: only pickled weights ({names}); pickles can run code when read, so they "
                          "are refused: convert them to safetensors or pass allow_pickle=true if you trust them")
    if allow_pickle:
        return weights
    return [p for p in weights if p.suffix in SAFE_SUFFIXES]


def hash_weights(folder: Path, files: list[Path]) -> dict[str, str]:
    """``{relative path: sha256}`` of ``files``, remembered across runs by (resolved path, size, mtime)."""
    cache_path = cache_dir() / HASH_CACHE
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    changed = False
    out: dict[str, str] = {}
    for path in files:
        real = path.resolve()
        stat = real.stat()
        key = str(real)
        entry = cache.get(key)
        if not (isinstance(entry, dict) and entry.get("size") == stat.st_size
                and entry.get("mtime_ns") == stat.st_mtime_ns):
            entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256_file(real)}
            cache[key] = entry
            changed = True
        out[path.relative_to(folder).as_posix()] = entry["sha256"]
    if changed:
        try:
            atomic_write_json(cache_path, cache)
        except OSError:  # a read-only cache only costs the next run a re-hash
            pass
    return out


def load_pipeline(folder: Path, *, torch_dtype: Any, allow_pickle: bool, variant: str | None,
                  pipeline_class: str | None = None):
    """``DiffusionPipeline.from_pretrained`` on a local folder, never touching the network."""
    diffusers, _ = import_diffusers()
    diffusers.utils.logging.disable_progress_bar()
    try:  # transformers components (text encoders) draw their own "Loading weights" bars
        import transformers

        transformers.utils.logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass
    cls = diffusers.DiffusionPipeline
    if pipeline_class:
        cls = getattr(diffusers, pipeline_class, None)
        if cls is None or not hasattr(cls, "from_pretrained"):
            raise VbenchError(f"--generator-args pipeline={pipeline_class}: diffusers has no such pipeline class")
    # diffusers renamed torch_dtype to dtype (the old name warns); pass the name this version reads
    from diffusers.pipelines import pipeline_utils

    dtype_key = "dtype" if hasattr(pipeline_utils, "_resolve_dtype") else "torch_dtype"
    try:
        pipe = cls.from_pretrained(str(folder), local_files_only=True, variant=variant,
                                   use_safetensors=None if allow_pickle else True, **{dtype_key: torch_dtype})
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise VbenchError(f"{folder}: cannot load a diffusers pipeline: {type(exc).__name__}: {first}") from exc
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    return pipe


def set_scheduler(pipe: Any, name: str) -> None:
    """Replace the pipeline's scheduler by the diffusers class ``name`` built from the same config."""
    diffusers, _ = import_diffusers()
    cls = getattr(diffusers, name, None)
    if cls is None or not isinstance(cls, type) or not issubclass(cls, diffusers.SchedulerMixin):
        known = sorted(n for n in dir(diffusers) if n.endswith("Scheduler"))[:8]
        raise VbenchError(f"--generator-args scheduler={name}: not a diffusers scheduler class "
                          f"(e.g. {', '.join(known)})")
    pipe.scheduler = cls.from_config(pipe.scheduler.config)
