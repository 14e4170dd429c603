"""The FVD feature of clips: the protocol's frames through the Kinetics-400 I3D, batched; and a folder's features.

The network itself is ``reference_models.i3d``; this module runs it under a :class:`~metrics.fvd_protocol.FvdProtocol`
and builds :class:`~metrics.stats_file.ReferenceStats` from a folder of reference videos, decoded exactly as the
scored clips are.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from metrics import hardware
from metrics.feature_statistics import FEATURE_DIM, FeatureStatistics
from metrics.fvd_protocol import FvdProtocol, preprocess_clip, select_frames
from metrics.hardware import default_device, tf32_policy
from metrics.stats_file import ReferenceStats
from vbench_lite.types import Clip, VbenchError
from vbench_lite.video_io import find_videos, read_video

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def bf16_cpu_warning(dtype: str, device: str | torch.device) -> str | None:
    """One line to warn with when bfloat16 is asked for on a CPU without native bfloat16; None otherwise.

    Warned, not refused: the numbers stay a valid bfloat16 FVD (within 2% of float32, measured on both paths), and
    refusing would make bfloat16 reference statistics unusable on such machines. The CPU's support is recorded in
    the FVD settings either way.
    """
    if dtype != "bfloat16" or torch.device(device).type != "cpu":
        return None
    native = hardware.cpu_native_bf16()  # looked up per call: tests stand in for another CPU
    if native:
        return None
    why = "has no native bfloat16 (no avx512_bf16/amx_bf16 flag)" if native is False else \
        "may lack native bfloat16 (its flags could not be read)"
    return (f"FVD dtype=bfloat16: this CPU {why}: bfloat16 is emulated, slower than float32 (1.6x-2.5x measured) "
            f"and FVD differs from float32 by up to ~2%; use dtype=float32 here")


class I3dFeatureExtractor:
    """The FVD feature of clips: preprocess with the protocol, run the I3D in batches, return float32 ``(N, 400)``.

    ``dtype="bfloat16"`` casts the network (not autocast); channels-last memory layout is used on every device
    (same numbers, ~1.7x faster batched convolutions on CPU). On a CPU without native bfloat16 (see
    :func:`cpu_native_bf16`) bfloat16 is emulated, slower than float32 and further from it: one warning says so.
    """

    def __init__(self, weights: str | os.PathLike, *, protocol: FvdProtocol | None = None, batch_size: int = 8,
                 dtype: str = "float32", device: str | None = None, tf32: bool = False) -> None:
        from reference_models.i3d_weights import I3dWeightsError, TorchScriptI3d, load_i3d

        if dtype not in DTYPES:
            raise VbenchError(f"FVD: unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
        self.protocol = protocol or FvdProtocol()
        self.batch_size, self.dtype_name = max(1, int(batch_size)), dtype
        self.device = torch.device(device or default_device())
        self.tf32 = bool(tf32) and self.device.type == "cuda"
        try:
            model = load_i3d(weights)
        except I3dWeightsError as exc:
            raise VbenchError(str(exc)) from None
        if isinstance(model, TorchScriptI3d) and dtype != "float32":
            raise VbenchError(f"{weights}: a TorchScript detector runs in float32 only")
        self.model = model.to(device=self.device, dtype=DTYPES[dtype]).to(memory_format=torch.channels_last_3d)
        self.bf16_warning = bf16_cpu_warning(dtype, self.device)
        if self.bf16_warning:
            warnings.warn(self.bf16_warning, stacklevel=2)

    @torch.no_grad()
    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        """Preprocessed videos ``(B, 3, T, H, W)`` in [-1, 1] -> float32 features ``(B, 400)`` (on CPU)."""
        outs = []
        with tf32_policy(self.device, self.tf32):
            for i in range(0, videos.shape[0], self.batch_size):
                # non_blocking: a pinned batch (the pipeline's loader pins on CUDA) overlaps its copy with compute
                batch = videos[i:i + self.batch_size].to(self.device, DTYPES[self.dtype_name], non_blocking=True)
                outs.append(self.model(batch.contiguous(memory_format=torch.channels_last_3d)).float().cpu())
        return torch.cat(outs) if outs else torch.zeros(0, FEATURE_DIM)

    def features_of_videos(self, videos: Sequence[torch.Tensor]) -> np.ndarray:
        """Preprocessed clips (each ``(3, T, S, S)``, what :class:`~metrics.fvd_protocol.ClipPreprocessor` gives)
        -> float32 ``(N, 400)``, in the same batches as :meth:`features` (so the same numbers, bit for bit)."""
        out = [self(self._stack(list(videos[i:i + self.batch_size]))).numpy()
               for i in range(0, len(videos), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)

    def _stack(self, videos: list[torch.Tensor]) -> torch.Tensor:
        """One batch; on CUDA stacked straight into pinned memory, so that its copy to the GPU is asynchronous."""
        if self.device.type != "cuda":
            return torch.stack(videos)
        out = torch.empty((len(videos), *videos[0].shape), dtype=videos[0].dtype, pin_memory=True)
        return torch.stack(videos, out=out)

    def features(self, clips: Sequence[np.ndarray | Clip]) -> np.ndarray:
        """uint8 clips ``(T, H, W, 3)`` -> float32 ``(N, 400)``, batched; preprocessing one batch at a time."""
        out = []
        for i in range(0, len(clips), self.batch_size):
            batch = [_frames_and_source(c) for c in clips[i:i + self.batch_size]]
            videos = torch.stack([preprocess_clip(f, self.protocol, src) for f, src in batch])  # (B, 3, T, S, S)
            out.append(self(videos).numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


def _frames_and_source(clip: np.ndarray | Clip) -> tuple[np.ndarray, str]:
    if isinstance(clip, Clip):
        return clip.frames, clip.source or "clip"
    return np.asarray(clip), "clip"


def reference_from_directory(directory: str | os.PathLike, extractor: I3dFeatureExtractor, weights_sha256: str, *,
                             progress: Callable[[int, int], None] | None = None) -> ReferenceStats:
    """Features and statistics of every video under ``directory`` (decoded with ``vbench_lite.video_io`` under the
    extractor's protocol's decode rule, as the scored clips are: the two agree by construction), in this process.
    ``vbench-lite fvd-stats`` decodes in worker processes instead and hands the clips to
    :func:`reference_from_decoded`, which this calls too: the same batches, so the same bytes."""
    root = Path(directory)
    paths = find_videos(root)
    protocol = extractor.protocol

    def decoded() -> Iterator[DecodedVideo]:
        for i, path in enumerate(paths):
            try:
                clip = read_video(path, policy="first", num_frames=protocol.frames_needed,
                                  max_side=protocol.decode_max_side or None)
                select_frames(clip.num_frames, protocol, str(path))
            except VbenchError as exc:
                yield DecodedVideo(i, None, str(exc))
                continue
            yield DecodedVideo(i, clip)

    return reference_from_decoded(root, paths, decoded(), extractor, weights_sha256, progress=progress)


class DecodedVideo(NamedTuple):
    """One reference video, decoded: ``clip`` (None with ``error`` when it cannot be used) and, from the decode
    workers, ``prepared``, the protocol's preprocessed tensor (None: preprocess here)."""

    index: int
    clip: Clip | None
    error: str | None = None
    prepared: torch.Tensor | None = None


def reference_from_decoded(root: Path, paths: Sequence[Path], decoded: Iterable[DecodedVideo],
                           extractor: I3dFeatureExtractor, weights_sha256: str, *,
                           progress: Callable[[int, int], None] | None = None) -> ReferenceStats:
    """:class:`ReferenceStats` of ``paths`` (under ``root``) from their decoded clips, in path order. Videos that
    cannot be decoded or are shorter than the protocol needs are skipped and listed (StyleGAN-V likewise discards
    short real videos); none usable is an error. Videos that reached the decode limit are listed."""
    if not paths:
        raise VbenchError(f"{root}: no videos found")
    protocol = extractor.protocol
    max_side = protocol.decode_max_side or None
    feats, names, skipped, looped, shrunk = [], [], [], [], []
    batch: list[tuple[str, Clip, torch.Tensor | None]] = []

    def flush() -> None:
        if batch:  # preprocessed in the workers or here: the same numbers, bit for bit
            if all(prep is not None for _, _, prep in batch):
                feats.append(extractor.features_of_videos([prep for _, _, prep in batch]))
            else:
                feats.append(extractor.features([clip.frames for _, clip, _ in batch]))
            names.extend(name for name, _, _ in batch)
            batch.clear()

    for done, item in enumerate(decoded, start=1):
        name = str(paths[item.index].relative_to(root))
        if item.clip is None:
            skipped.append(f"{name}: {item.error}")
        else:
            if item.clip.num_frames < protocol.frames_needed:
                looped.append(name)
            if max_side and max(item.clip.frames.shape[1:3]) >= max_side:
                shrunk.append(name)
            batch.append((name, item.clip, item.prepared))
            if len(batch) >= extractor.batch_size:
                flush()
        if progress:
            progress(done, len(paths))
    flush()
    if not names:
        raise VbenchError(f"{root}: none of {len(paths)} videos is usable ({skipped[0]})")
    features = np.concatenate(feats)
    return ReferenceStats(FeatureStatistics.from_features(features), protocol.describe(), weights_sha256,
                          extractor.dtype_name, features=features, videos=names, skipped=skipped, looped=looped,
                          shrunk=shrunk)


def directory_fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for path in find_videos(root):
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]
