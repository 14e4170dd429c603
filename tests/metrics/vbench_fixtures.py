"""Random-init weights, in the official layouts, for the VBench quality metrics (made once per test session).

Small networks of the owning libraries' architectures keep CPU tests fast: timm's ``test_vit`` (the DINO key layout
at width 64) for subject consistency, the offline toy CLIP for the CLIP-image metrics with a random aesthetic head of
its width, and pyiqa's MUSIQ at its real size with one small extra scale.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.conftest import session_tempdir

TOY_CLIP = "vbench-toy-clip"
TOY_CLIP_DIM = 64


@functools.cache
def weights_dir() -> Path:
    return session_tempdir("vbench-lite-test-weights-")


@functools.cache
def dino_file(arch: str = "test_vit") -> Path:
    import timm

    torch.manual_seed(1)
    model = timm.create_model(arch, pretrained=False, num_classes=0)
    path = weights_dir() / f"dino-{arch}.pth"
    torch.save(model.state_dict(), path)  # torch-hub DINO layout: a plain float32 state dict
    return path


@functools.cache
def aesthetic_file(kind: str = "linear", dim: int = TOY_CLIP_DIM) -> Path:
    from metrics.image_features import AestheticMLP

    torch.manual_seed(2)
    head = torch.nn.Linear(dim, 1) if kind == "linear" else AestheticMLP(dim)
    path = weights_dir() / f"aesthetic-{kind}-{dim}.pth"
    torch.save(head.state_dict(), path)
    return path


@functools.cache
def musiq_file() -> Path:
    from metrics.image_features import musiq_class

    torch.manual_seed(3)
    model = musiq_class()(pretrained=False, num_class=1)
    path = weights_dir() / "musiq-random.pth"
    torch.save(model.state_dict(), path)
    return path


@functools.cache
def raft_file(arch: str = "raft_small") -> Path:
    from torchvision.models import optical_flow

    torch.manual_seed(4)
    path = weights_dir() / f"{arch}-random.safetensors"
    model = getattr(optical_flow, arch)(weights=None)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def vbench_build_args(name: str) -> dict | None:
    """Constructor arguments that build ``name`` offline on a CPU runner, or None when it is not one of these."""
    if name == "subject_consistency":
        return {"weights": str(dino_file()), "arch": "test_vit", "device": "cpu"}
    if name == "background_consistency":
        return {"model": TOY_CLIP, "device": "cpu"}
    if name == "aesthetic_quality":
        return {"model": TOY_CLIP, "head_weights": str(aesthetic_file()), "device": "cpu"}
    if name == "imaging_quality":
        pytest.importorskip("pyiqa", reason="imaging_quality needs the optional pyiqa (vbench-lite[iqa])")
        return {"weights": str(musiq_file()), "scales": "32", "device": "cpu"}
    return None
