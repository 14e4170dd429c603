"""Captioned frames of the synthetic world for training and evaluating the toy CLIP, with fixed held-out splits.

A caption is the synthetic world's own description of a scene ("a red circle moving left on a black background",
``describe_scene``) and its images are frames that ``render_scene`` draws for it. Everything is a function of
explicit seeds, so the data set and the splits are the same on every machine.

Held out from training (never rendered for it):

- colour-shape pairs in :data:`HELD_OUT_PAIRS`, in any motion, background or two-object scene (does the model
  compose a colour and a shape it never saw together?);
- :data:`N_HELD_OUT_TRIPLES` colour-shape-motion triples drawn with a fixed seed (single frames barely show the
  motion, so for a frame model these are mostly "seen appearance, unseen caption");
- render seeds: training clips use seeds below :data:`EVAL_SEED_BASE`, evaluation clips seeds from it upwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from metrics.clip_model import frames_to_pixels
from reference_models.synthetic_world import (
    BACKGROUNDS,
    COLORS,
    MOTIONS,
    SHAPES,
    Scene,
    SceneObject,
    describe_scene,
    render_scene,
)
from vbench_lite.types import slugify

HELD_OUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("red", "triangle"), ("green", "diamond"), ("purple", "circle"), ("cyan", "square"))
N_HELD_OUT_TRIPLES = 16
SPLIT_SEED = 20240611
EVAL_SEED_BASE = 1_000_000
#: Frames per rendered clip; a training sample is one frame of it at a random time step.
CLIP_FRAMES = 16
#: Render sizes of training clips and their probabilities; every frame is brought to the model's 64 x 64 input.
TRAIN_SIZES: tuple[tuple[int, float], ...] = ((64, 0.75), (48, 0.10), (96, 0.15))


@lru_cache(maxsize=1)
def held_out_triples() -> frozenset[tuple[str, str, str]]:
    """Colour-shape-motion triples kept out of training (pairs in HELD_OUT_PAIRS are out anyway)."""
    rng = np.random.default_rng(SPLIT_SEED)
    candidates = [(c, s, m) for c in COLORS for s in SHAPES for m in MOTIONS if (c, s) not in HELD_OUT_PAIRS]
    picked = rng.choice(len(candidates), size=N_HELD_OUT_TRIPLES, replace=False)
    return frozenset(candidates[i] for i in sorted(picked))


def backgrounds_for(colors: tuple[str, ...] | list[str]) -> list[str]:
    """Backgrounds every colour shows on (the synthetic suite never puts a white object on white)."""
    return [bg for bg in BACKGROUNDS if not any(c == "white" and bg == "white" for c in colors)]


def split_of(scene: Scene) -> str:
    """``"train"``, ``"held_out_pair"`` or ``"held_out_triple"``: the split the scene's caption belongs to."""
    triples = held_out_triples()
    if any((o.color, o.shape) in HELD_OUT_PAIRS for o in scene.objects):
        return "held_out_pair"
    if any((o.color, o.shape, o.motion) in triples for o in scene.objects):
        return "held_out_triple"
    return "train"


def appearance_key(scene: Scene) -> tuple:
    """What a single frame can show: the objects' colours and shapes in order (left to right) and the background.

    Captions that differ only in motion share a key; training treats them all as positives of the same frame.
    """
    return tuple((o.color, o.shape) for o in scene.objects), scene.background


def sample_train_scene(rng: np.random.Generator, two_object_fraction: float = 0.25) -> Scene:
    """A random scene whose caption is in the training split."""
    colors, motions = list(COLORS), list(MOTIONS)
    while True:
        motion = motions[rng.integers(len(motions))]
        n_objects = 2 if rng.random() < two_object_fraction else 1
        objs = []
        for _ in range(n_objects):
            objs.append(SceneObject(SHAPES[rng.integers(len(SHAPES))], colors[rng.integers(len(colors))], motion))
        if n_objects == 2 and objs[0].color == objs[1].color:
            continue
        bgs = backgrounds_for([o.color for o in objs])
        scene = Scene(tuple(objs), bgs[rng.integers(len(bgs))])
        if split_of(scene) == "train":
            return scene


@dataclass
class CaptionedFrames:
    """``frames`` uint8 (N, 64, 64, 3); frame i shows ``captions[i]`` (appearance ``keys[i]``), was cut from clip
    ``clip_ids[i]``, and that clip belongs to sibling group ``group_ids[i]``."""

    frames: np.ndarray
    captions: list[str]
    keys: list[tuple]
    clip_ids: np.ndarray
    group_ids: np.ndarray


def render_frames(scene: Scene, seed: int, size: int, image_size: int = 64) -> np.ndarray:
    """The ``CLIP_FRAMES`` frames of a scene as uint8 (T, image_size, image_size, 3), resized like the metric does."""
    frames = render_scene(scene, seed=seed, num_frames=CLIP_FRAMES, size=(size, size),
                          rng_key=slugify(describe_scene(scene)))
    if size == image_size:
        return frames
    pixels = frames_to_pixels(frames, image_size)  # (T, 3, S, S) in [0, 1]
    return (pixels.permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)


def shape_siblings(scene: Scene) -> list[Scene]:
    """The scene with its first object in every shape, keeping only training captions (the scene is among them).

    Siblings differ in nothing but one shape word and the drawn outline: batches made of them are the hard
    negatives that teach shape, which single frames show far more subtly than colour or background.
    """
    first = scene.objects[0]
    siblings = [Scene((SceneObject(shape, first.color, first.motion), *scene.objects[1:]), scene.background)
                for shape in SHAPES]
    return [s for s in siblings if split_of(s) == "train"]


def training_frames(n_groups: int, seed: int, frames_per_clip: int = 2, image_size: int = 64) -> CaptionedFrames:
    """``n_groups`` random training scenes, each with its shape siblings; every clip is rendered once with its own
    seed (< EVAL_SEED_BASE) and size, and sampled at ``frames_per_clip`` distinct time steps."""
    rng = np.random.default_rng(seed)
    sizes = np.array([s for s, _ in TRAIN_SIZES])
    probs = np.array([p for _, p in TRAIN_SIZES])
    frames: list[np.ndarray] = []
    captions: list[str] = []
    keys: list[tuple] = []
    clip_ids: list[int] = []
    group_ids: list[int] = []
    n_clips = 0
    for group in range(n_groups):
        for scene in shape_siblings(sample_train_scene(rng)):
            size = int(rng.choice(sizes, p=probs))
            clip = render_frames(scene, int(rng.integers(EVAL_SEED_BASE)), size, image_size)
            steps = rng.choice(CLIP_FRAMES, size=frames_per_clip, replace=False)
            frames.append(clip[steps])
            captions += [describe_scene(scene)] * frames_per_clip
            keys += [appearance_key(scene)] * frames_per_clip
            clip_ids += [n_clips] * frames_per_clip
            group_ids += [group] * frames_per_clip
            n_clips += 1
    return CaptionedFrames(np.concatenate(frames), captions, keys, np.array(clip_ids), np.array(group_ids))


@dataclass(frozen=True)
class PoolEntry:
    scene: Scene
    split: str
    seed: int

    @property
    def caption(self) -> str:
        return describe_scene(self.scene)


def retrieval_pool(seed: int = 0, limit: int | None = None) -> list[PoolEntry]:
    """The single-object retrieval pool: one clip per colour x shape x background, each a distinct appearance.

    Its motion is a held-out one where the colour-shape pair has any (so held-out triples are in the pool),
    else drawn with ``seed``; render seeds are held out (>= EVAL_SEED_BASE). ``limit`` keeps an evenly spread
    subset (for quick tests), always including every split.
    """
    rng = np.random.default_rng(seed)
    triples = held_out_triples()
    motions = list(MOTIONS)
    entries = []
    for color in COLORS:
        for shape in SHAPES:
            held_motions = [m for m in motions if (color, shape, m) in triples]
            for bg in backgrounds_for([color]):
                choices = held_motions or motions
                motion = choices[rng.integers(len(choices))]
                scene = Scene((SceneObject(shape, color, motion),), bg)
                entries.append(PoolEntry(scene, split_of(scene), EVAL_SEED_BASE + seed * 10_000 + len(entries)))
    if limit is not None and limit < len(entries):
        keep = np.unique(np.round(np.linspace(0, len(entries) - 1, limit)).astype(int))
        entries = [entries[i] for i in keep]
    return entries


def two_object_pool(seed: int = 0, n: int = 48) -> list[PoolEntry]:
    """Two-object scenes with distinct appearances (training colour-shape pairs, held-out render seeds)."""
    rng = np.random.default_rng(seed + 1)
    seen: set[tuple] = set()
    entries: list[PoolEntry] = []
    while len(entries) < n:
        scene = sample_train_scene(rng, two_object_fraction=1.0)
        if appearance_key(scene) in seen:
            continue
        seen.add(appearance_key(scene))
        entries.append(PoolEntry(scene, "two_object", EVAL_SEED_BASE + 500_000 + seed * 10_000 + len(entries)))
    return entries
