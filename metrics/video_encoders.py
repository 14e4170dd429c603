"""Video encoders built by ``transformers`` for the feature spaces of cd_fvd (VideoMAE-v2) and jedi (V-JEPA 2).

Each feature space is an :class:`EncoderSpec`: the network (a ``transformers`` class and a zoo
:class:`~vbench_lite.model_zoo.ModelSpec`), the frames it sees (an :class:`~metrics.fvd_protocol.FvdProtocol`:
the same frame selection and bilinear resize as FVD, so clips are decoded and sampled once for all three), the
pixel scaling and the layer read out. Weights load, never downloading, from (1) a folder written by
``save_pretrained`` (or its ``model.safetensors``) given as ``weights=PATH``, (2) the zoo cache
``<weights_dir>/<name>/``, (3) the huggingface offline cache of the public name (its snapshot folder), as
:func:`metrics.pretrained_folders.resolve_pretrained_folder` finds them.
The sha256 of the ``model.safetensors`` read goes into provenance and the cache key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from metrics.fvd_protocol import FvdProtocol, preprocess_clip
from metrics.hardware import tf32_policy
from metrics.pretrained_folders import load_pretrained, resolve_pretrained_folder
from vbench_lite.model_zoo import ModelSpec
from vbench_lite.results import sha256_file
from vbench_lite.types import VbenchError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

VIDEOMAE_V2_G = ModelSpec(
    name="videomae-v2-g-ssv2", library="transformers",
    source="https://huggingface.co/OpenGVLab/InternVideoMAE_models/resolve/main/mae-g/vit_g_hybrid_pt_1200e_ssv2_ft.pth",
    license="CC-BY-NC-4.0 (VideoMAE-v2 weights)",
    description="VideoMAE-v2 ViT-g/14, SSv2 fine-tuned: cd-FVD's feature network (fc_norm of the mean token, 1408-d),"
                " converted to transformers VideoMAEForVideoClassification by `weights fetch`",
    filename="model.safetensors", used_by=("cd_fvd",), fetcher="metrics.video_encoder_weights:fetch_videomae_v2")
VJEPA2_L_SSV2 = ModelSpec(
    name="vjepa2-vitl-fpc16-256-ssv2", library="transformers", source="facebook/vjepa2-vitl-fpc16-256-ssv2",
    license="MIT (V-JEPA 2 weights)",
    description="V-JEPA 2 ViT-L/16 with its SSv2 attentive probe: jedi's feature network (pooler output, 1024-d)",
    filename="model.safetensors", used_by=("jedi",),
    fetcher="metrics.video_encoder_weights:fetch_transformers_model")


#: transformers configurations of the real networks (what the converted / published folders hold).
#: VideoMAE-v2 vit_giant_patch14_224 (VideoMAEv2 models/modeling_finetune.py, as vendored by cd-FVD): 1408 wide,
#: 40 blocks of 16 heads, MLP 1408 x 48/11 = 6144, q/v biases, LayerNorm eps 1e-6, mean pooling + fc_norm, 174
#: SSv2 classes, 16 frames in tubelets of 2, sinusoid positions.
VIDEOMAE_V2_G_CONFIG = {"image_size": 224, "patch_size": 14, "num_frames": 16, "tubelet_size": 2, "hidden_size": 1408,
                        "num_hidden_layers": 40, "num_attention_heads": 16, "intermediate_size": 6144,
                        "qv_bias": True, "use_mean_pooling": True, "layer_norm_eps": 1e-6, "num_labels": 174}
#: facebook/vjepa2-vitl-fpc16-256-ssv2: ViT-L/16 (1024 wide, 24 blocks), 256 px, 16 frames, SSv2 probe (174).
VJEPA2_L_SSV2_CONFIG = {"crop_size": 256, "patch_size": 16, "frames_per_clip": 16, "tubelet_size": 2,
                        "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "num_labels": 174}


@dataclass(frozen=True)
class EncoderSpec:
    """One feature space: network, input frames, pixel scaling and read-out layer."""

    space: str  # stored in reference statistics files; files of another space are refused
    family: str  # "videomae" (VideoMAEForVideoClassification) or "vjepa2" (VJEPA2ForVideoClassification)
    model: ModelSpec
    num_frames: int
    size: int
    mean: tuple[float, float, float] | None  # None: pixels in [0, 1] as they are (cd-FVD); else (x - mean) / std
    std: tuple[float, float, float] | None
    readout: str

    def describe(self) -> dict:
        return {"space": self.space, "family": self.family, "model": self.model.name, "source": self.model.source,
                "value_range": [0, 1], "mean": self.mean, "std": self.std, "readout": self.readout}


CD_FVD_SPACE = EncoderSpec("videomae-v2-g-ssv2", "videomae", VIDEOMAE_V2_G, 16, 224, None, None,
                           "fc_norm(mean of the last layer's tokens) (VideoMAE-v2 forward_features)")
JEDI_SPACE = EncoderSpec("vjepa2-vitl-ssv2", "vjepa2", VJEPA2_L_SSV2, 16, 256, IMAGENET_MEAN, IMAGENET_STD,
                         "attentive pooler output (the SSv2 probe's input to its classifier)")


def _model_class(family: str):
    import transformers

    return {"videomae": transformers.VideoMAEForVideoClassification,
            "vjepa2": transformers.VJEPA2ForVideoClassification}[family]


def resolve_folder(spec: EncoderSpec, weights: str | None, metric: str) -> tuple[str, Path]:
    """``(the folder from_pretrained reads, the weights file to hash)`` without any network
    (:func:`metrics.pretrained_folders.resolve_pretrained_folder`)."""
    folder, file = resolve_pretrained_folder(spec.model, weights, metric)
    return str(folder), file


def file_sha256(path: Path) -> str:
    return sha256_file(path)


def load_encoder(spec: EncoderSpec, source: str, device: str) -> torch.nn.Module:
    """The network, in eval mode on ``device`` (``from_pretrained`` with ``local_files_only``: never downloads)."""
    model = load_pretrained(_model_class(spec.family), source, f"{spec.family} weights", device)
    if spec.family == "videomae":
        if not model.config.use_mean_pooling:
            raise VbenchError(f"{source}: cd_fvd needs a VideoMAE with use_mean_pooling (its fc_norm read-out)")
        model.fc_norm.eps = 1e-6  # VideoMAE-v2 builds every LayerNorm with eps 1e-6; transformers' fc_norm has 1e-5
    return model


@torch.no_grad()
def encode(model: torch.nn.Module, family: str, x: torch.Tensor) -> torch.Tensor:
    """``(B, T, 3, H, W)`` scaled pixels -> ``(B, d)`` features at the space's read-out."""
    if family == "videomae":
        tokens = model.videomae(pixel_values=x).last_hidden_state
        return model.fc_norm(tokens.mean(1))
    tokens = model.vjepa2(pixel_values_videos=x, skip_predictor=True).last_hidden_state
    return model.pooler(tokens)


class VideoEncoderFeatures:
    """Clips -> features of one space; the interface of ``metrics.i3d_features.I3dFeatureExtractor`` that
    ``reference_from_directory`` uses (``protocol``, ``batch_size``, ``features``)."""

    def __init__(self, spec: EncoderSpec, source: str, *, protocol: FvdProtocol, batch_size: int = 4,
                 device: str = "cpu") -> None:
        self.spec, self.protocol, self.batch_size, self.device = spec, protocol, batch_size, device
        self.dtype_name = "float32"  # recorded in stats files, as the I3D extractor's precision is
        self.model = load_encoder(spec, source, device)

    def prepare(self, frames: np.ndarray, source: str = "clip") -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> ``(T', 3, size, size)``: FVD's frame selection and resize, then the scaling."""
        x = (preprocess_clip(frames, self.protocol, source) + 1.0) / 2.0  # [-1, 1] -> [0, 1]: an exact affine map
        x = x.permute(1, 0, 2, 3)  # (T', 3, S, S)
        if self.spec.mean is not None:
            mean = torch.tensor(self.spec.mean).view(1, 3, 1, 1)
            std = torch.tensor(self.spec.std).view(1, 3, 1, 1)
            x = (x - mean) / std
        return x

    def features(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        out = []
        for i in range(0, len(clips), self.batch_size):
            batch = torch.stack([self.prepare(np.asarray(c)) for c in clips[i:i + self.batch_size]])
            with tf32_policy(self.device, False):  # exact float32 on GPUs too (see metrics.hardware.tf32_policy)
                out.append(encode(self.model, self.spec.family, batch.to(self.device)).float().cpu().numpy())
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)
