"""``reference``: the reference video DiT (:mod:`reference_models.video_dit`), sampled along its flow.

    --generator reference --generator-args checkpoint=vdit-t-full
    --generator reference --generator-args checkpoint=PATH.safetensors,steps=32,eta=1.0,guidance=1.0
    --generator reference --generator-args checkpoint=untrained:VDiT-T:full      # random init (seed 0), a baseline

``checkpoint`` is a shipped name (``reference_models/checkpoints/<name>.safetensors``, see
:func:`shipped_checkpoints`), a path to a ``.safetensors`` file (or a ``.pt`` holding ``{"config": ...,
"state_dict": ...}``, read with ``torch.load(weights_only=True)``), or ``untrained:<config>:<strategy>[:<seed>]``.
Its sha256 goes into :meth:`ReferenceGenerator.provenance`.

Native size. The model generates clips of a fixed shape (16 frames of 32x32 for VDiT-T). A request for another
``size`` is generated natively and resized (bilinear, antialiased when shrinking); a request for fewer frames keeps
the first ``num_frames``; more frames than the model makes is refused with a :class:`VbenchError` (stretching time
would invent motion the model did not make). :meth:`provenance` records the native shape and what was done.

Sampler. ``steps`` levels of :func:`reference_models.rectified_flow.sample`; ``eta`` (default 1) re-noises at every
step, which on the shipped checkpoints gives a much better FVD than the deterministic Euler steps (``eta=0``): see
that function. Both are recorded in :meth:`provenance`.

Determinism. The initial noise of a clip (and, with ``eta > 0``, the noise of every step after it, drawn from the
same generator) comes from a generator seeded by sha256(``prompt.id|seed``), so the same
(prompt, seed) always gives the same clip, different prompts never share noise, and nothing depends on the order
in which clips are requested. Sampling runs in float32 on one thread by default (``threads``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from reference_models.video_dit import VideoDiT, build_model, condition_ids
from reference_models.video_dit_checkpoint import CheckpointError, shipped_checkpoints
from vbench_lite.generators.base import Generator, adapter_arguments, unknown_arguments_error
from vbench_lite.results import sha256_file
from vbench_lite.types import Clip, Prompt, VbenchError

UNTRAINED_PREFIX = "untrained:"
DTYPES = ("float32", "bfloat16")


def load_checkpoint(path: str | os.PathLike):
    """A :class:`~reference_models.video_dit.VideoDiT` in eval mode and the checkpoint's metadata dict.

    :meth:`VideoDiT.from_pretrained` checks everything in the file before building the model; its one-line
    refusals become :class:`VbenchError`.
    """
    path = Path(path)
    if not path.is_file():
        raise VbenchError(f"{path}: checkpoint not found (shipped names: {', '.join(shipped_checkpoints()) or 'none'};"
                          " or give a path to a .safetensors file)")
    try:
        return VideoDiT.from_pretrained(path)
    except CheckpointError as exc:
        raise VbenchError(str(exc)) from exc


def untrained_model(spec: str):
    """``untrained:<config>:<strategy>[:<seed>]`` -> a randomly initialised model (seeded) and its description."""
    import torch

    parts = spec[len(UNTRAINED_PREFIX):].split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise VbenchError(f"checkpoint {spec!r}: expected untrained:<config>:<strategy>[:<seed>], "
                          "e.g. untrained:VDiT-T:full")
    config_name, strategy = parts[0], parts[1]
    try:
        seed = int(parts[2]) if len(parts) == 3 else 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(config_name, strategy=strategy)
    except ValueError as exc:
        raise VbenchError(f"checkpoint {spec!r}: {exc}") from exc
    return model.eval(), {"config": json.dumps(model.config.to_dict()), "init_seed": str(seed)}


class ReferenceGenerator(Generator):
    """The reference video DiT as a generator (see the module docstring)."""

    name = "reference"
    extra_arguments: tuple[str, ...] = ()

    def __init__(self, checkpoint: str = "vdit-t-full", steps: str | int = 32, eta: str | float = 1.0,
                 guidance: str | float = 1.0, fps: str | float = 8.0, dtype: str = "float32", threads: str | int = 1,
                 **extra: Any) -> None:
        if extra:
            raise unknown_arguments_error("reference", sorted(extra), adapter_arguments(type(self)) or [])
        try:
            steps, eta, guidance = int(steps), float(eta), float(guidance)
            fps, threads = float(fps), int(threads)
        except ValueError as exc:
            raise VbenchError(f"reference generator: bad number in arguments ({exc})") from exc
        if steps < 1 or threads < 1 or fps <= 0:
            raise VbenchError("reference generator: steps and threads must be >= 1 and fps > 0")
        if not 0.0 <= eta <= 1.0:
            raise VbenchError(f"reference generator: eta must be in [0, 1], got {eta}")
        if dtype not in DTYPES:
            raise VbenchError(f"reference generator: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        super().__init__(checkpoint=checkpoint, steps=steps, eta=eta, guidance=guidance, fps=fps, dtype=dtype,
                         threads=threads)
        self.steps, self.eta, self.guidance, self.fps = steps, eta, guidance, fps
        self.dtype, self.threads = dtype, threads
        self.checkpoint_path: Path | None = None
        self.sha256: str | None = None
        if checkpoint.startswith(UNTRAINED_PREFIX):
            self.model, self.metadata = untrained_model(checkpoint)
        else:
            shipped = shipped_checkpoints()
            path = shipped[checkpoint] if checkpoint in shipped else Path(checkpoint).expanduser()
            self.model, self.metadata = load_checkpoint(path)
            self.checkpoint_path, self.sha256 = path, sha256_file(path)
        if dtype == "bfloat16":
            import torch

            self.model.to(torch.bfloat16)
        self.config = self.model.config

    # -- generation ----------------------------------------------------------------------------------------------
    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        native = self.config.frames
        if num_frames > native:
            raise VbenchError(f"reference generator: {self.args['checkpoint']} makes clips of {native} frames; "
                              f"{num_frames} were asked (use --frames {native} or fewer)")
        if num_frames < 1 or min(size) < 1:
            raise VbenchError(f"reference generator: bad clip shape {num_frames} frames of {size}")
        frames = self.sample_frames([prompt], [seed])[0][:num_frames]  # (T, h, w, 3) uint8, native size
        if tuple(size) != tuple(self.config.size):
            frames = resize_frames(frames, tuple(size))
        return Clip(np.ascontiguousarray(frames), fps=self.fps, source=f"reference:{prompt.id}:{seed}")

    def sample_frames(self, prompts: list[Prompt], seeds: list[int]) -> np.ndarray:
        """Native-size clips for several (prompt, seed) pairs in one batch: uint8 ``(N, T, h, w, 3)``.

        Each clip equals the one :meth:`generate` makes for its pair (the noise is drawn per clip).
        """
        import torch

        from reference_models.rectified_flow import sample, to_uint8_frames

        cfg = self.config
        generators = [torch.Generator().manual_seed(noise_seed(p.id, s)) for p, s in zip(prompts, seeds)]
        noise = torch.stack([torch.randn(cfg.channels, cfg.frames, *cfg.size, generator=g)
                             for g in generators])  # (N, 3, T, h, w)
        ids = torch.tensor([condition_ids(p, cfg) for p in prompts], dtype=torch.long)  # (N, fields)
        dtype = next(self.model.parameters()).dtype
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            x = sample(self.model, ids, noise.to(dtype), steps=self.steps, guidance=self.guidance, eta=self.eta,
                       generators=generators)
        finally:
            torch.set_num_threads(previous)
        return to_uint8_frames(x).numpy()

    # -- records -------------------------------------------------------------------------------------------------
    def provenance(self) -> dict[str, Any]:
        cfg = self.config
        out: dict[str, Any] = {
            "model": cfg.name, "strategy": cfg.strategy, "parameters": self.model.num_params,
            "native_frames": cfg.frames, "native_size": list(cfg.size),
            "sampler": f"rectified flow, {cfg.prediction}-prediction, time shift {cfg.time_shift:g}, "
                       f"{'deterministic Euler' if self.eta == 0 else f'stochastic (eta {self.eta:g})'}",
            "steps": self.steps, "eta": self.eta, "guidance": self.guidance, "dtype": self.dtype,
            "resize": "bilinear (antialiased when shrinking) from the native size; fewer frames keep the first",
        }
        if self.sha256:
            out["weights_sha256"] = self.sha256
            out["checkpoint"] = str(self.checkpoint_path)
            training = json.loads(self.metadata.get("training", "{}") or "{}")
            out["training"] = {k: training[k] for k in ("steps", "seed", "final_loss", "command") if k in training}
        else:
            out["weights"] = f"untrained (random init, seed {self.metadata.get('init_seed')})"
        return out


def noise_seed(prompt_id: str, seed: int) -> int:
    """The seed of a clip's initial noise: a stable hash of the prompt id and the sample seed."""
    digest = hashlib.sha256(f"reference|{prompt_id}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``(T, h, w, 3)`` -> uint8 ``(T, H, W, 3)``: bilinear, antialiased when shrinking."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()  # (T, 3, h, w)
    shrink = size[0] < frames.shape[1] or size[1] < frames.shape[2]
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)  # (T, 3, H, W)
    return y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (T, H, W, 3)
