"""``vbench-lite weights fetch`` for the transformers video encoders (the ``fetcher`` of their zoo entries).

- ``videomae-v2-g-ssv2``: the official VideoMAE-v2 checkpoint cd-FVD downloads (a torch ``.pth`` in the VideoMAEv2
  repository's layout), read with ``torch.load(weights_only=True)``, renamed key by key into
  ``transformers.VideoMAEForVideoClassification`` (:func:`convert_videomae_v2`, strict: every key used, none missing)
  and saved with ``save_pretrained`` into the zoo folder.
- ``vjepa2-vitl-fpc16-256-ssv2``: ``from_pretrained`` of the public name (the one download), saved into the zoo folder.

``file=`` takes a local copy instead of downloading (a ``.pth`` for VideoMAE-v2, a ``save_pretrained`` folder for
V-JEPA 2). The manifest records the sha256 of the saved ``model.safetensors``, what the metrics hash and record.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from metrics.pretrained_folders import cached_manifest, fetch_pretrained, save_pretrained_folder
from vbench_lite.types import VbenchError

VIDEOMAE_V2_URL = ("https://huggingface.co/OpenGVLab/InternVideoMAE_models/resolve/main/mae-g/"
                   "vit_g_hybrid_pt_1200e_ssv2_ft.pth")

_BLOCK_RULES = [
    (r"norm1\.(weight|bias)", "layernorm_before.{0}"), (r"norm2\.(weight|bias)", "layernorm_after.{0}"),
    (r"attn\.proj\.(weight|bias)", "attention.output.dense.{0}"),
    (r"attn\.q_bias", "attention.attention.query.bias"), (r"attn\.v_bias", "attention.attention.value.bias"),
    (r"mlp\.fc1\.(weight|bias)", "intermediate.dense.{0}"), (r"mlp\.fc2\.(weight|bias)", "output.dense.{0}"),
]


def convert_videomae_v2(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """VideoMAEv2 ``VisionTransformer`` keys -> ``VideoMAEForVideoClassification`` keys (qkv split in three)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.").removeprefix("model.")
        if key.startswith("patch_embed.proj."):
            out["videomae.embeddings.patch_embeddings.projection." + key.rsplit(".", 1)[1]] = value
        elif key.startswith(("fc_norm.", "head.")):
            out[key.replace("head.", "classifier.")] = value
        elif m := re.fullmatch(r"blocks\.(\d+)\.(.+)", key):
            prefix, rest = f"videomae.encoder.layer.{m.group(1)}.", m.group(2)
            if rest == "attn.qkv.weight":
                q, k, v = value.chunk(3, dim=0)
                for name, part in (("query", q), ("key", k), ("value", v)):
                    out[f"{prefix}attention.attention.{name}.weight"] = part
                continue
            for pattern, target in _BLOCK_RULES:
                if r := re.fullmatch(pattern, rest):
                    out[prefix + target.format(*r.groups())] = value
                    break
            else:
                raise VbenchError(f"VideoMAE-v2 checkpoint: unexpected key {key!r}")
        else:
            raise VbenchError(f"VideoMAE-v2 checkpoint: unexpected key {key!r}")
    return out


def fetch_videomae_v2(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    from metrics.video_encoders import VIDEOMAE_V2_G_CONFIG

    cached = cached_manifest(spec, file, force)
    if cached is not None:
        return cached
    path = Path(file) if file else spec.cache_path.parent / "vit_g_hybrid_pt_1200e_ssv2_ft.pth"
    if file is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(VIDEOMAE_V2_URL, str(path))
    if not path.is_file():
        raise VbenchError(f"{path}: no such file")
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "module"):
        if isinstance(state, dict) and key in state:
            state = state[key]
            break
    model = VideoMAEForVideoClassification(VideoMAEConfig(**VIDEOMAE_V2_G_CONFIG))
    missing, unexpected = model.load_state_dict(convert_videomae_v2(state), strict=False)
    if missing or unexpected:
        raise VbenchError(f"{path}: not the VideoMAE-v2 ViT-g checkpoint (missing {missing[:2]}, unexpected "
                          f"{unexpected[:2]})")
    result = save_pretrained_folder(spec, str(file or VIDEOMAE_V2_URL), model)
    if file is None:
        path.unlink(missing_ok=True)  # downloaded into the zoo folder, which the save has replaced
    return result


def fetch_transformers_model(spec: Any, *, file: str | os.PathLike | None = None,
                             force: bool = False) -> dict[str, Any]:
    from metrics.video_encoders import JEDI_SPACE, _model_class

    return fetch_pretrained(spec, _model_class(JEDI_SPACE.family).__name__, file=file, force=force)
