"""``vbench-lite weights fetch owlv2-base-ensemble``: the zoo entry's fetcher.

``from_pretrained`` of the public name ``google/owlv2-base-patch16-ensemble`` (the one download) for the model and
its processor (image processor + CLIP tokenizer), both ``save_pretrained`` into the zoo folder, so scoring loads the
published tokenizer from there; ``file=`` takes a local ``save_pretrained`` folder instead (a model-only folder is
saved without a processor: scoring then builds OWLv2's default processor and open_clip's BPE). The manifest records
the sha256 of the saved ``model.safetensors``, what the metrics hash and record (``metrics/pretrained_folders.py``).
"""

from __future__ import annotations

import os
from typing import Any

from metrics.pretrained_folders import fetch_pretrained


def fetch_owlv2(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    return fetch_pretrained(spec, "Owlv2ForObjectDetection", ("Owlv2Processor",), file=file, force=force,
                            processors_optional=True)


__all__ = ["fetch_owlv2"]
