"""Rendered clips of the synthetic world with exact ground truth, for the toy detector and the toy action classifier.

Every clip is :func:`render_clip` of a random scene (one or two objects, any shape, colour, background and motion,
several frame sizes, some defects); its ground truth comes from :func:`object_tracks` with the same arguments (the
same random draws, so the boxes are where the renderer drew the shapes). Everything is a function of explicit seeds.

Held-out split: training clips use the render key :data:`TRAIN_KEY` and render seeds below :data:`EVAL_SEED_BASE`;
evaluation clips use :data:`EVAL_KEY` and seeds from :data:`EVAL_SEED_BASE` on. No evaluation clip is ever rendered
for training. (Every colour, shape, background and motion is in both splits: the metrics need all of them.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reference_models.synthetic_world import (
    BACKGROUNDS,
    COLORS,
    MOTIONS,
    SHAPES,
    Scene,
    SceneObject,
    describe_scene,
    object_tracks,
    removal_start,
    render_clip,
    suite_scenes,
    wrong_colors,
)
from vbench_lite.types import slugify

TRAIN_KEY = "toy-vision-train"
EVAL_KEY = "toy-vision-eval"
EVAL_SEED_BASE = 1_000_000
#: (height, width) of rendered clips and their probabilities; the models resize every frame to their input.
SIZES: tuple[tuple[tuple[int, int], float], ...] = (
    ((64, 64), 0.55), ((48, 48), 0.08), ((96, 96), 0.12), ((128, 128), 0.05), ((48, 64), 0.05), ((64, 96), 0.05),
    ((72, 128), 0.05), ((96, 64), 0.05))
#: Defects of training clips with probabilities and strength ranges. Frame defects that move content in time
#: (freeze, shuffle, drop, jitter) are left out: they would make the per-frame boxes wrong. color_shift is left out
#: because it changes the colours the labels name; wrong_color is in (the labels follow the drawn colours).
DEFECT_MIX: tuple[tuple[str, float, tuple[float, float]], ...] = (
    ("none", 0.50, (0.0, 0.0)), ("noise", 0.12, (0.1, 1.0)), ("blur", 0.10, (0.1, 1.0)),
    ("compress", 0.10, (0.0, 1.0)), ("flicker", 0.05, (0.5, 1.0)), ("wrong_color", 0.05, (1.0, 1.0)),
    ("remove_object", 0.08, (0.3, 1.0)))


@dataclass
class Clip:
    """One rendered clip: ``frames`` uint8 (T, H, W, 3) and its truth. ``objects[t]`` lists the objects visible in
    frame t as (shape, drawn colour, (x0, y0, x1, y1) in pixels, object index); ``asked`` the colours the scene asks
    for; ``centers[k]`` object k's (T, 2) box centres."""

    scene: Scene
    frames: np.ndarray
    objects: list[list[tuple[str, str, tuple[float, float, float, float], int]]]
    defect: str
    strength: float
    seed: int
    centers: list[np.ndarray]

    @property
    def motion(self) -> str:
        return self.scene.objects[0].motion


def random_scene(rng: np.random.Generator, two_object_fraction: float = 0.4) -> Scene:
    """Random shapes and colours (two objects never share a colour), a motion, a background every object shows on."""
    colors, motions = list(COLORS), list(MOTIONS)
    motion = motions[rng.integers(len(motions))]
    n = 2 if rng.random() < two_object_fraction else 1
    picked = rng.choice(len(colors), size=n, replace=False)
    objs = tuple(SceneObject(SHAPES[rng.integers(len(SHAPES))], colors[i], motion) for i in picked)
    # a white shape on the white background is invisible: the synthetic suite never asks for it
    bgs = [bg for bg in BACKGROUNDS if not (bg == "white" and any(o.color == "white" for o in objs))]
    return Scene(objs, bgs[rng.integers(len(bgs))])


def render_truth(scene: Scene, *, key: str, seed: int, num_frames: int, size: tuple[int, int], defect: str = "none",
                 strength: float = 1.0) -> Clip:
    """``render_clip`` of the arguments plus the truth the renderer used (same hidden frames, same drawn colours)."""
    frames = render_clip(scene, key=key, seed=seed, num_frames=num_frames, size=size, defect=defect,
                         strength=strength)
    hidden = ({len(scene.objects) - 1: removal_start(num_frames, strength)}
              if defect == "remove_object" and strength > 0 else None)
    drawn = wrong_colors(scene) if defect == "wrong_color" else {}
    tracks = object_tracks(scene, seed=seed, num_frames=num_frames, size=size, rng_key=key, hidden_from=hidden)
    objects: list[list] = [[] for _ in range(num_frames)]
    for k, (obj, tr) in enumerate(zip(scene.objects, tracks)):
        for t in np.nonzero(tr["visible"])[0]:
            objects[t].append((obj.shape, drawn.get(k, obj.color), tuple(float(v) for v in tr["box"][t]), k))
    centers = [np.stack([(tr["box"][:, 0] + tr["box"][:, 2]) / 2, (tr["box"][:, 1] + tr["box"][:, 3]) / 2], axis=1)
               for tr in tracks]
    return Clip(scene, frames, objects, defect, strength, seed, centers)


def _draw_size(rng: np.random.Generator) -> tuple[int, int]:
    probs = np.array([p for _, p in SIZES])
    return SIZES[int(rng.choice(len(SIZES), p=probs / probs.sum()))][0]


def _draw_defect(rng: np.random.Generator) -> tuple[str, float]:
    probs = np.array([p for _, p, _ in DEFECT_MIX])
    name, _, (lo, hi) = DEFECT_MIX[int(rng.choice(len(DEFECT_MIX), p=probs / probs.sum()))]
    return name, float(rng.uniform(lo, hi))


def random_clips(n: int, seed: int, split: str, frame_counts: tuple[int, ...] = (16,),
                 two_object_fraction: float = 0.4, empty_fraction: float = 0.05) -> list[Clip]:
    """``n`` random clips of the ``"train"`` or ``"eval"`` split (disjoint render keys and seeds), drawn with
    ``seed``. A fraction ``empty_fraction`` are one-object scenes with ``remove_object`` at strength 1 (no object
    in any frame)."""
    return list(iter_random_clips(n, seed, split, frame_counts, two_object_fraction, empty_fraction))


def iter_random_clips(n: int, seed: int, split: str, frame_counts: tuple[int, ...] = (16,),
                      two_object_fraction: float = 0.4, empty_fraction: float = 0.05) -> Iterator[Clip]:
    """:func:`random_clips` one at a time (training keeps only the frames it samples, not every clip)."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', not {split!r}")
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    key = TRAIN_KEY if split == "train" else EVAL_KEY
    for _ in range(n):
        render_seed = int(rng.integers(EVAL_SEED_BASE)) + (0 if split == "train" else EVAL_SEED_BASE)
        if rng.random() < empty_fraction:
            scene, (defect, strength) = random_scene(rng, 0.0), ("remove_object", 1.0)
        else:
            scene, (defect, strength) = random_scene(rng, two_object_fraction), _draw_defect(rng)
        num_frames = int(frame_counts[rng.integers(len(frame_counts))])
        yield render_truth(scene, key=key, seed=render_seed, num_frames=num_frames, size=_draw_size(rng),
                           defect=defect, strength=strength)


def known_answer_clips(n: int, seed: int = 0, size: tuple[int, int] = (64, 64), num_frames: int = 16
                       ) -> dict[str, list[Clip]]:
    """Held-out clips for the known answers, clean otherwise: ``wrong_color`` (every object drawn in another colour
    than asked), ``remove_object`` at strength 1 (one-object scenes: nothing drawn), ``two_object`` scenes (the
    relation of object 0 to object 1 is the world's ``two_object_relation``) and ``clean`` one-object clips."""
    rng = np.random.default_rng([seed, 2])
    out: dict[str, list[Clip]] = {"clean": [], "wrong_color": [], "remove_object": [], "two_object": []}
    for i in range(n):
        render_seed = EVAL_SEED_BASE + 500_000 + seed * 10_000 + i
        for name, two, defect in (("clean", 0.0, "none"), ("wrong_color", 0.3, "wrong_color"),
                                  ("remove_object", 0.0, "remove_object"), ("two_object", 1.0, "none")):
            scene = random_scene(rng, two)
            out[name].append(render_truth(scene, key=EVAL_KEY, seed=render_seed, num_frames=num_frames, size=size,
                                          defect=defect, strength=1.0))
    return out


def suite_clips(defect: str = "none", seed: int = 0, num_frames: int = 16, size: tuple[int, int] = (64, 64)
                ) -> list[Clip]:
    """The ``synthetic`` suite's scenes rendered as the synthetic generator renders its prompts (key = prompt id, the
    slug of the scene's text): the clips the offline demo scores, with their truth."""
    return [render_truth(scene, key=slugify(describe_scene(scene)), seed=seed, num_frames=num_frames, size=size,
                         defect=defect, strength=1.0) for scene in suite_scenes()]


# -- training reports ----------------------------------------------------------------------------------------------
def shown_path(path: Path, shipped: Path) -> str:
    """A weights path as a report records it: the file name for the shipped file (no machine's absolute path)."""
    return shipped.name if path == shipped else str(path)


def write_report(report: dict, out: Path, shipped: Path, shipped_report: Path, eval_only: bool) -> dict:
    """Record the sha256 of the weights at ``out`` and write the report beside them (``shipped_report`` for the
    shipped weights). ``--eval-only`` on the shipped weights refreshes the shipped report's evaluation, keeping its
    training record when the weights are the same; an evaluation of other weights alone is not written."""
    report["weights_sha256"] = hashlib.sha256(Path(out).read_bytes()).hexdigest()
    if eval_only and out == shipped and shipped_report.is_file():
        recorded = json.loads(shipped_report.read_text())
        if recorded.get("weights_sha256") == report["weights_sha256"]:
            report = {**recorded, **report}
    if not eval_only or "command" in report:
        (shipped_report if out == shipped else out.with_suffix(".report.json")).write_text(
            json.dumps(report, indent=2) + "\n")
    return report
