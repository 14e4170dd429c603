"""CLIP model loading and frame embedding for the CLIP similarity metric (:mod:`metrics.clip_similarity`).

The model is an open_clip architecture name plus weights: a pretrained tag (``ViT-B-32`` + ``openai``) found in
the local cache (downloads happen only with ``allow_download=true``), or a checkpoint file whose sha256 is recorded.
The default is the offline toy CLIP trained on the synthetic world (``reference_models/toy_clip``).

Frames go through CLIP's evaluation transform as tensors (resize the shortest side to the model's image size with
antialiased bicubic, centre crop, normalise) and are embedded in batches; prompt embeddings are cached in memory.
``dtype=bfloat16`` casts the whole model (``model.to(torch.bfloat16)``, not autocast) for speed on CPUs with
AVX-512 BF16; embeddings are normalised and scored in float32 either way.
"""

from __future__ import annotations

import copy
import hashlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from metrics.hardware import cpu_native_bf16
from reference_models.toy_clip import MODEL_NAME as TOY_MODEL_NAME
from reference_models.toy_clip import WEIGHTS_PATH as TOY_WEIGHTS_PATH
from reference_models.toy_clip import register_config as register_toy_config
from vbench_lite.frames import sample_indices, short_error
from vbench_lite.types import VbenchError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
RESIZE_MODES = ("shortest", "squash")


# -- loading ------------------------------------------------------------------------------------------------------
@dataclass
class LoadedClip:
    """An open_clip model in eval mode with what scoring needs to know about it."""

    model: torch.nn.Module
    tokenizer: Any
    name: str
    pretrained: str  # the tag or file as given
    weights_path: str
    weights_sha256: str
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"
    extra: dict[str, Any] = field(default_factory=dict)


def _sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _looks_like_path(pretrained: str) -> bool:
    return os.sep in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))


def resolve_pretrained(model: str, pretrained: str, *, allow_download: bool = False,
                       cache_dir: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """The checkpoint file behind ``pretrained`` (a file path or an open_clip tag) and the tag's config (or None).

    A tag resolves to open_clip's cache (Hugging Face hub cache or ``~/.cache/clip``) without touching the network;
    only ``allow_download=True`` lets open_clip download a missing file.
    """
    import open_clip

    if os.path.isfile(pretrained):
        return pretrained, None
    tag_cfg = open_clip.get_pretrained_cfg(model, pretrained)
    if not tag_cfg:
        if _looks_like_path(pretrained):
            raise VbenchError(f"{pretrained}: CLIP checkpoint file not found")
        tags = open_clip.list_pretrained_tags_by_model(model)
        raise VbenchError(f"CLIP model {model!r}: unknown pretrained tag or file {pretrained!r} "
                          f"(known tags: {', '.join(tags) or 'none'})")
    cached = _cached_pretrained_file(tag_cfg, cache_dir)
    if cached:
        return cached, tag_cfg
    if not allow_download:
        raise VbenchError(f"CLIP {model}/{pretrained}: weights are not in the local cache and downloads are off "
                          f"(pass clip.allow_download=true once with network, or clip.pretrained=/path/to/file)")
    try:
        path = open_clip.download_pretrained(tag_cfg, cache_dir=cache_dir)
    except Exception as exc:
        raise VbenchError(f"CLIP {model}/{pretrained}: cannot download weights "
                          f"({type(exc).__name__}: {short_error(exc)})") from exc
    if not path or not os.path.isfile(path):
        raise VbenchError(f"CLIP {model}/{pretrained}: download gave no weights file")
    return path, tag_cfg


def _cached_pretrained_file(tag_cfg: dict[str, Any], cache_dir: str | None) -> str | None:
    """Where open_clip would have cached the tag's weights, if they are there (no network)."""
    if tag_cfg.get("file"):
        return tag_cfg["file"] if os.path.isfile(tag_cfg["file"]) else None
    hub = tag_cfg.get("hf_hub", "")
    if hub:
        try:
            from huggingface_hub import try_to_load_from_cache
            from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME
        except ImportError:
            return None
        repo_id, filename = os.path.split(hub)
        candidates = [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME] if not filename else [filename]
        if filename.endswith((".bin", ".pth")):
            candidates.insert(0, filename[:-4] + ".safetensors")
        for name in candidates:
            found = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
            if isinstance(found, str) and os.path.isfile(found):
                return found
    url = tag_cfg.get("url", "")
    if url:
        path = os.path.join(cache_dir or os.path.expanduser("~/.cache/clip"), os.path.basename(url))
        if os.path.isfile(path):
            return path
    return None


def load_clip(model: str = TOY_MODEL_NAME, pretrained: str | None = None, *, device: str = "cpu",
              allow_download: bool = False, cache_dir: str | None = None) -> LoadedClip:
    """Build ``model`` with ``pretrained`` weights through ``open_clip.create_model_and_transforms``.

    ``pretrained`` is an open_clip tag or a checkpoint file (safetensors, or a state dict read with
    ``weights_only=True``). The toy model defaults to its shipped weights; other models need ``pretrained``.
    """
    import open_clip

    if model == TOY_MODEL_NAME:
        register_toy_config()
        pretrained = pretrained or str(TOY_WEIGHTS_PATH)
        if not os.path.isfile(pretrained):
            raise VbenchError(f"{pretrained}: toy CLIP weights not found (train them with "
                              f"`python -m reference_models.toy_clip.train`)")
    if model not in open_clip.list_models():
        raise VbenchError(f"unknown CLIP architecture {model!r} (e.g. ViT-B-32, {TOY_MODEL_NAME})")
    if not pretrained:
        raise VbenchError(f"CLIP model {model!r} needs pretrained weights: a tag "
                          f"({', '.join(open_clip.list_pretrained_tags_by_model(model)) or 'none known'}) or a file")
    weights_path, tag_cfg = resolve_pretrained(model, pretrained, allow_download=allow_download, cache_dir=cache_dir)
    tag_cfg = tag_cfg or {}
    try:
        net, _, _ = open_clip.create_model_and_transforms(
            model, pretrained=weights_path, device=device, weights_only=True,
            force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
            image_mean=tag_cfg.get("mean"), image_std=tag_cfg.get("std"),
            image_interpolation=tag_cfg.get("interpolation"), image_resize_mode=tag_cfg.get("resize_mode"))
    except Exception as exc:
        raise VbenchError(f"{weights_path}: cannot load as {model} weights "
                          f"({type(exc).__name__}: {short_error(exc)})") from exc
    net.eval()
    cfg = net.visual.preprocess_cfg
    size = cfg["size"]
    size = int(size if isinstance(size, int) else size[0])
    if cfg.get("resize_mode", "shortest") not in RESIZE_MODES:
        raise VbenchError(f"CLIP {model}: resize mode {cfg['resize_mode']!r} is not supported "
                          f"(supported: {', '.join(RESIZE_MODES)})")
    return LoadedClip(model=net, tokenizer=open_clip.get_tokenizer(model), name=model, pretrained=pretrained,
                      weights_path=str(weights_path), weights_sha256=_sha256_file(weights_path), image_size=size,
                      mean=tuple(cfg["mean"]), std=tuple(cfg["std"]),
                      interpolation=cfg.get("interpolation", "bicubic"),
                      resize_mode=cfg.get("resize_mode", "shortest"))


# -- frames -> model input -------------------------------------------------------------------------------------
def frames_to_pixels(frames: np.ndarray | torch.Tensor, image_size: int, *, interpolation: str = "bicubic",
                     resize_mode: str = "shortest") -> torch.Tensor:
    """uint8 frames (N, H, W, 3) -> float (N, 3, S, S) in [0, 1], CLIP's evaluation geometry.

    ``shortest``: resize the shortest side to S (antialiased) and centre-crop S x S; ``squash``: resize to S x S.
    Frames already S x S pass through unchanged.
    """
    x = torch.as_tensor(np.asarray(frames)) if not isinstance(frames, torch.Tensor) else frames
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected frames (N, H, W, 3), got {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2).float().div_(255.0)  # (N, 3, H, W)
    h, w = x.shape[-2:]
    if (h, w) == (image_size, image_size):
        return x
    if resize_mode == "squash":
        new_h = new_w = image_size
    else:
        scale = image_size / min(h, w)
        new_h, new_w = max(image_size, round(h * scale)), max(image_size, round(w * scale))
    x = F.interpolate(x, size=(new_h, new_w), mode=interpolation, antialias=interpolation in ("bilinear", "bicubic"),
                      align_corners=False if interpolation in ("bilinear", "bicubic") else None)
    top, left = (new_h - image_size) // 2, (new_w - image_size) // 2
    x = x[:, :, top:top + image_size, left:left + image_size]  # centre crop (N, 3, S, S)
    return x.clamp_(0.0, 1.0)  # bicubic overshoots; PIL clips the same way


def normalize_pixels(pixels: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(N, 3, S, S) in [0, 1] -> standardised per channel."""
    mean_t = torch.tensor(mean, dtype=pixels.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=pixels.dtype).view(1, 3, 1, 1)
    return (pixels - mean_t) / std_t


@dataclass(frozen=True)
class PixelPreparer:
    """uint8 frames (N, H, W, 3) -> normalised float32 pixels (N, 3, S, S), CLIP's evaluation transform. Holds no
    model, so the pipeline's decode workers run it; every frame is transformed on its own (the resize works per
    image), so the pixels of a frame do not depend on which frames share its batch."""

    image_size: int
    interpolation: str
    resize_mode: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        pixels = frames_to_pixels(frames, self.image_size, interpolation=self.interpolation,
                                  resize_mode=self.resize_mode)
        return normalize_pixels(pixels, self.mean, self.std)


def frame_indices(clip: Any, policy: str, frames: int, fps: float | None) -> np.ndarray:
    """Which frames of ``clip`` (a :class:`~vbench_lite.types.Clip`) CLIP scores; ``frames`` is capped at the
    clip's length (no repeated frames)."""
    total = clip.num_frames
    if policy == "fps":
        return sample_indices(total, "fps", frames, src_fps=clip.fps, target_fps=fps)
    if policy == "all":
        return sample_indices(total, "all")
    return sample_indices(total, policy, min(frames, total))


@dataclass(frozen=True)
class ClipFramesPreparer:
    """The CLIP metric's CPU preprocessing of one clip (frame sampling, then :class:`PixelPreparer`), run in the
    pipeline's decode workers: ``clip -> (frame indices int64 (k,), pixels float32 (k, 3, S, S))``."""

    pixels: PixelPreparer
    policy: str
    frames: int
    fps: float | None

    def __call__(self, clip: Any) -> tuple[np.ndarray, torch.Tensor]:
        idx = np.asarray(frame_indices(clip, self.policy, self.frames, self.fps), dtype=np.int64)
        return idx, self.pixels(clip.frames[idx])


class ClipEncoder:
    """Embeds frames (in batches) and prompts (cached per text) with one loaded CLIP; returns unit float32 rows."""

    def __init__(self, loaded: LoadedClip, *, dtype: str = "float32", device: str = "cpu",
                 batch_size: int = 32) -> None:
        if dtype not in DTYPES:
            raise VbenchError(f"CLIP dtype {dtype!r} is not supported (known: {', '.join(DTYPES)})")
        if batch_size < 1:
            raise VbenchError(f"CLIP batch_size must be positive, got {batch_size}")
        self.loaded = loaded
        self.dtype_name = dtype
        self.dtype = DTYPES[dtype]
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        model = loaded.model
        if next(model.parameters()).dtype != self.dtype:  # cast a copy: the loaded model stays as it was loaded
            model = copy.deepcopy(model).to(dtype=self.dtype)
        self.model = model.to(device=self.device).eval()
        self._text_cache: dict[str, torch.Tensor] = {}
        self.tf32 = self.device.type == "cuda" and bool(torch.backends.cudnn.allow_tf32
                                                        or torch.backends.cuda.matmul.allow_tf32)
        # bfloat16 on a CPU without native support is emulated (slower than float32): said once and recorded.
        self.cpu_native_bf16 = cpu_native_bf16() if dtype == "bfloat16" and self.device.type == "cpu" else None
        if self.cpu_native_bf16 is False:
            warnings.warn("CLIP dtype=bfloat16: this CPU has no native bfloat16 (no avx512_bf16/amx_bf16 flag): "
                          "it is emulated and slower than float32; use dtype=float32 here", stacklevel=2)

    def pixel_preparer(self) -> PixelPreparer:
        """The CPU half of :meth:`encode_frames` (resize, crop, normalise), picklable for decode workers."""
        ld = self.loaded
        return PixelPreparer(ld.image_size, ld.interpolation, ld.resize_mode, tuple(ld.mean), tuple(ld.std))

    @torch.inference_mode()
    def encode_frames(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 frames (N, H, W, 3) -> unit embeddings (N, D) float32."""
        return self._encode(frames, self.pixel_preparer())

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Model-ready pixels (N, 3, S, S) from :meth:`pixel_preparer` -> unit embeddings (N, D) float32: the same
        chunks of ``batch_size`` through the same forward as :meth:`encode_frames`, so the same bytes."""
        return self._encode(pixels, None)

    def _encode(self, rows: np.ndarray | torch.Tensor, prepare: PixelPreparer | None) -> torch.Tensor:
        out = []
        for start in range(0, int(rows.shape[0]), self.batch_size):
            chunk = rows[start:start + self.batch_size]
            pixels = prepare(chunk) if prepare is not None else chunk
            emb = self.model.encode_image(pixels.to(device=self.device, dtype=self.dtype))
            out.append(F.normalize(emb.float(), dim=-1).cpu())
        if not out:
            raise ValueError("no frames to embed")
        return torch.cat(out)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Prompts -> unit embeddings (M, D) float32; each distinct text is embedded once per encoder."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._text_cache))
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            tokens = self.loaded.tokenizer(chunk).to(self.device)
            emb = F.normalize(self.model.encode_text(tokens).float(), dim=-1).cpu()
            for text, row in zip(chunk, emb):
                self._text_cache[text] = row
        return torch.stack([self._text_cache[t] for t in texts])

    def settings(self) -> dict[str, Any]:
        return {"model": self.loaded.name, "pretrained": _weights_label(self.loaded), "dtype": self.dtype_name,
                "image_size": self.loaded.image_size, "resize_mode": self.loaded.resize_mode,
                "interpolation": self.loaded.interpolation, "batch_size": self.batch_size,
                # where it ran and with which numeric policy (CUDA: PyTorch's TF32 defaults, cuDNN convolutions
                # in TF32): in the cache key, as CPU and GPU embeddings differ beyond float32 round-off
                "device": self.device.type, "tf32": self.tf32,
                **({"cpu_native_bf16": self.cpu_native_bf16} if self.dtype_name == "bfloat16" else {})}


def _weights_label(loaded: LoadedClip) -> str:
    """A tag as given, or a file by its name (the sha256 in provenance identifies its bytes)."""
    return Path(loaded.pretrained).name if os.path.isfile(loaded.pretrained) else loaded.pretrained


def embed_grouped_by_size(encoder: ClipEncoder, frame_sets: Sequence[np.ndarray],
                          pixel_sets: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Embed lists of (k_i, H_i, W_i, 3) frames, batching together all the frames that share a size.

    ``pixel_sets``: the frames already through :meth:`ClipEncoder.pixel_preparer` (a decode worker did it);
    ``frame_sets`` then only gives each set's source size, so the batches, and the bytes, are those of the frames."""
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, frames in enumerate(frame_sets):
        by_size.setdefault(tuple(frames.shape[1:3]), []).append(i)
    rows = frame_sets if pixel_sets is None else pixel_sets
    result: list[torch.Tensor | None] = [None] * len(frame_sets)
    for members in by_size.values():
        if pixel_sets is None:
            emb = encoder.encode_frames(np.concatenate([frame_sets[i] for i in members]))  # (sum k_i, H, W, 3)
        else:
            emb = encoder.encode_pixels(torch.cat([pixel_sets[i] for i in members]))  # (sum k_i, 3, S, S)
        start = 0
        for i in members:
            k = rows[i].shape[0]
            result[i] = emb[start:start + k]
            start += k
    return result  # type: ignore[return-value]


__all__ = ["DTYPES", "TOY_MODEL_NAME", "ClipEncoder", "ClipFramesPreparer", "LoadedClip", "PixelPreparer",
           "embed_grouped_by_size", "frame_indices", "frames_to_pixels", "load_clip", "normalize_pixels",
           "resolve_pretrained"]
