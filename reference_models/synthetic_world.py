"""A deterministic synthetic world: coloured shapes moving on a plain background (numpy; OpenCV for the blur).

The world the reference models are trained on and the ``synthetic`` generator renders. It knows nothing of prompts
or suites: scenes come from a text or from plain structured fields (:func:`parse_scene`); the generator adapter
(:mod:`vbench_lite.generators.synthetic`) turns prompts into scenes and frames into clips.

Texts like "a red circle moving left on a black background" are rendered exactly, so metrics have known answers.
The same (key, seed, num_frames, size) always gives the same bytes.

The seed sets the start position, size and speed jitter. Defect options degrade the clip in controlled ways that
the metric tests and ``vbench-lite calibrate`` rely on: the frame defects of :mod:`reference_models.video_defects`
(flicker, freeze, shuffle, noise, blur, drop, compress, color_shift, jitter: closed forms listed there) plus two that
change the scene before rendering:

============= ==========================================================================================
defect        what it does
============= ==========================================================================================
none          the exact rendering
wrong_color   each object is drawn in a different colour than the prompt asks for, at any strength: a binary
              defect (graded versions were not: an RGB blend of the two colours scored worse on text alignment
              than the wrong colour itself, and a mid-clip colour change is a temporal defect, worse again)
remove_object the last object of the scene (the only one of a one-object scene) is not drawn from frame
              ``ceil((1 - min(s, 1)) T)`` on: at strength 1 it is absent from every frame
============= ==========================================================================================

Strength 1 of flicker, freeze, shuffle, noise and blur gives the same bytes as before strengths were graded (the
default strengths keep ``noise`` the worst defect on every temporal measure).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference_models.video_defects import FRAME_DEFECTS, DefectError, apply_frame_defect

# -- the world's vocabulary ---------------------------------------------------------------------------------
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 190, 40),
    "blue": (40, 70, 230),
    "yellow": (235, 220, 40),
    "orange": (245, 140, 20),
    "purple": (150, 50, 200),
    "cyan": (40, 210, 220),
    "white": (245, 245, 245),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (10, 10, 10),
    "gray": (120, 120, 120),
    "navy": (15, 20, 70),
    "white": (235, 235, 235),
}
SHAPES = ("circle", "square", "triangle", "diamond")
#: motion name -> unit direction (dx, dy) in image coordinates (y grows downwards)
MOTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
    "diagonally": (0.7071, 0.7071),
    "still": (0.0, 0.0),
}
#: Defects that change the scene before rendering (synthetic clips only).
SCENE_DEFECTS = ("wrong_color", "remove_object")
#: Defects without a graded strength (the same clip at every strength).
BINARY_DEFECTS = ("wrong_color",)
DEFECTS = ("none", "flicker", "freeze", "shuffle", "wrong_color", "noise", "blur", "drop", "compress", "color_shift",
           "jitter", "remove_object")
assert set(DEFECTS) == {"none", *FRAME_DEFECTS, *SCENE_DEFECTS}

_OBJECT = r"(?:an?\s+)?(?P<color{i}>{colors})\s+(?P<shape{i}>{shapes})"
_COLORS_RE = "|".join(COLORS)
_SHAPES_RE = "|".join(SHAPES)
_BG_RE = "|".join(BACKGROUNDS)
_PROMPT_RE = re.compile(
    _OBJECT.format(i=1, colors=_COLORS_RE, shapes=_SHAPES_RE)
    + r"(?:\s+and\s+" + _OBJECT.format(i=2, colors=_COLORS_RE, shapes=_SHAPES_RE) + r")?"
    + r"\s+(?:moving\s+(?P<motion>left|right|up|down|diagonally)|(?:staying|standing)\s+still)"
    + r"\s+on\s+an?\s+(?P<bg>" + _BG_RE + r")\s+background",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SceneObject:
    shape: str
    color: str
    motion: str


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]
    background: str

    def text(self) -> str:
        return describe_scene(self)


def describe_scene(scene: Scene) -> str:
    objs = " and ".join(f"a {o.color} {o.shape}" for o in scene.objects)
    motion = scene.objects[0].motion
    verb = "staying still" if motion == "still" else f"moving {motion}"
    return f"{objs} {verb} on a {scene.background} background"


class SceneError(ValueError):
    """A text or fields the synthetic world cannot render, or an unknown word, shape or defect (one line)."""


def parse_scene(text: str, fields: Mapping[str, Any] | None = None) -> Scene:
    """Structured fields win (``objects``: [{shape, color, motion}], ``background``); else the text is parsed.

    Raises :class:`SceneError` for a text the world cannot render or a word outside its vocabulary; malformed
    ``fields`` (not the documented shape) raise ``KeyError`` or ``TypeError``.
    """
    f = fields or {}
    if "objects" in f and "background" in f:
        objs = tuple(SceneObject(o["shape"], o["color"], o.get("motion", "still")) for o in f["objects"])
        scene = Scene(objs, f["background"])
    else:
        m = _PROMPT_RE.search(text)
        if not m:
            raise SceneError(f"the synthetic world cannot render {text!r} "
                             "(expected e.g. 'a red circle moving left on a black background')")
        motion = (m.group("motion") or "still").lower()
        objs = [SceneObject(m.group("shape1").lower(), m.group("color1").lower(), motion)]
        if m.group("shape2"):
            objs.append(SceneObject(m.group("shape2").lower(), m.group("color2").lower(), motion))
        scene = Scene(tuple(objs), m.group("bg").lower())
    for o in scene.objects:
        if o.shape not in SHAPES or o.color not in COLORS or o.motion not in MOTIONS:
            raise SceneError(f"unknown shape/colour/motion in {o}")
    if scene.background not in BACKGROUNDS:
        raise SceneError(f"unknown background {scene.background!r}")
    return scene


def seed_for(key: str, seed: int) -> int:
    """A 64-bit seed from a text key (the prompt id) and a sample seed: stable across runs and machines."""
    digest = hashlib.sha256(f"{key}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _shape_mask(shape: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    """Coverage in [0, 1] of one shape on a supersampled grid (anti-aliased by averaging later)."""
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return (dx * dx + dy * dy) <= r * r
    if shape == "square":
        return (np.abs(dx) <= r * 0.85) & (np.abs(dy) <= r * 0.85)
    if shape == "diamond":
        return (np.abs(dx) + np.abs(dy)) <= r * 1.1
    if shape == "triangle":  # apex up
        top, bottom = cy - r, cy + r * 0.8
        half_width = (yy - top) / (bottom - top) * r
        return (yy >= top) & (yy <= bottom) & (np.abs(dx) <= half_width)
    raise SceneError(f"unknown shape {shape!r}")


def render_scene(scene: Scene, *, seed: int, num_frames: int, size: tuple[int, int],
                 color_override: dict[int, str] | None = None, rng_key: str = "",
                 hidden_from: dict[int, int] | None = None) -> np.ndarray:
    """Render ``(T, H, W, 3)`` uint8 frames. Objects bounce off the borders so motion never stops.

    ``hidden_from`` maps an object's index to the first frame it is no longer drawn on (``remove_object``); the
    random draws are the same either way, so the other objects do not move."""
    h, w = size
    rng = np.random.default_rng(seed_for(rng_key, seed))
    ss = 2  # 2x2 supersampling for anti-aliased edges: smooth motion for optical flow
    ys = (np.arange(h * ss) + 0.5) / ss
    xs = (np.arange(w * ss) + 0.5) / ss
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    bg = np.array(BACKGROUNDS[scene.background], dtype=np.float32)
    frames = np.empty((num_frames, h, w, 3), dtype=np.float32)
    frames[:] = bg
    for k, (obj, (r, cx0, cy0, speed)) in enumerate(zip(scene.objects, _draw_objects(scene, rng, h, w))):
        dx, dy = MOTIONS[obj.motion]
        color_name = (color_override or {}).get(k, obj.color)
        color = np.array(COLORS[color_name], dtype=np.float32)
        for t in range(min(num_frames, (hidden_from or {}).get(k, num_frames))):
            cx = _bounce(cx0 + dx * speed * t, r, w - r)
            cy = _bounce(cy0 + dy * speed * t, r, h - r)
            cover = _shape_mask(obj.shape, yy, xx, cy, cx, r).astype(np.float32)
            cover = cover.reshape(h, ss, w, ss).mean(axis=(1, 3))[..., None]  # (H, W, 1)
            frames[t] = frames[t] * (1.0 - cover) + color * cover
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _draw_objects(scene: Scene, rng: np.random.Generator, h: int, w: int) -> list[tuple[float, float, float, float]]:
    """Each object's (radius, start x, start y, speed in pixels per frame), in the order of the random draws."""
    scale = min(h, w)
    drawn = []
    for k, obj in enumerate(scene.objects):
        r = scale * rng.uniform(0.13, 0.18)
        dx, dy = MOTIONS[obj.motion]
        # Start on the side the motion leaves, so a 16-frame clip moves the way its prompt says before any bounce.
        cx0 = _start(rng, dx, r, w - r)
        cy0 = _start(rng, dy, r, h - r)
        if len(scene.objects) > 1:  # keep two objects apart, in the relation the prompt's fields state
            if two_object_relation(obj.motion) == "above":
                cy0 = h * (0.28 if k == 0 else 0.72) + rng.uniform(-0.04, 0.04) * h
            else:
                cx0 = w * (0.28 if k == 0 else 0.72) + rng.uniform(-0.04, 0.04) * w
        speed = scale * rng.uniform(0.025, 0.035)  # pixels per frame
        drawn.append((r, cx0, cy0, speed))
    return drawn


def object_tracks(scene: Scene, *, seed: int, num_frames: int, size: tuple[int, int], rng_key: str = "",
                  hidden_from: dict[int, int] | None = None) -> list[dict[str, np.ndarray]]:
    """Ground truth of :func:`render_scene` with the same arguments (the same random draws): per object, arrays
    over frames ``cx``, ``cy`` (shape centre, pixels), ``box`` ((T, 4) tight x0, y0, x1, y1 of the drawn shape,
    clipped to the frame) and ``visible`` (False from ``hidden_from``); the radius ``r``. Renders nothing."""
    h, w = size
    rng = np.random.default_rng(seed_for(rng_key, seed))
    tracks = []
    for k, (obj, (r, cx0, cy0, speed)) in enumerate(zip(scene.objects, _draw_objects(scene, rng, h, w))):
        dx, dy = MOTIONS[obj.motion]
        t = np.arange(num_frames)
        cx = np.array([_bounce(cx0 + dx * speed * i, r, w - r) for i in t])
        cy = np.array([_bounce(cy0 + dy * speed * i, r, h - r) for i in t])
        x0, y0, x1, y1 = shape_extent(obj.shape, r)
        box = np.stack([np.clip(cx + x0, 0, w), np.clip(cy + y0, 0, h), np.clip(cx + x1, 0, w),
                        np.clip(cy + y1, 0, h)], axis=1)
        tracks.append({"cx": cx, "cy": cy, "r": np.float64(r), "box": box,
                       "visible": t < (hidden_from or {}).get(k, num_frames)})
    return tracks


def shape_extent(shape: str, r: float) -> tuple[float, float, float, float]:
    """The tight box of :func:`_shape_mask`'s shape relative to its centre: (x0, y0, x1, y1)."""
    half = {"circle": r, "square": r * 0.85, "diamond": r * 1.1}.get(shape)
    if half is not None:
        return -half, -half, half, half
    if shape == "triangle":
        return -r, -r, r, r * 0.8
    raise SceneError(f"unknown shape {shape!r}")


def two_object_relation(motion: str) -> str:
    """Where object 0 starts relative to object 1: stacked for horizontal motion, side by side otherwise."""
    dx, dy = MOTIONS[motion]
    return "above" if dx != 0 and dy == 0 else "left of"


def _start(rng: np.random.Generator, direction: float, lo: float, hi: float) -> float:
    u = rng.uniform()
    if direction > 0:
        return lo + 0.2 * u * (hi - lo)
    if direction < 0:
        return hi - 0.2 * u * (hi - lo)
    return lo + u * (hi - lo)


def _bounce(x: float, lo: float, hi: float) -> float:
    """Reflect ``x`` into ``[lo, hi]`` (a triangle wave), so objects bounce off the borders."""
    span = hi - lo
    if span <= 0:
        return lo
    y = (x - lo) % (2 * span)
    return lo + (y if y <= span else 2 * span - y)


def wrong_colors(scene: Scene) -> dict[int, str]:
    """A colour for each object that is far from the asked one (the one of the opposite hue in our palette)."""
    names = list(COLORS)
    opposite = {"red": "cyan", "cyan": "red", "green": "purple", "purple": "green", "blue": "yellow",
                "yellow": "blue", "orange": "blue", "white": "red"}
    return {k: opposite.get(o.color, names[(names.index(o.color) + 4) % len(names)])
            for k, o in enumerate(scene.objects)}


def apply_defect(frames: np.ndarray, defect: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Degrade rendered uint8 frames; the scene defects (``wrong_color``, ``remove_object``) act at render time."""
    if defect in ("none", *SCENE_DEFECTS):
        return frames
    try:
        return apply_frame_defect(frames, defect, strength, rng)
    except DefectError as exc:
        raise SceneError(f"{exc} (known: {', '.join(DEFECTS)})" if "unknown" in str(exc) else str(exc)) from None


def removal_start(num_frames: int, strength: float) -> int:
    """The first frame without the removed object: ``ceil((1 - min(s, 1)) T)``, 0 at strength 1."""
    return math.ceil((1.0 - min(max(strength, 0.0), 1.0)) * num_frames)


def render_clip(scene: Scene, *, key: str, seed: int, num_frames: int, size: tuple[int, int], defect: str = "none",
                strength: float = 1.0) -> np.ndarray:
    """The frames of one clip, uint8 ``(T, H, W, 3)``: ``scene`` rendered with the noise of (``key``, ``seed``), then
    degraded by ``defect`` at ``strength`` (``wrong_color`` and ``remove_object`` act at render time, the others
    degrade the rendering)."""
    override = wrong_colors(scene) if defect == "wrong_color" else None
    hidden = ({len(scene.objects) - 1: removal_start(num_frames, strength)}
              if defect == "remove_object" and strength > 0 else None)
    frames = render_scene(scene, seed=seed, num_frames=num_frames, size=size, color_override=override, rng_key=key,
                          hidden_from=hidden)
    rng = np.random.default_rng(seed_for(key + "|defect", seed))
    return apply_defect(frames, defect, strength, rng)


def suite_scenes() -> list[Scene]:
    """The scenes of the ``synthetic`` suite, in order: every colour x shape x motion on one background each, plus
    16 two-object scenes. Deterministic, so the suite's sha256 is stable."""
    scenes: list[Scene] = []
    bgs = list(BACKGROUNDS)
    colors = list(COLORS)
    for ci, color in enumerate(colors):
        for si, shape in enumerate(SHAPES):
            for mi, motion in enumerate(MOTIONS):
                # vary the background and keep the suite small: one background per combination
                bg = bgs[(ci + si + mi) % len(bgs)]
                if COLORS[color] == BACKGROUNDS.get(bg) or (color == "white" and bg == "white"):
                    bg = "black"
                scenes.append(Scene((SceneObject(shape, color, motion),), bg))
    for k in range(16):
        c1, c2 = colors[k % len(colors)], colors[(k * 3 + 1) % len(colors)]
        if c1 == c2:
            c2 = colors[(k + 2) % len(colors)]
        s1, s2 = SHAPES[k % len(SHAPES)], SHAPES[(k + 1) % len(SHAPES)]
        motion = list(MOTIONS)[k % len(MOTIONS)]
        bg = "white" if "white" not in (c1, c2) and k % 4 == 0 else bgs[k % 3]
        scenes.append(Scene((SceneObject(s1, c1, motion), SceneObject(s2, c2, motion)), bg))
    return scenes
