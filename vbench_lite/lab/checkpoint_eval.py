"""Evaluating reference DiT checkpoints against the exact renderer (pixel Frechet distances and FVD).

- :func:`pixel_frechet` / :func:`evaluate`: a cheap pixel-space proxy for FVD that needs no weights (the training
  script records it in every checkpoint);
- :func:`fvd_against_renderer`: FVD with the real I3D, the demo's setting (``python -m vbench_lite.lab.strategy_cost
  --fvd NAMES --json FILE`` writes the numbers of ``checkpoints/fvd.json``).

The index and preview of the shipped checkpoints are written by :mod:`vbench_lite.lab.checkpoint_index`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from metrics.functional.frechet import frechet_distance_from_features
from reference_models.rectified_flow import sample, to_uint8_frames
from reference_models.video_dit import VideoDiT, condition_ids
from vbench_lite.generators.reference import ReferenceGenerator
from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts
from vbench_lite.types import Prompt, VbenchError

#: The held-out seed of the training script's own evaluation (the demo's reference set starts at 1000).
EVAL_SEED = 5_000


def render_clips(prompts: Sequence[Prompt], seeds: Sequence[int], config) -> np.ndarray:
    """Exact-renderer clips for each (prompt, seed) pair at ``config``'s native shape: uint8 ``(N, T, H, W, 3)``."""
    renderer = SyntheticGenerator()
    return np.stack([renderer.generate(p, seed=int(s), num_frames=config.frames, size=config.size).frames
                     for p, s in zip(prompts, seeds)])


def clip_features(frames: np.ndarray, *, grid: int = 8) -> np.ndarray:
    """Per-frame features for the pixel Frechet distance: each frame box-averaged to ``grid x grid`` RGB in [0, 1].

    ``frames`` uint8 ``(N, T, H, W, 3)`` -> ``(N*T, grid*grid*3)``.
    """
    n, t, h, w, _ = frames.shape
    x = frames.reshape(n * t, grid, h // grid, grid, w // grid, 3).astype(np.float64) / 255.0  # split into boxes
    return x.mean(axis=(2, 4)).reshape(n * t, grid * grid * 3)  # (N*T, grid, grid, 3) -> (N*T, D)


def motion_features(frames: np.ndarray, *, grid: int = 4) -> np.ndarray:
    """Per-clip features of how the picture changes: ``grid x grid`` RGB of each of 4 frame differences.

    ``frames`` uint8 ``(N, T, H, W, 3)`` -> ``(N, 4*grid*grid*3)``.
    """
    n, t = frames.shape[:2]
    picks = np.linspace(0, t - 1, 5).round().astype(int)
    small = clip_features(frames[:, picks], grid=grid).reshape(n, 5, -1)  # (N, 5, D)
    return np.diff(small, axis=1).reshape(n, -1)  # (N, 4, D) -> (N, 4*D)


def pixel_frechet(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Frechet distances of frame appearance (8x8 RGB) and of frame differences (4x4 RGB), lower is better.

    Not FVD: a cheap check that needs no weights. The appearance term is sensitive to colours and layout, the
    motion term to whether (and how coherently) things move.
    """
    return {
        "pixel_fd": frechet_distance_from_features(clip_features(generated), clip_features(reference)),
        "motion_fd": frechet_distance_from_features(motion_features(generated), motion_features(reference)),
    }


def evaluation_prompts(stride: int = 4) -> list[Prompt]:
    """Every ``stride``-th prompt of the synthetic suite: the held-out evaluation set."""
    return synthetic_suite_prompts()[::stride]


def generate_clips(model: VideoDiT, prompts, seed: int, *, steps: int = 16, guidance: float = 1.0,
                   batch_size: int = 16) -> np.ndarray:
    """One clip per prompt with the noise of ``seed``: uint8 ``(N, T, H, W, 3)``."""
    cfg = model.config
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(len(prompts), cfg.channels, cfg.frames, *cfg.size, generator=generator)
    ids = torch.tensor([condition_ids(p, cfg) for p in prompts], dtype=torch.long)
    out = []
    for start in range(0, len(prompts), batch_size):
        x = sample(model, ids[start:start + batch_size], noise[start:start + batch_size], steps=steps,
                   guidance=guidance)
        out.append(to_uint8_frames(x).numpy())
    return np.concatenate(out)


def evaluate(model: VideoDiT, *, seed: int = EVAL_SEED, steps: int = 16, guidance: float = 1.0) -> dict[str, float]:
    """Pixel Frechet distances of generated clips (held-out seed) to exact-renderer clips of the same prompts."""
    prompts = evaluation_prompts()
    reference = render_clips(prompts, [seed] * len(prompts), model.config)
    generated = generate_clips(model, prompts, seed, steps=steps, guidance=guidance)
    return {k: round(v, 4) for k, v in pixel_frechet(generated, reference).items()}


def fvd_against_renderer(checkpoints: Sequence[str], *, prompt_stride: int = 8, seed: int = 0,
                         reference_seeds: Sequence[int] = (1000, 1001), size: tuple[int, int] = (64, 64),
                         steps: int = 32, batch_size: int = 4, log=print) -> dict[str, float]:
    """FVD (real Kinetics-400 I3D, the default protocol) of each checkpoint's clips against exact-renderer clips.

    The demo's setting: every ``prompt_stride``-th prompt of the synthetic suite, one clip per prompt (noise seed
    ``seed``) resized to ``size``; the reference is the exact renderer at ``reference_seeds`` (held out from
    training), rendered at ``size``. ``checkpoints`` are generator names or paths (``untrained:...`` too). The I3D
    weights must be cached (``vbench-lite weights fetch i3d``). Small sets: the values rank models, they are not
    comparable with published FVDs (see ``metrics.fvd``).
    """
    from metrics.fvd import FeatureStatistics, I3dFeatureExtractor, fvd_from_statistics  # heavy: I3D, scipy
    from vbench_lite.weights import converted_path

    weights = converted_path()
    if not weights.is_file():
        raise VbenchError(f"{weights}: I3D weights not cached (run `vbench-lite weights fetch i3d`)")
    prompts = synthetic_suite_prompts()[::prompt_stride]
    extractor = I3dFeatureExtractor(weights, batch_size=batch_size, device="cpu")
    renderer = SyntheticGenerator()
    reference = [renderer.generate(p, seed=s, num_frames=16, size=size).frames for s in reference_seeds
                 for p in prompts]
    ref_stats = FeatureStatistics.from_features(extractor.features(reference))
    log(f"reference: {len(reference)} exact-renderer clips")
    out = {}
    for name in checkpoints:
        gen = ReferenceGenerator(checkpoint=name, steps=steps)
        clips = [gen.generate(p, seed=seed, num_frames=gen.config.frames, size=size).frames for p in prompts]
        out[name] = fvd_from_statistics(FeatureStatistics.from_features(extractor.features(clips)), ref_stats)
        log(f"{name}: FVD {out[name]:.1f} ({len(clips)} clips)")
    return out
