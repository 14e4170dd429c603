"""``vbench-lite weights fetch`` for the video-text models (the ``fetcher`` of their zoo entries).

- ``videomae-base-k400``: ``VideoMAEForVideoClassification.from_pretrained("MCG-NJU/videomae-base-finetuned-kinetics")``
  with its image processor (``preprocessor_config.json``: the frame geometry human_action reads);
- ``xclip-base-patch32``: ``XCLIPModel.from_pretrained("microsoft/xclip-base-patch32")`` with its processor (the
  image geometry and the CLIP tokenizer files, so scoring tokenizes with the model's own tokenizer).

Each is saved with ``save_pretrained`` into the zoo folder (``<weights_dir>/<name>/``), the one download; ``file=``
takes a local ``save_pretrained`` folder instead. The manifest records the sha256 of ``model.safetensors``, what the
metrics hash into provenance and the cache key.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from vbench_lite.types import VbenchError


def _fetch(spec: Any, model_class: str, processor_classes: tuple[str, ...], file: str | os.PathLike | None,
           force: bool) -> dict[str, Any]:
    import transformers

    from metrics.image_features import file_sha256

    folder = spec.cache_path.parent
    manifest = folder / "manifest.json"
    if file is None and not force and spec.cache_path.is_file() and manifest.is_file():
        return json.loads(manifest.read_text())
    source = str(file) if file else spec.source
    if file is not None and not Path(file).is_dir():
        raise VbenchError(f"{file}: not a save_pretrained folder of {spec.name}")
    try:
        model = getattr(transformers, model_class).from_pretrained(source)
        processors = [getattr(transformers, name).from_pretrained(source) for name in processor_classes]
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VbenchError(f"{source}: cannot fetch {spec.name} ({first})") from None
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    for processor in processors:  # the frame geometry (and for X-CLIP the tokenizer) beside the weights
        processor.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    weights = folder / "model.safetensors"
    result = {"name": spec.name, "file": weights.name, "sha256": file_sha256(weights), "size": weights.stat().st_size,
              "source": source, "library": spec.library, "license": spec.license}
    manifest.write_text(json.dumps(result, indent=2))
    return result


def fetch_videomae_k400(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    return _fetch(spec, "VideoMAEForVideoClassification", ("AutoImageProcessor",), file, force)


def fetch_xclip(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    return _fetch(spec, "XCLIPModel", ("AutoImageProcessor", "CLIPTokenizer"), file, force)


__all__ = ["fetch_videomae_k400", "fetch_xclip"]
