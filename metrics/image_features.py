"""Per-frame networks of VBench's quality dimensions, built by the libraries that own them, loaded from local files.

* DINO ViT-B/16 (subject consistency): timm's ``vit_base_patch16_224.dino`` architecture (``num_classes=0``: the
  output is the final-norm CLS token, as torch-hub's ``dino_vitb16`` returns), built with ``dynamic_img_size=True``
  because VBench feeds 224-short-side frames uncropped. Both weight layouts load: timm's hub file and torch-hub's
  ``dino_vitbase16_pretrain.pth`` share key names (``cls_token``, ``pos_embed``, ``patch_embed.proj.*``,
  ``blocks.N.*``, ``norm.*``); training checkpoints (``teacher``/``student`` dicts, ``module.``/``backbone.``
  prefixes) are unwrapped.
* LAION aesthetic heads: ``nn.Linear(768, 1)`` (keys ``weight``, ``bias``: VBench's head) or the v2 MLP
  (``layers.{0,2,4,6,7}.*``); plain torch modules, defined here because no library ships them.
* MUSIQ (imaging quality): ``pyiqa.archs.musiq_arch.MUSIQ`` (the optional ``vbench-lite[iqa]`` extra), built without
  pyiqa's downloader and loaded with ``torch.load(weights_only=True)`` (pyiqa itself unpickles with
  ``weights_only=False``).

Every file is read with safetensors or ``torch.load(weights_only=True)``; a file whose keys or shapes do not match the
architecture is one :class:`VbenchError` line naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from metrics.base import checked_clips
from metrics.hardware import tf32_policy
from vbench_lite.frames import short_error
from vbench_lite.model_zoo import ModelSpec, local_weights, missing_weights_error
from vbench_lite.types import Clip, VbenchError


@dataclass(frozen=True)
class NetworkSettings:
    """What every metric with a pretrained network takes: a local ``weights`` file, the ``device`` (default: the GPU
    when present) and whether a missing file may be downloaded (``allow_download``)."""

    weights: str | None = None
    device: str | None = None
    allow_download: bool = False


@dataclass(frozen=True)
class BatchedNetworkSettings(NetworkSettings):
    """...plus ``batch_size``, the frames per forward pass."""

    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")


#: Containers that training scripts wrap a state dict in (DINO's full checkpoints, Lightning, pyiqa's "params").
WRAPPERS = ("teacher", "state_dict", "model", "params", "module")
PREFIXES = ("module.", "backbone.", "_orig_mod.")


def read_state_dict(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` from a safetensors or torch file (no code runs), wrappers and prefixes removed."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(path))
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise VbenchError(f"{path}: cannot read {what} weights ({type(exc).__name__}: "
                          f"{short_error(exc, limit=160)})") from None
    for _ in range(3):  # a state dict's values are tensors, so a wrapper key holding a dict is a container
        inner = next((obj[k] for k in WRAPPERS if isinstance(obj.get(k), Mapping)), None) \
            if isinstance(obj, Mapping) else None
        if inner is not None:
            obj = inner
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise VbenchError(f"{path}: not a state dict of tensors ({what} weights)")
    out = {}
    for key, value in obj.items():
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def load_checked(model: nn.Module, state: Mapping[str, torch.Tensor], path: str | os.PathLike, what: str,
                 ignore: tuple[str, ...] = ()) -> None:
    """``model.load_state_dict(state)`` after checking names, shapes and dtypes; one line when they differ."""
    expected = model.state_dict()
    state = {k: v for k, v in state.items() if not k.startswith(ignore)}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    floats = sorted(k for k, v in state.items() if k in expected and expected[k].is_floating_point()
                    and not v.is_floating_point())
    if missing or unexpected or shapes or floats:
        parts = [f"{len(missing)} missing (e.g. {missing[0]})" if missing else "",
                 f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else "",
                 (f"{len(shapes)} of another shape (e.g. {shapes[0]}: {tuple(state[shapes[0]].shape)} instead of "
                  f"{tuple(expected[shapes[0]].shape)})") if shapes else "",
                 f"{len(floats)} not floating point (e.g. {floats[0]})" if floats else ""]
        raise VbenchError(f"{path}: not {what} weights: keys {'; '.join(p for p in parts if p)}")
    model.load_state_dict(dict(state), strict=True)


def resolve_file(spec: ModelSpec, metric: str, override: str | None, allow_download: bool = False) -> Path:
    """The local weights file of ``spec``: ``--metric-args METRIC.weights=PATH`` first, then the zoo cache; only with
    ``allow_download`` (the user's explicit ``METRIC.allow_download=true``) is it fetched, as ``weights fetch``."""
    path = local_weights(spec, override)
    if path is None and allow_download:
        from vbench_lite.weights import fetch_model

        fetch_model(spec)
        path = local_weights(spec)
    if path is None:
        raise missing_weights_error(spec, metric)
    return path


def resolve_device(device: str | None) -> str:
    from metrics.hardware import default_device

    return device or default_device()


def file_sha256(path: str | os.PathLike) -> str:
    from vbench_lite.weights import weights_sha256

    return weights_sha256(path)


def load_open_clip(spec: ModelSpec, metric: str, model: str, pretrained: str | None, weights: str | None, *,
                   allow_download: bool, device: str, weights_setting: str = "weights") -> Any:
    """open_clip ``model`` from ``weights`` (a local state-dict file) or the tag ``pretrained`` through
    :func:`metrics.clip_model.load_clip` (open_clip's own offline cache, which ``vbench-lite weights fetch`` fills;
    a download only with ``allow_download``). Returns a :class:`metrics.clip_model.LoadedClip`. When the zoo's own
    CLIP (``spec``) is in no local cache, the one line says ``vbench-lite weights fetch <spec>`` or
    ``--metric-args METRIC.<weights_setting>=FILE`` (not the ``clip`` metric's own settings).

    OpenAI's CLIPs use QuickGELU: a file given for an ``openai`` model is built as open_clip's ``<model>-quickgelu``
    (the tag path sets it from the tag's config)."""
    import open_clip

    from metrics.clip_model import TOY_MODEL_NAME, load_clip

    if model == TOY_MODEL_NAME:
        return load_clip(model, weights, device=device)
    if weights is not None:
        if not Path(weights).is_file():
            raise VbenchError(f"{weights}: weights file for {metric} ({model}) not found")
        arch = f"{model}-quickgelu" if pretrained == "openai" and f"{model}-quickgelu" in open_clip.list_models() \
            else model
        return load_clip(arch, weights, device=device)
    if not allow_download and f"{model}/{pretrained}" == spec.source:
        from metrics.clip_model import resolve_pretrained

        try:
            resolve_pretrained(model, str(pretrained))
        except VbenchError:
            line = str(missing_weights_error(spec, metric))
            raise VbenchError(line.replace(f"{metric}.weights=", f"{metric}.{weights_setting}=")) from None
    return load_clip(model, pretrained, device=device, allow_download=allow_download)


def frame_score_features(name: str, clips: Sequence[Clip], frame_scores: Callable[[Clip], np.ndarray],
                         summarize: Callable[[np.ndarray], float]) -> list[dict[str, np.ndarray]]:
    """Per clip, a network's score of every frame and VBench's summary of them (aesthetic and imaging quality):
    ``{name: summary, "frame_scores": scores}``; an input error is one line naming the clip."""
    out = []
    for clip in checked_clips(clips):
        try:
            scores = frame_scores(clip)
            value = summarize(scores)
        except ValueError as exc:
            raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
        out.append({name: np.float64(value), "frame_scores": scores})
    return out


@torch.inference_mode()
def run_batched(model: Any, pixels: torch.Tensor, batch_size: int, device: str) -> torch.Tensor:
    """``model(pixels)`` in chunks of ``batch_size`` on ``device``, float32 on the CPU."""
    with tf32_policy(device, False):  # exact float32 on GPUs too (see metrics.hardware.tf32_policy)
        out = [model(pixels[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(pixels), batch_size)]
    return torch.cat(out)


# -- DINO (timm) ------------------------------------------------------------------------------------------------
def build_dino(path: str | os.PathLike, arch: str = "vit_base_patch16_224.dino") -> nn.Module:
    """timm ``arch`` without a head, interpolating position embeddings for non-square input, weights from ``path``."""
    import timm

    try:
        model = timm.create_model(arch, pretrained=False, num_classes=0, dynamic_img_size=True)
    except Exception as exc:  # an unknown timm name
        raise VbenchError(f"subject_consistency: cannot build timm model {arch!r} ({exc})") from None
    state = read_state_dict(path, f"DINO {arch}")
    # torch-hub's backbone file has no head; full DINO checkpoints carry the projection head separately.
    load_checked(model, state, path, f"DINO {arch}", ignore=("head.",))
    return model.eval()


# -- LAION aesthetic heads ----------------------------------------------------------------------------------------
class AestheticMLP(nn.Module):
    """The improved aesthetic predictor's MLP (no activations between its linear layers, as published)."""

    def __init__(self, dim: int = 768) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(dim, 1024), nn.Dropout(0.2), nn.Linear(1024, 128), nn.Dropout(0.2),
                                    nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def build_aesthetic_head(path: str | os.PathLike, kind: str = "linear", dim: int = 768) -> nn.Module:
    """VBench's ``nn.Linear(dim, 1)`` (``kind="linear"``) or the v2 MLP (``"mlp"``), weights from ``path``."""
    if kind == "linear":
        head: nn.Module = nn.Linear(dim, 1)
    elif kind == "mlp":
        head = AestheticMLP(dim)
    else:
        raise VbenchError(f"aesthetic_quality: unknown head {kind!r} (linear, mlp)")
    load_checked(head, read_state_dict(path, f"aesthetic {kind} head"), path, f"a {dim}-input aesthetic {kind} head")
    return head.eval()


# -- MUSIQ (pyiqa) ------------------------------------------------------------------------------------------------
def musiq_class() -> type:
    try:
        from pyiqa.archs.musiq_arch import MUSIQ
    except ImportError as exc:
        raise VbenchError("imaging_quality needs pyiqa: pip install 'vbench-lite[iqa]' (or pip install --no-deps "
                          f"pyiqa==0.1.16; MUSIQ needs nothing else) ({exc})") from None
    return MUSIQ


def build_musiq(path: str | os.PathLike, scales: list[int] | None = None) -> nn.Module:
    """pyiqa's MUSIQ with one output (the SPAQ head), weights from ``path``; eval mode (MUSIQ then rescales
    [0, 1] input to [-1, 1] and cuts multi-scale patches itself)."""
    model = musiq_class()(pretrained=False, num_class=1, longer_side_lengths=list(scales or (224, 384)))
    load_checked(model, read_state_dict(path, "MUSIQ"), path, "MUSIQ (pyiqa, one output)")
    return model.eval()


__all__ = ["AestheticMLP", "build_aesthetic_head", "build_dino", "build_musiq", "load_checked", "musiq_class",
           "read_state_dict", "resolve_file"]
