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

import os
from typing import Any

from metrics.pretrained_folders import fetch_pretrained


def fetch_videomae_k400(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    return fetch_pretrained(spec, "VideoMAEForVideoClassification", ("AutoImageProcessor",), file=file, force=force)


def fetch_xclip(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    return fetch_pretrained(spec, "XCLIPModel", ("AutoImageProcessor", "CLIPTokenizer"), file=file, force=force)


__all__ = ["fetch_videomae_k400", "fetch_xclip"]
