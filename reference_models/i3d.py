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

Inference runs without memory passes the math does not need: :meth:`InceptionI3d.fold_batchnorm` folds each
eval-mode BatchNorm into its convolution's weights and bias (done by :func:`load_i3d`), TF "SAME" padding is the
convolution's or max-pool's own (``padding=``, and ``ceil_mode`` for the odd pixel after) except for the strided
stem's 3-channel input, which gets one padded copy, and on CPU oneDNN applies the ReLU as the convolution writes
its output. The features equal the plain BatchNorm -> ReLU network to float32 rounding.

Loaders for the weight files a user may have live in :mod:`reference_models.i3d_weights`.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils import flop_counter

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


def same_paddings(x: torch.Tensor, kernel: Triple, stride: Triple) -> list[tuple[int, int]]:
    """TF "SAME" ``(before, after)`` padding of the ``(T, H, W)`` axes of ``x`` ``(B, C, T, H, W)``."""
    return [same_padding(x.shape[axis], kernel[axis - 2], stride[axis - 2]) for axis in (2, 3, 4)]


def pad_same(x: torch.Tensor, kernel: Triple, stride: Triple, value: float = 0.0) -> torch.Tensor:
    """Pad the ``(T, H, W)`` axes of ``x`` ``(B, C, T, H, W)`` as TF "SAME" would (a copy; the layers avoid it)."""
    # F.pad lists the last axis first: (W_before, W_after, H_before, H_after, T_before, T_after).
    pads = [p for before_after in reversed(same_paddings(x, kernel, stride)) for p in before_after]
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


def symmetric_padding(pads: list[tuple[int, int]]) -> Triple | None:
    """The per-axis padding when every axis pads as much before as after (a convolution's own ``padding=``)."""
    if all(before == after for before, after in pads):
        return pads[0][0], pads[1][0], pads[2][0]
    return None


def _pool_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """Output size of PyTorch's max-pool, its rule that the last window must start inside the input included."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def pool_padding(x: torch.Tensor, kernel: Triple, stride: Triple) -> tuple[Triple, bool] | None:
    """``(padding, ceil_mode)`` that make ``F.max_pool3d`` pool exactly like TF "SAME", or None if none does.

    PyTorch's implicit padding is symmetric and never wins a max; ``ceil_mode`` adds one more window at the end
    whose missing cells are ignored, the same as TF's odd "after" pixel. So ``(p, p)`` and ``(p, p + 1)`` pads are
    both exact without a padded copy, provided the output sizes come out as TF's ``ceil(size / stride)``.
    """
    pads = same_paddings(x, kernel, stride)
    if any(after - before not in (0, 1) or 2 * before > kernel[i] for i, (before, after) in enumerate(pads)):
        return None
    padding = (pads[0][0], pads[1][0], pads[2][0])
    ceil_mode = any(after != before for before, after in pads)
    for axis in range(3):
        size = x.shape[axis + 2]
        expected = math.ceil(size / stride[axis])
        if _pool_size(size, kernel[axis], stride[axis], padding[axis], ceil_mode) != expected:
            return None
    return padding, ceil_mode


# -- convolution + ReLU in one pass -------------------------------------------------------------------------------
#: Whether to let oneDNN apply the ReLU as the convolution writes its output (saves a pass over every activation).
FUSE_CONV_RELU = True
_FUSED_DTYPES = (torch.float32, torch.bfloat16)


def fused_conv_relu_applies(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """oneDNN's fused convolution + ReLU: CPU, float32/bfloat16, inference (it has no backward)."""
    return (FUSE_CONV_RELU and x.device.type == "cpu" and x.dtype in _FUSED_DTYPES and weight.dtype == x.dtype
            and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
            and _fused_kernel_works(x.dtype))


@functools.cache
def _fused_kernel_works(dtype: torch.dtype) -> bool:
    """Whether this torch build runs the fused kernel for ``dtype`` and gets ``relu(conv3d)``; asked once.

    It is an internal oneDNN op (the one ``torch.compile`` fuses into), so a build without it, or one whose oneDNN
    lacks this dtype on this CPU, falls back to the plain convolution instead of failing.
    """
    if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")):
        return False
    x = torch.linspace(-1, 1, 2 * 4 * 27, dtype=torch.float32).reshape(1, 2, 3, 3, 12).to(dtype)
    weight = torch.linspace(-1, 1, 3 * 2 * 8, dtype=torch.float32).reshape(3, 2, 2, 2, 2).to(dtype)
    try:
        with torch.no_grad():
            fused = fused_conv3d_relu(x, weight, None, (1, 1, 1), (1, 1, 1))
            plain = F.relu(F.conv3d(x, weight, None, 1, 1))
    except RuntimeError:
        return False
    return fused.shape == plain.shape and bool(torch.allclose(fused.float(), plain.float(), rtol=1e-2, atol=1e-2))


def _register_fused_conv_flops() -> None:
    """Let ``FlopCounterMode`` count the fused kernel as the convolution it is (it knows only the aten ones)."""
    op = getattr(torch.ops.mkldnn, "_convolution_pointwise", None)
    if op is None or op in flop_counter.flop_registry:
        return

    @flop_counter.register_flop_formula(op)
    def fused_conv_flop(x_shape: list[int], w_shape: list[int], *args, out_shape: list[int], **kwargs) -> int:
        return flop_counter.conv_flop_count(x_shape, w_shape, out_shape)


_register_fused_conv_flops()


def fused_conv3d_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: Triple,
                      padding: Triple) -> torch.Tensor:
    """``relu(conv3d(x))`` by the oneDNN kernel ``F.conv3d`` uses on CPU, with ReLU as its post-op (same numbers)."""
    return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, list(padding), list(stride), [1, 1, 1], 1,
                                                   "relu", [], "")


def conv3d_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: Triple,
                padding: Triple) -> torch.Tensor:
    """``relu(conv3d(x))``: fused where oneDNN can, else a convolution and an in-place ReLU (same numbers)."""
    if fused_conv_relu_applies(x, weight):
        return fused_conv3d_relu(x, weight, bias, stride, padding)
    # In place: the convolution's output is a fresh tensor, and its backward does not need it.
    return F.relu(F.conv3d(x, weight, bias, stride, padding), inplace=True)


# -- building blocks --------------------------------------------------------------------------------------------
class Unit3D(nn.Module):
    """Conv3d (TF "SAME", no bias) -> BatchNorm3d -> ReLU; the logits unit has a bias and neither of the others.

    :meth:`fold_batchnorm` turns an eval-mode unit into conv-with-bias -> ReLU (same numbers, one pass less).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: Triple = (1, 1, 1), stride: Triple = (1, 1, 1),
                 *, scope: str, batch_norm: bool = True, relu: bool = True, bias: bool = False,
                 bn_eps: float = BN_EPS) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu = tuple(kernel), tuple(stride), relu
        self.scope = scope  # the DeepMind/JAX name of this unit
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=bn_eps) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = symmetric_padding(same_paddings(x, self.kernel, self.stride))
        if padding is None:  # TF's odd "after" pixel (the strided stem): one padded copy of the input
            x, padding = pad_same(x, self.kernel, self.stride), (0, 0, 0)
        weight, bias = self.conv3d.weight, self.conv3d.bias
        if self.bn is None and self.relu:
            return conv3d_relu(x, weight, bias, self.stride, padding)
        x = F.conv3d(x, weight, bias, self.stride, padding)
        if self.bn is not None:
            x = self.bn(x)
        # In place: the convolution/BatchNorm output is a fresh tensor, and neither backward needs it.
        return F.relu(x, inplace=True) if self.relu else x

    @torch.no_grad()
    def fold_batchnorm(self) -> None:
        """Fold the eval-mode BatchNorm into the convolution: ``w * s`` and bias ``beta - mean * s`` (``+ b * s``).

        ``s = gamma / sqrt(var + eps)``, computed in float64 and rounded once, so the folded unit equals the
        unfolded one to float32 rounding of the convolution. Inference only: the running statistics become weights.
        """
        if self.bn is None:
            return
        bn, conv = self.bn, self.conv3d
        scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        bias = bn.bias.double() - bn.running_mean.double() * scale
        if conv.bias is not None:
            bias = bias + conv.bias.double() * scale
        weight = conv.weight.double() * scale.view(-1, 1, 1, 1, 1)
        # empty_like keeps the weight's device, dtype and memory format (channels-last stays channels-last).
        conv.weight = nn.Parameter(torch.empty_like(conv.weight).copy_(weight), requires_grad=False)
        conv.bias = nn.Parameter(bias.to(conv.weight.dtype), requires_grad=False)
        self.bn = None


class MaxPool3dSame(nn.Module):
    """Max-pool with TF "SAME" padding; padded cells never win (TF ignores them).

    Done by ``F.max_pool3d``'s own padding and ``ceil_mode`` where they are exact (every pool of this network at
    any input size we know of), else by a copy padded with -inf.
    """

    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        implicit = pool_padding(x, self.kernel, self.stride)
        if implicit is None:
            return F.max_pool3d(pad_same(x, self.kernel, self.stride, value=-math.inf), self.kernel, self.stride)
        padding, ceil_mode = implicit
        return F.max_pool3d(x, self.kernel, self.stride, padding, ceil_mode=ceil_mode)


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
        # The three 1x1 convolutions that read x, as one (merge_input_convolutions); not part of the state dict.
        self.register_buffer("input_weight", None, persistent=False)
        self.register_buffer("input_bias", None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_weight is None:
            b0, b1a, b2a = self.b0(x), self.b1a(x), self.b2a(x)
        else:
            merged = conv3d_relu(x, self.input_weight, self.input_bias, (1, 1, 1), (0, 0, 0))
            b0, b1a, b2a = merged.split([u.conv3d.out_channels for u in (self.b0, self.b1a, self.b2a)], dim=1)
        branches = [b0, self.b1b(b1a), self.b2b(b2a), self.b3b(self.b3a(x))]
        return torch.cat(branches, dim=1)  # (B, out_channels, T, H, W)

    @torch.no_grad()
    def merge_input_convolutions(self) -> None:
        """Run the folded 1x1 convolutions of branches 0, 1 and 2 as one: x is read once, and one matrix product
        with all their output channels keeps the CPU busier than three narrow ones (16 to 384 channels).

        Each output channel is the same dot product as before (measured: the same bits channels-last, within
        float32 rounding channels-first). A copy of the folded weights, made once: change the units' weights
        afterwards and the copy is stale, so inference only.
        """
        units = (self.b0, self.b1a, self.b2a)
        if any(u.bn is not None or u.conv3d.bias is None for u in units):
            raise ValueError(f"I3D {self.b0.scope}: fold the BatchNorms before merging the convolutions")
        self.input_weight = torch.cat([u.conv3d.weight for u in units])
        self.input_bias = torch.cat([u.conv3d.bias for u in units])


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

    def fold_batchnorm(self) -> InceptionI3d:
        """Fold every BatchNorm into its convolution, in place; returns the model (eval mode, no gradients).

        Also merges each block's input 1x1 convolutions (:meth:`InceptionBlock.merge_input_convolutions`). The
        same network to float32 rounding (on the real weights, features within 3e-5 of the unfolded ones at max
        |feature| 30, as close to a float64 forward as before), one memory pass less per unit. Inference only: it
        refuses a model in training mode, whose BatchNorm would use batch statistics, and the folded model has no
        BatchNorm left to train.
        """
        if self.training:
            raise ValueError("I3D fold_batchnorm: the model is in training mode; call .eval() first")
        for unit in self.units().values():
            unit.fold_batchnorm()
        for block in self.modules():
            if isinstance(block, InceptionBlock):
                block.merge_input_convolutions()
        return self.requires_grad_(False)

    @property
    def folded(self) -> bool:
        """Whether the BatchNorms are folded into the convolutions (:meth:`fold_batchnorm`)."""
        return all(unit.bn is None for unit in self.units().values())

    def units(self) -> dict[str, Unit3D]:
        """Every convolution unit by its DeepMind scope name."""
        return {m.scope: m for m in self.modules() if isinstance(m, Unit3D)}
