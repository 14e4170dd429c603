"""``synthetic``: the generator adapter over the synthetic world (:mod:`reference_models.synthetic_world`).

Prompts of the ``synthetic`` suite ("a red circle moving left on a black background") are rendered exactly, so
metrics have known answers. The same (prompt, seed, num_frames, size) always gives the same bytes: the prompt id
keys the world's noise. The world's vocabulary and defects are re-exported here for the generator's users.

    --generator synthetic --generator-args defect=flicker,strength=1.0,fps=8

Defects (closed forms in :mod:`reference_models.video_defects` and :mod:`reference_models.synthetic_world`): none,
flicker, freeze, shuffle, wrong_color, noise, blur, drop (frame drop/repeat), compress (H.264 at a high CRF),
color_shift (hue rotation), jitter (uneven frame timing), remove_object. Strength 1 is the demo's defect;
``vbench-lite calibrate`` sweeps 0.25, 0.5, 1.
"""

from __future__ import annotations

import math
from typing import Any

from reference_models.synthetic_world import (
    BACKGROUNDS,
    COLORS,
    DEFECTS,
    MOTIONS,
    SCENE_DEFECTS,
    SHAPES,
    Scene,
    SceneError,
    SceneObject,
    describe_scene,
    parse_scene,
    render_clip,
    render_scene,
    suite_scenes,
    two_object_relation,
)
from vbench_lite.generators.base import Generator, unknown_arguments_error
from vbench_lite.types import Clip, Prompt, VbenchError, slugify

__all__ = ["BACKGROUNDS", "COLORS", "DEFECTS", "MOTIONS", "SCENE_DEFECTS", "SHAPES", "Scene", "SceneObject",
           "SyntheticGenerator", "describe_scene", "render_scene", "scene_from_prompt", "synthetic_suite_prompts"]


def scene_from_prompt(prompt: Prompt) -> Scene:
    """The scene of a prompt: its structured fields (``objects``, ``background``) win, else its text is parsed."""
    try:
        return parse_scene(prompt.text, prompt.fields)
    except SceneError as exc:
        raise VbenchError(f"prompt {prompt.id!r}: {exc}") from exc


class SyntheticGenerator(Generator):
    """``--generator synthetic --generator-args defect=flicker,strength=1.0,fps=8``."""

    name = "synthetic"
    extra_arguments: tuple[str, ...] = ()

    def __init__(self, defect: str = "none", strength: str | float = 1.0, fps: str | float = 8.0,
                 **extra: Any) -> None:
        if extra:
            raise unknown_arguments_error("synthetic", sorted(extra), ["defect", "strength", "fps"])
        if defect not in DEFECTS:
            raise VbenchError(f"synthetic generator: unknown defect {defect!r} (known: {', '.join(DEFECTS)})")
        try:
            strength = float(strength)
        except ValueError:
            raise VbenchError(f"synthetic generator: strength must be a number, got {strength!r}") from None
        if not (strength >= 0 and math.isfinite(strength)):
            raise VbenchError(f"synthetic generator: strength must be a finite number >= 0, got {strength}")
        super().__init__(defect=defect, strength=float(strength), fps=float(fps))
        self.defect = defect
        self.strength = float(strength)
        self.fps = float(fps)

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        frames = render_clip(scene_from_prompt(prompt), key=prompt.id, seed=seed, num_frames=num_frames, size=size,
                             defect=self.defect, strength=self.strength)
        return Clip(frames, fps=self.fps, source=f"synthetic:{prompt.id}:{seed}")


def synthetic_suite_prompts() -> list[Prompt]:
    """The ``synthetic`` suite: the world's suite scenes as prompts (ids are the slugs of their texts).

    Deterministic and ordered, so its sha256 is stable.
    """
    return [_scene_prompt(scene) for scene in suite_scenes()]


def _scene_prompt(scene: Scene) -> Prompt:
    text = describe_scene(scene)
    motion = scene.objects[0].motion
    dims = ["subject_consistency", "background_consistency", "color"]
    dims.append("temporal_flicker" if motion == "still" else "motion")
    if motion != "still":
        dims.append("dynamic_degree")
    if len(scene.objects) > 1:
        dims += ["multiple_objects", "spatial_relationship"]
    fields = {
        "objects": [{"shape": o.shape, "color": o.color, "motion": o.motion} for o in scene.objects],
        "background": scene.background,
        "colors": [o.color for o in scene.objects],
        "motion": motion,
    }
    if len(scene.objects) > 1:
        fields["relation"] = two_object_relation(motion)  # at the start of the clip
    # What VBench's semantic dimensions read (vbench_lite.prompt_fields): every object shares the scene's motion.
    fields["action"] = action_for_motion(motion)
    fields["scene"] = f"{scene.background} background"
    dims += (["object_class"] if len(scene.objects) == 1 else []) + ["human_action", "scene", "overall_consistency"]
    return Prompt(id=slugify(text), text=text, category="synthetic", dimensions=dims, fields=fields)


def action_for_motion(motion: str) -> str:
    """The synthetic world's motion as the toy action classifier's class (``reference_models.toy_action.ACTIONS``):
    ``"left"`` -> ``"moving left"``, ``"still"`` -> ``"staying still"``."""
    return "staying still" if motion == "still" else f"moving {motion}"
