"""Transformers ``save_pretrained`` folders: found without network when scoring, written into the zoo by
``vbench-lite weights fetch``. One implementation for every transformers model of the zoo (OWLv2, VideoMAE, X-CLIP,
VideoMAE-v2, V-JEPA 2).

Finding (:func:`resolve_pretrained_folder`), in order: ``weights=`` (a folder, a weights file in it, or the zoo
name, which means the zoo folder), the zoo folder ``<weights_dir>/<name>/``, the huggingface offline cache of the
public name (a user's earlier ``from_pretrained``), then, only with ``allow_download``, the zoo entry's fetcher;
nothing found is :func:`~vbench_lite.model_zoo.missing_weights_error`. Every folder needs ``config.json`` beside its
weights. The weights file returned is the one ``from_pretrained`` reads (``model.safetensors`` before
``pytorch_model.bin``): the metrics hash it into provenance and the cache key.

Fetching (:func:`fetch_pretrained`, :func:`save_pretrained_folder`): ``from_pretrained`` of the public name (the one
download) or of a local folder (``file=``), ``save_pretrained`` of the model and its processors into a temporary
folder renamed onto the zoo folder, and a ``manifest.json`` with the sha256 of the saved ``model.safetensors``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from vbench_lite.frames import short_error
from vbench_lite.model_zoo import ModelSpec, local_weights, missing_weights_error
from vbench_lite.types import VbenchError

#: The weights files ``from_pretrained`` reads, in the order it prefers them.
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")


# -- finding a folder, never downloading unless asked -------------------------------------------------------------
def resolve_pretrained_folder(spec: ModelSpec, weights: str | None, metric: str,
                              allow_download: bool = False) -> tuple[Path, Path]:
    """``(save_pretrained folder, the weights file in it that from_pretrained reads)``; errors are one line."""
    if weights and weights != spec.name:
        path = Path(weights)
        file = weights_file(path) if path.is_dir() else (weights_file(path.parent) or path) if path.is_file() \
            else None
        if file is None:
            raise VbenchError(f"{weights}: no weights for {metric} (not a transformers save_pretrained folder holding "
                              f"config.json and model.safetensors, nor its model.safetensors, nor the zoo name "
                              f"{spec.name})")
    else:
        file = local_weights(spec) or hf_cached(spec.source)
        if file is None and allow_download:
            from vbench_lite.weights import fetch_model

            fetch_model(spec)  # the zoo entry's fetcher
            file = local_weights(spec)
        if file is None:
            raise missing_weights_error(spec, metric)
    if not (file.parent / "config.json").is_file():
        raise VbenchError(f"{file.parent}: no config.json next to {file.name} ({metric} loads a transformers "
                          "save_pretrained folder)")
    return file.parent, file


def weights_file(folder: Path) -> Path | None:
    """The weights file ``from_pretrained`` reads in ``folder``, or None."""
    for name in WEIGHTS_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def hf_cached(repo_id: str) -> Path | None:
    """The weights file of ``repo_id`` in the huggingface offline cache (its snapshot folder), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache

        for name in WEIGHTS_FILES:
            found = try_to_load_from_cache(repo_id, name)
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
    except Exception:  # not installed, or a source that is not a hub id (a URL)
        return None
    return None


def load_pretrained(cls: Any, folder: str | os.PathLike, what: str, device: str) -> Any:
    """``cls.from_pretrained(folder, local_files_only=True)`` in eval mode; any failure one line naming the folder."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a progress bar per load would go into every score log
    try:
        model = cls.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise VbenchError(f"{folder}: cannot load {what} ({type(exc).__name__}: {short_error(exc, limit=200)})") \
            from None
    return model.eval().to(device)


# -- fetching into the zoo ----------------------------------------------------------------------------------------
def cached_manifest(spec: ModelSpec, file: str | os.PathLike | None, force: bool) -> dict[str, Any] | None:
    """The zoo folder's manifest when it is already fetched and neither ``file`` nor ``force`` asks again."""
    manifest = spec.cache_path.parent / "manifest.json"
    if file is None and not force and spec.cache_path.is_file() and manifest.is_file():
        return json.loads(manifest.read_text())
    return None


def fetch_pretrained(spec: ModelSpec, model_class: str, processor_classes: tuple[str, ...] = (), *,
                     file: str | os.PathLike | None = None, force: bool = False,
                     processors_optional: bool = False) -> dict[str, Any]:
    """``transformers.<model_class>`` and its processors from ``spec.source`` (or the folder ``file``), saved into
    the zoo folder. ``processors_optional``: a folder without them is saved model-only, the manifest saying so."""
    import transformers

    cached = cached_manifest(spec, file, force)
    if cached is not None:
        return cached
    source = str(file) if file else spec.source
    if file is not None and not Path(file).is_dir():
        raise VbenchError(f"{file}: not a save_pretrained folder of {spec.name} ({spec.source})")
    try:
        model = getattr(transformers, model_class).from_pretrained(source)
        processors = []
        for name in processor_classes:
            try:
                processors.append(getattr(transformers, name).from_pretrained(source))
            except Exception:
                if not processors_optional:
                    raise
    except Exception as exc:  # no network, a wrong folder: one line
        raise VbenchError(f"weights fetch {spec.name}: cannot load {source} ({type(exc).__name__}: "
                          f"{short_error(exc, limit=200)})") from None
    extra = {"processor": len(processors) == len(processor_classes)} if processors_optional else {}
    return save_pretrained_folder(spec, source, model, *processors, **extra)


def save_pretrained_folder(spec: ModelSpec, source: str, *parts: Any, **extra: Any) -> dict[str, Any]:
    """``save_pretrained`` of each part (model, processors) into the zoo folder, atomically (a temporary folder
    renamed onto it), and its ``manifest.json``: the sha256 and size of ``model.safetensors``, source, licence."""
    from vbench_lite.results import sha256_file

    folder = spec.cache_path.parent
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for part in parts:
        part.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    weights = folder / "model.safetensors"
    manifest = {"name": spec.name, "file": weights.name, "sha256": sha256_file(weights),
                "size": weights.stat().st_size, "source": source, "library": spec.library, "license": spec.license,
                **extra}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


__all__ = ["WEIGHTS_FILES", "cached_manifest", "fetch_pretrained", "hf_cached", "load_pretrained",
           "resolve_pretrained_folder", "save_pretrained_folder", "weights_file"]
