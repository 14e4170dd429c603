"""The model zoo: every pretrained network a metric uses, where it comes from, and where its file is on this machine.

Each metric class lists the models it can use in ``models`` (a tuple of :class:`ModelSpec`); ``vbench-lite weights
list`` shows them all with their source, licence, expected sha256 and whether they are cached, and ``vbench-lite
weights fetch NAME`` downloads and verifies one. Scoring never downloads: a metric finds its weights with
:func:`local_weights` (a file the user passed with ``--metric-args NAME.weights=PATH`` first, then the zoo cache,
then the owning library's own cache), and a missing file is a one-line error that says how to fetch it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vbench_lite.paths import weights_dir
from vbench_lite.types import VbenchError

#: Libraries that build the networks (the zoo never defines an architecture itself).
LIBRARIES = ("vbench-lite", "open_clip", "timm", "torchvision", "transformers", "pyiqa", "diffusers")


@dataclass(frozen=True)
class ModelSpec:
    """One pretrained network: built by ``library`` from ``source``, weights checked against ``sha256``."""

    name: str  # zoo name: `weights fetch NAME`, the cache folder, `--metric-args METRIC.weights=...` help
    library: str  # one of LIBRARIES
    source: str  # the public name in that library: hub id, timm/open_clip name + tag, torchvision enum, URL
    license: str
    description: str
    #: sha256 of the weights file as fetched; None where the source does not pin one (then the sha256 found is
    #: recorded in provenance, never assumed).
    sha256: str | None = None
    #: The file name in the zoo cache (``<weights_dir>/<name>/<filename>``).
    filename: str = "weights.safetensors"
    #: Metric names that use it (filled in by the metric classes that list it).
    used_by: tuple[str, ...] = field(default=())
    #: A direct download URL, for files no library API fetches (LAION heads, MUSIQ, the DINO hub file, RAFT).
    url: str | None = None
    #: Leading hex digits of the file's sha256 where the publisher embeds them in the file name (torchvision,
    #: pyiqa): checked by ``weights fetch`` when the full sha256 is not pinned.
    sha256_prefix: str | None = None
    #: The architecture the library builds (timm/open_clip/torchvision name), when ``source`` is a tag or URL.
    arch: str | None = None
    #: ``"module:function"`` that fetches and converts this model itself (``function(spec, file=None, force=False)``
    #: returning a manifest dict); None: ``vbench_lite.weights.fetch_model``'s generic routes (URL, timm, open_clip).
    fetcher: str | None = None

    def __post_init__(self) -> None:
        if self.library not in LIBRARIES:
            raise ValueError(f"model {self.name!r}: unknown library {self.library!r} (known: {', '.join(LIBRARIES)})")

    @property
    def cache_path(self) -> Path:
        return weights_dir() / self.name / self.filename


def local_weights(spec: ModelSpec, override: str | os.PathLike | None = None) -> Path | None:
    """The weights file to load without any network: ``override`` (must exist), else the zoo cache, else None.

    None means "not here": the caller tries the owning library's own offline cache, then fails with
    :func:`missing_weights_error`.
    """
    if override:
        path = Path(override)
        if not path.is_file():
            raise VbenchError(f"{path}: weights file for {spec.name} not found")
        return path
    return spec.cache_path if spec.cache_path.is_file() else None


def missing_weights_error(spec: ModelSpec, metric: str) -> VbenchError:
    # transformers models load from a save_pretrained folder (config.json beside model.safetensors), not one file
    local = "/path/to/save_pretrained_folder" if spec.library == "transformers" else "/path/to/file"
    return VbenchError(f"{metric}: weights of {spec.name} ({spec.source}) are not on this machine and scoring never "
                       f"downloads: run `vbench-lite weights fetch {spec.name}` once with network, or pass "
                       f"--metric-args {metric}.weights={local}")


def cached_path(spec: ModelSpec) -> Path | None:
    """The zoo cache file when present (what ``weights list`` calls cached)."""
    return spec.cache_path if spec.cache_path.is_file() else None


# -- the networks of VBench's quality dimensions (issue 15) -------------------------------------------------------
_TV = "https://download.pytorch.org/models/"
DINO_VITB16 = ModelSpec(
    name="dino-vitb16", library="timm", source="timm/vit_base_patch16_224.dino", arch="vit_base_patch16_224.dino",
    license="Apache-2.0", filename="dino_vitbase16_pretrain.pth",
    url="https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
    description="DINO ViT-B/16 (Caron et al. 2021), CLS features; timm hub weights or the torch-hub DINO file "
                "(same key layout, both load)", used_by=("subject_consistency",))
CLIP_VITB32 = ModelSpec(
    name="clip-vitb32-openai", library="open_clip", source="ViT-B-32/openai", arch="ViT-B-32", license="MIT",
    description="OpenAI CLIP ViT-B/32 image tower (open_clip, QuickGELU)", used_by=("background_consistency",))
CLIP_VITL14 = ModelSpec(
    name="clip-vitl14-openai", library="open_clip", source="ViT-L-14/openai", arch="ViT-L-14", license="MIT",
    description="OpenAI CLIP ViT-L/14 image tower (open_clip, QuickGELU)", used_by=("aesthetic_quality",))
LAION_AESTHETIC_LINEAR = ModelSpec(
    name="laion-aesthetic-linear", library="vbench-lite", source="LAION-AI/aesthetic-predictor", license="MIT",
    url="https://raw.githubusercontent.com/LAION-AI/aesthetic-predictor/main/sa_0_4_vit_l_14_linear.pth",
    filename="sa_0_4_vit_l_14_linear.pth", arch="linear",
    description="LAION aesthetic predictor: nn.Linear(768, 1) on unit CLIP ViT-L/14 embeddings (VBench's head)",
    used_by=("aesthetic_quality",))
LAION_AESTHETIC_V2 = ModelSpec(
    name="laion-aesthetic-v2-mlp", library="vbench-lite", source="christophschuhmann/improved-aesthetic-predictor",
    license="Apache-2.0", filename="sac+logos+ava1-l14-linearMSE.pth", arch="mlp",
    url="https://github.com/christophschuhmann/improved-aesthetic-predictor/raw/main/sac%2Blogos%2Bava1-l14-linearMSE.pth",
    description="improved aesthetic predictor v2: MLP 768-1024-128-64-16-1 on unit CLIP ViT-L/14 embeddings",
    used_by=("aesthetic_quality",))
MUSIQ_SPAQ = ModelSpec(
    name="musiq-spaq", library="pyiqa", source="pyiqa MUSIQ, SPAQ checkpoint", arch="MUSIQ",
    license="weights: as published by pyiqa (IQA-PyTorch; code PolyForm-Noncommercial-1.0.0)",
    url="https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/musiq_spaq_ckpt-358bb6af.pth",
    filename="musiq_spaq_ckpt-358bb6af.pth", sha256_prefix="358bb6af",
    description="MUSIQ multi-scale image quality transformer trained on SPAQ (VBench's imaging quality)",
    used_by=("imaging_quality",))
RAFT_LARGE = ModelSpec(
    name="raft-large", library="torchvision", source="Raft_Large_Weights.C_T_V1", arch="raft_large",
    license="BSD-3-Clause", url=_TV + "raft_large_C_T_V1-22a6c225.pth", filename="raft_large_C_T_V1-22a6c225.pth",
    sha256_prefix="22a6c225", description="RAFT large trained on FlyingChairs+FlyingThings (the raft-things.pth "
    "VBench uses, ported by torchvision)", used_by=("temporal",))
RAFT_SMALL = ModelSpec(
    name="raft-small", library="torchvision", source="Raft_Small_Weights.C_T_V1", arch="raft_small",
    license="BSD-3-Clause", url=_TV + "raft_small_C_T_V1-ad48884c.pth", filename="raft_small_C_T_V1-ad48884c.pth",
    sha256_prefix="ad48884c", description="RAFT small, FlyingChairs+FlyingThings (torchvision)", used_by=("temporal",))
VBENCH_MODELS = (DINO_VITB16, CLIP_VITB32, CLIP_VITL14, LAION_AESTHETIC_LINEAR, LAION_AESTHETIC_V2, MUSIQ_SPAQ,
                 RAFT_LARGE, RAFT_SMALL)

# -- video-text models of VBench's semantic dimensions (issue 16: human_action, temporal_style, overall_consistency)
VIDEOMAE_K400 = ModelSpec(
    name="videomae-base-k400", library="transformers", source="MCG-NJU/videomae-base-finetuned-kinetics",
    license="CC-BY-NC-4.0 (VideoMAE weights)", filename="model.safetensors", used_by=("human_action",),
    description="VideoMAE ViT-B/16 fine-tuned on Kinetics-400 (400 labels in config.id2label), 16 frames, 224 px: "
                "human_action's classifier (VBench uses UMT ViT-L/16)",
    fetcher="metrics.video_text_weights:fetch_videomae_k400")
XCLIP_B32 = ModelSpec(
    name="xclip-base-patch32", library="transformers", source="microsoft/xclip-base-patch32", license="MIT",
    filename="model.safetensors", used_by=("temporal_style", "overall_consistency"),
    description="X-CLIP ViT-B/32, 8 frames, Kinetics-400: video-text similarity (VBench uses ViCLIP)",
    fetcher="metrics.video_text_weights:fetch_xclip")
# -- detect helper (issue 16): object_class, multiple_objects, color, spatial_relationship -------------------------
OWLV2_BASE_ENSEMBLE = ModelSpec(
    name="owlv2-base-ensemble", library="transformers", source="google/owlv2-base-patch16-ensemble",
    license="Apache-2.0", filename="model.safetensors",
    used_by=("object_class", "multiple_objects", "color", "spatial_relationship"),
    description="OWLv2 base/16 ensemble: open-vocabulary detector, text queries = the prompt's objects (VBench uses "
                "GRiT)", fetcher="metrics.detector_weights:fetch_owlv2")
