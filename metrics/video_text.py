"""What the video-text metrics share: transformers folders found offline (``metrics/pretrained_folders.py``), video
frames as a model sees them, CLIP token ids, the toy and "not applicable" notes, and the video-text base (X-CLIP or
the toy CLIP) of ``temporal_style`` and ``overall_consistency``.

VBench scores both with ViCLIP (``vbench/temporal_style.py``, ``vbench/overall_consistency.py``): 8 frames by
``get_frame_indices(sample="middle")``, ``clip_transform(224)``, unit video and text embeddings, their cosine. ViCLIP
is not in any well-kept library, so we use X-CLIP (``microsoft/xclip-base-patch32``, transformers ``XCLIPModel``),
also a CLIP ViT-B with a temporal model. What differs: the network (X-CLIP: ViT-B/32 per frame plus a multi-frame
integration transformer and a video-conditioned text prompt; ViCLIP: a ViT-L/14 with joint space-time attention),
the preprocessing (X-CLIP's own processor, read from the folder's ``preprocessor_config.json``: short side 224,
bilinear, centre crop, ImageNet mean/std by default; ViCLIP: bicubic without antialias, CLIP mean/std), the text
length (77 tokens; ViCLIP truncates to 32) and the scale of the numbers (another embedding space: X-CLIP cosines
are not ViCLIP's, so compare models with one another, not with VBench's published values). The frames (8, middle
of 8 equal intervals) and the rule (cosine, no logit scaling) are VBench's.

The toy backend (``model=vbench-toy-clip``) embeds the 8 frames with the toy CLIP (VBench's ``clip_transform`` on
uint8 frames), averages the unit frame embeddings and takes the cosine with the text: a labelled toy number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from metrics.applicability import APPLICABLE, LACKS, SemanticMetric, not_applicable, subset_code
from metrics.base import checked_clips
from metrics.functional.vbench_video_text import mean_frame_embedding, middle_frame_indices, video_text_cosine
from metrics.hardware import tf32_policy
from metrics.image_features import NetworkSettings, file_sha256, resolve_device
from metrics.pretrained_folders import load_pretrained, resolve_pretrained_folder
from vbench_lite.frames import short_error
from vbench_lite.model_zoo import XCLIP_B32
from vbench_lite.types import Clip, Prompt, VbenchError

TOY_CLIP = "vbench-toy-clip"
TOY_CLIP_DESCRIPTION = f"{TOY_CLIP}: a toy CLIP trained only on vbench-lite's synthetic world"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_RESAMPLE = {2: "bilinear", 3: "bicubic"}  # PIL codes in preprocessor_config.json



# -- frames as a transformers video model sees them --------------------------------------------------------------
@dataclass(frozen=True)
class VideoGeometry:
    """Resize the short side to ``short_side`` (antialiased, as the processors' PIL resize), centre crop ``crop``
    (VBench's offsets ``round((H - crop) / 2)``), /255, ``(x - mean) / std``."""

    short_side: int = 224
    crop: int = 224
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"

    def pixels(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> float32 ``(T, 3, crop, crop)``."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
        h, w = x.shape[-2:]
        scale = self.short_side / min(h, w)
        size = (max(self.crop, int(h * scale)), max(self.crop, int(w * scale)))
        if size != (h, w):
            x = F.interpolate(x, size=size, mode=self.interpolation, antialias=True, align_corners=False)
        top, left = round((size[0] - self.crop) / 2), round((size[1] - self.crop) / 2)
        x = x[:, :, top:top + self.crop, left:left + self.crop].clamp(0, 255) / 255.0
        mean, std = torch.tensor(self.mean).view(1, 3, 1, 1), torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).float()


def read_geometry(folder: Path, default: VideoGeometry = VideoGeometry()) -> VideoGeometry:
    """The geometry in ``folder/preprocessor_config.json`` (what ``save_pretrained`` of the processor writes), else
    ``default`` (the VideoMAE/X-CLIP processors' published values)."""
    path = folder / "preprocessor_config.json"
    if not path.is_file():
        return default
    try:
        cfg = json.loads(path.read_text())
        size, crop = cfg.get("size", default.short_side), cfg.get("crop_size", default.crop)
        size = size.get("shortest_edge", size.get("height")) if isinstance(size, dict) else size
        crop = crop.get("height") if isinstance(crop, dict) else crop
        return VideoGeometry(int(size), int(crop), tuple(cfg.get("image_mean", default.mean)),
                             tuple(cfg.get("image_std", default.std)), _RESAMPLE.get(cfg.get("resample"), "bilinear"))
    except (ValueError, TypeError, AttributeError) as exc:
        raise VbenchError(f"{path}: not a processor configuration ({short_error(exc, limit=120)})") from None


def vbench_uint8_clip_pixels(frames: np.ndarray, size: int, mean: Sequence[float],
                             std: Sequence[float]) -> torch.Tensor:
    """VBench's ``clip_transform(size)`` as temporal_style/overall_consistency apply it: to the decoder's uint8
    tensor (``read_frames_decord_by_fps``), so torchvision's bicubic resize (no antialias) rounds and clamps to
    uint8 before the crop, /255 and CLIP normalisation. torchvision's (v1) functions as VBench: float32
    ``(T, 3, size, size)`` (the v2 uint8 kernel rounds differently)."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    x = TF.resize(x, [size], interpolation=InterpolationMode.BICUBIC, antialias=False)
    x = TF.center_crop(x, [size, size]).float().div(255.0)
    return TF.normalize(x, list(mean), list(std))


# -- CLIP token ids -----------------------------------------------------------------------------------------------
def clip_token_ids(folder: Path | None, text: str, context_length: int) -> torch.Tensor:
    """``(1, L)`` ids of ``text``: the CLIP tokenizer saved in ``folder`` when there is one (``weights fetch`` and a
    user's ``save_pretrained`` of the processor write it), else open_clip's tokenizer (the same BPE vocabulary:
    start 49406, end 49407), cut after the end token; at most ``context_length`` ids, the last one the end token."""
    if folder is not None and ((folder / "tokenizer.json").is_file() or (folder / "vocab.json").is_file()):
        from transformers import CLIPTokenizer

        try:
            tok = CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:
            raise VbenchError(f"{folder}: cannot read its CLIP tokenizer ({short_error(exc, limit=160)})") from None
        ids = tok(text, truncation=True, max_length=context_length)["input_ids"]
        return torch.tensor([ids], dtype=torch.long)
    import open_clip

    ids = open_clip.tokenizer.tokenize([text], context_length=context_length)[0]
    end = int((ids == 49407).nonzero()[0])
    return ids[:end + 1].unsqueeze(0).long()


# -- VBench's CLIP (appearance_style, scene, the box colours of color) ---------------------------------------------
def check_open_clip_names(model: str, pretrained: str | None, weights: str | None, prefix: str = "") -> None:
    """An open_clip architecture and tag that open_clip does not know are usage errors when the settings are parsed,
    before any video is decoded (``ValueError``: ``parse_settings`` makes it one line). ``prefix`` is how the
    settings spell the fields (``clip_`` for color). A ``weights`` file, or a ``pretrained`` file, needs no tag."""
    import difflib
    import os

    if model == TOY_CLIP:
        return
    import open_clip

    known = open_clip.list_models()
    if model not in known:
        close = difflib.get_close_matches(model, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"{prefix}model {model!r} is not an open_clip architecture ({hint}e.g. ViT-B-32, {TOY_CLIP})")
    if weights is None and pretrained and not os.path.isfile(pretrained) \
            and not open_clip.get_pretrained_cfg(model, pretrained):
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(model)) or "none"
        raise ValueError(f"{prefix}pretrained {pretrained!r} is neither a file nor an open_clip tag of {model} "
                         f"(known: {tags})")


def load_vbench_clip(metric: str, model: str, pretrained: str | None, weights: str | None, *, allow_download: bool,
                     device: str, weights_setting: str = "weights") -> Any:
    """:func:`metrics.image_features.load_open_clip` of the zoo's ``clip-vitb32-openai`` (VBench's CLIP): missing
    from every local cache, it says ``vbench-lite weights fetch clip-vitb32-openai`` or ``--metric-args
    METRIC.<weights_setting>=FILE``."""
    from metrics.image_features import load_open_clip
    from vbench_lite.model_zoo import CLIP_VITB32

    return load_open_clip(CLIP_VITB32, metric, model, pretrained, weights, allow_download=allow_download,
                          device=device, weights_setting=weights_setting)


# -- the video-text base --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoTextSettings(NetworkSettings):
    """``model``: ``xclip-base-patch32`` (X-CLIP through transformers; ``weights`` a save_pretrained folder) or
    ``vbench-toy-clip`` (offline toy); ``frames``: sampled frames (VBench: 8; X-CLIP needs its configured count)."""

    model: str = XCLIP_B32.name
    frames: int = 8

    def __post_init__(self) -> None:
        if self.model not in (XCLIP_B32.name, TOY_CLIP):
            raise ValueError(f"model must be {XCLIP_B32.name} or {TOY_CLIP}, got {self.model!r}")
        if self.frames < 1:
            raise ValueError(f"frames must be positive, got {self.frames}")


class VideoTextMetric(SemanticMetric):
    """One cosine per clip between the video and its full prompt text; subclasses say which prompts apply."""

    outputs: ClassVar[dict[str, bool]] = {}
    uses_text = True
    uses_fields = True
    #: 2: prompts outside the dimension's subset are not applicable (code 3), not scored
    feature_version = 2
    Settings = VideoTextSettings
    models = (XCLIP_B32,)
    #: reason code -> why a prompt is left out (metrics/applicability.py; code 1 is "applicable", 3 "outside the
    #: dimension's subset")
    reasons: ClassVar[dict[int, str]] = {LACKS: "have no text"}

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        super().__init__(settings, **values)
        cfg = self.config
        self.run_device = resolve_device(cfg.device)
        if cfg.model == TOY_CLIP:
            from metrics.clip_model import load_clip

            self.toy = load_clip(TOY_CLIP, cfg.weights, device=self.run_device)
            self.weights_sha256, self.folder = self.toy.weights_sha256, None
            return
        from transformers import XCLIPModel

        self.toy = None
        self.folder, file = resolve_pretrained_folder(XCLIP_B32, cfg.weights, self.name, cfg.allow_download)
        self.weights_sha256 = file_sha256(file)
        self.xclip = load_pretrained(XCLIPModel, self.folder, "X-CLIP (XCLIPModel)", self.run_device)
        expected = int(self.xclip.config.vision_config.num_frames)
        if cfg.frames != expected:  # the integration transformer's position embeddings fix the frame count
            raise VbenchError(f"{self.name}: {self.folder} is an X-CLIP for {expected} frames, not frames={cfg.frames}")
        self.geometry = read_geometry(self.folder)
        self.context_length = int(self.xclip.config.text_config.max_position_embeddings)

    @property
    def is_toy(self) -> bool:
        return self.toy is not None

    def settings(self) -> dict[str, Any]:
        out = {"model": self.config.model, "frames": self.config.frames, "sampling": "VBench get_frame_indices middle"}
        out["preprocessing"] = ("VBench clip_transform on uint8 (bicubic no antialias, rounded, centre crop, CLIP "
                                "mean/std)" if self.is_toy else dataclass_repr(self.geometry))
        return out

    def provenance(self) -> dict[str, Any]:
        return {f"{self.name}:{self.config.model}:weights_sha256": self.weights_sha256}

    def applies(self, prompt: Prompt) -> int:
        """1 when ``prompt`` (in the dimension's subset) has what the dimension needs, else a key of :attr:`reasons`."""
        return APPLICABLE if prompt.has_text else LACKS

    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        if len(clips) != len(prompts):
            raise ValueError(f"got {len(clips)} clips but {len(prompts)} prompts")
        out = []
        for clip, prompt in zip(checked_clips(clips), prompts):
            code = subset_code(prompt, self.name, self.applies(prompt))
            if code != APPLICABLE:
                out.append(not_applicable(self.name, code))
                continue
            idx = middle_frame_indices(self.config.frames, clip.num_frames)
            try:
                video, text = self.embed(clip.frames[idx], prompt.text)
                value = video_text_cosine(video, text)
            except ValueError as exc:
                raise VbenchError(f"{clip.source or 'clip'}: {exc}") from None
            out.append({self.name: np.float64(value), "applicable": np.int8(1),
                        "frame_indices": idx, "video_embedding": video.astype(np.float32)})
        return out

    def embed(self, frames: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray]:
        """``(unit video embedding, unit text embedding)`` float64 of one clip's sampled frames and its text."""
        with torch.inference_mode(), tf32_policy(self.run_device, False):  # exact float32 on GPUs too
            return self._embed(frames, text)

    def _embed(self, frames: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray]:
        if self.toy is not None:
            ld = self.toy
            pixels = vbench_uint8_clip_pixels(frames, ld.image_size, ld.mean, ld.std)
            emb = ld.model.encode_image(pixels.to(self.run_device)).float().cpu().numpy()
            tokens = ld.tokenizer([text]).to(self.run_device)
            text_emb = ld.model.encode_text(tokens).float().cpu().numpy()[0]
            return mean_frame_embedding(emb), text_emb / np.linalg.norm(text_emb)
        ids = clip_token_ids(self.folder, text, self.context_length).to(self.run_device)
        pixels = self.geometry.pixels(frames).unsqueeze(0).to(self.run_device)  # (1, T, 3, S, S)
        out = self.xclip(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels)
        # X-CLIP's text embedding is conditioned on the video (its prompt generator): the pair's own, [video 0, text 0]
        return out.video_embeds[0].double().cpu().numpy(), out.text_embeds[0, 0].double().cpu().numpy()

    @property
    def toy_description(self) -> str | None:
        return TOY_CLIP_DESCRIPTION if self.is_toy else None


def dataclass_repr(obj: Any) -> str:
    import dataclasses

    return ", ".join(f"{f.name}={getattr(obj, f.name)}" for f in dataclasses.fields(obj))


__all__ = ["TOY_CLIP", "VideoGeometry", "VideoTextMetric", "VideoTextSettings",
           "check_open_clip_names", "clip_token_ids", "load_vbench_clip", "read_geometry"]
