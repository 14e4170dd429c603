"""``vbench-lite weights fetch owlv2-base-ensemble``: the zoo entry's fetcher.

``from_pretrained`` of the public name ``google/owlv2-base-patch16-ensemble`` (the one download) for the model and
its processor (image processor + CLIP tokenizer), both ``save_pretrained`` into the zoo folder, so scoring loads the
published tokenizer from there; ``file=`` takes a local ``save_pretrained`` folder instead. The manifest records the
sha256 of the saved ``model.safetensors``, what the metrics hash and record.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from vbench_lite.frames import short_error
from vbench_lite.types import VbenchError


def fetch_owlv2(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    from transformers import Owlv2ForObjectDetection, Owlv2Processor

    from metrics.video_encoders import file_sha256

    folder = spec.cache_path.parent
    manifest = folder / "manifest.json"
    if file is None and not force and spec.cache_path.is_file() and manifest.is_file():
        return json.loads(manifest.read_text())
    source = str(file) if file else spec.source
    if file is not None and not Path(file).is_dir():
        raise VbenchError(f"{file}: not a save_pretrained folder of {spec.source}")
    try:
        model = Owlv2ForObjectDetection.from_pretrained(source)
    except Exception as exc:  # no network, a wrong folder: one line
        raise VbenchError(f"weights fetch {spec.name}: cannot load {source} ({type(exc).__name__}: "
                          f"{short_error(exc, limit=200)})") from None
    try:
        processor = Owlv2Processor.from_pretrained(source)
    except Exception:  # a model-only folder: scoring then builds OWLv2's default processor and open_clip's BPE
        processor = None
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    if processor is not None:
        processor.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    weights = folder / "model.safetensors"
    result = {"name": spec.name, "file": weights.name, "sha256": file_sha256(weights), "size": weights.stat().st_size,
              "source": source, "library": spec.library, "license": spec.license,
              "processor": processor is not None}
    manifest.write_text(json.dumps(result, indent=2))
    return result


__all__ = ["fetch_owlv2"]
