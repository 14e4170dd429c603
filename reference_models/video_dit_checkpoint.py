"""Checkpoint files of the video DiT: where the shipped ones live, reading one safely, checking its weights, saving.

A checkpoint is a safetensors file of float32 weights with a JSON metadata block: ``format``, ``config`` (the model
config, vocabulary included) and ``training`` (the training record). A ``.pt``/``.pth`` file holding
``{"config": ..., "state_dict": ...}`` is read too, with ``torch.load(weights_only=True)``. Load one with
:meth:`reference_models.video_dit.VideoDiT.from_pretrained`; every refusal is a one-line :class:`CheckpointError`
naming the file.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

CHECKPOINT_DIR = Path(__file__).with_name("checkpoints")
CHECKPOINT_FORMAT = "vbench-lite/video-dit@1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (missing, unreadable, bad config, weights that do not fit); one line."""


def shipped_checkpoints() -> dict[str, Path]:
    """Name -> path of every checkpoint shipped in ``reference_models/checkpoints`` (e.g. ``vdit-t-full``)."""
    return {p.stem: p for p in sorted(CHECKPOINT_DIR.glob("*.safetensors"))}


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 300 characters), for one-line errors."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def read_checkpoint(path: Path) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """(config as read, state dict, metadata) of a ``.safetensors`` or ``.pt``/``.pth`` file; one-line errors."""
    import torch  # heavy: only when a checkpoint is read, so listing the shipped names stays cheap

    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as fh:
                metadata = dict(fh.metadata() or {})
                state = {k: fh.get_tensor(k) for k in fh.keys()}
            config_dict = json.loads(metadata["config"])
        elif path.suffix in (".pt", ".pth"):
            blob = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(blob, dict) or "config" not in blob or "state_dict" not in blob:
                raise ValueError('expected a dict with "config" and "state_dict"')
            config_dict, state = blob["config"], blob["state_dict"]
            if isinstance(config_dict, str):
                config_dict = json.loads(config_dict)
            metadata = {"config": json.dumps(config_dict), "training": json.dumps(blob.get("training", {}))}
        else:
            raise ValueError("expected a .safetensors file (or a .pt/.pth state dict)")
    except KeyError as exc:
        raise CheckpointError(f"{path}: not a video DiT checkpoint (its metadata has no {exc})") from exc
    except pickle.UnpicklingError as exc:  # torch's own message is several lines of advice about weights_only
        raise CheckpointError(f"{path}: cannot read the checkpoint: it holds Python objects other than tensors and "
                              "plain containers, refused by torch.load(weights_only=True); save {'config': dict, "
                              "'state_dict': tensors} or a .safetensors file") from exc
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({type(exc).__name__}: {first_line(exc)})") from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(f"{path}: the state_dict must map parameter names to tensors")
    return config_dict, state, metadata


def check_weights(path: Path, state: dict[str, Any], expected: dict[str, tuple[int, ...]]) -> None:
    """The weights are exactly the ``expected`` parameters (name -> shape): same names and shapes, floating, finite."""
    import torch

    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = [f"{len(missing)} missing (e.g. {missing[0]!r})"] if missing else []
        parts += [f"{len(unexpected)} unexpected (e.g. {unexpected[0]!r:.80})"] if unexpected else []
        raise CheckpointError(f"{path}: the weights do not fit the model config ({'; '.join(parts)} tensors)")
    for name, shape in expected.items():
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: weight {name!r} is a {type(tensor).__name__}, not a tensor")
        if not tensor.is_floating_point():
            raise CheckpointError(f"{path}: weight {name!r} is {str(tensor.dtype).removeprefix('torch.')}; "
                                  "weights must be floating point")
        if tuple(tensor.shape) != shape:
            raise CheckpointError(f"{path}: the weights do not fit the model config ({name!r} has shape "
                                  f"{tuple(tensor.shape)}, the config's model needs {shape})")
        bad = int((~torch.isfinite(tensor.float())).sum())
        if bad:
            raise CheckpointError(f"{path}: weight {name!r} has {bad} NaN or infinite values")


def save_checkpoint(model: torch.nn.Module, path: str | Path, training: dict[str, Any]) -> Path:
    """Write ``model``'s weights (float32) and metadata (format, ``model.config``, ``training``) to a safetensors
    file."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": CHECKPOINT_FORMAT, "config": json.dumps(model.config.to_dict(), sort_keys=True),
                "training": json.dumps(training, sort_keys=True)}
    save_file(state, str(path), metadata=metadata)
    return path
