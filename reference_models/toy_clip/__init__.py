"""The offline toy CLIP: a small open_clip model trained on the synthetic world and shipped with the package.

It is an ordinary open_clip architecture (``vbench-toy-clip.json``, the schema of open_clip's ``model_configs``)
registered with :func:`open_clip.add_model_config`, so it loads through the same
``open_clip.create_model_and_transforms(name, pretrained=<file>)`` path as ``ViT-B-32``. The weights are an fp16
safetensors file next to the config; ``MODEL_CARD.md`` says how they were trained and how well they retrieve.
Retrain with ``python -m vbench_lite.lab.train_toy_clip``; load it with ``metrics.clip_model.load_clip()`` (the
default model) or through open_clip after :func:`register_config`.
"""

from __future__ import annotations

from pathlib import Path

MODEL_NAME = "vbench-toy-clip"
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_PATH = PACKAGE_DIR / f"{MODEL_NAME}.json"
WEIGHTS_PATH = PACKAGE_DIR / f"{MODEL_NAME}.safetensors"
MODEL_CARD_PATH = PACKAGE_DIR / "MODEL_CARD.md"


def register_config() -> str:
    """Make open_clip know :data:`MODEL_NAME` (idempotent); returns the name."""
    import open_clip

    if MODEL_NAME not in open_clip.list_models():
        open_clip.add_model_config(CONFIG_PATH)
    return MODEL_NAME

