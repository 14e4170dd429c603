"""What a prompt asks for, read from its structured ``fields``: the targets of VBench's semantic dimensions.

Suites store the facts a dimension checks in :attr:`vbench_lite.types.Prompt.fields` (see
``vbench_lite/prompts/vocabulary.py`` for what each dimension needs). Two layouts exist and both are read here, so
every semantic metric sees one shape:

* plain words (the standard suite, VBench imports): ``objects: ["dog", "kennel"]``, ``colors: ["red", None]`` paired
  with ``objects``, ``relation: "left of"`` (object 0 REL object 1), ``action: "riding a bike"`` (a Kinetics-400
  label), ``scene: "alley"``, ``style: "watercolor painting"``, ``temporal_style: "in super slow motion"``;
* the synthetic world's scenes: ``objects: [{"shape", "color", "motion"}]`` (the object's name is its shape and its
  colour comes along), ``background``, ``motion``.

A field that is absent is ``None`` (or empty): the metric that needs it marks the prompt "not applicable" instead of
guessing from the text. Prompts without text (``no_text``) have no targets at all.

Which prompts a semantic dimension scores is also a matter of the prompt's tags (:func:`in_subset`): VBench scores
each dimension on its own prompt subset, so a suite's fields alone (a color prompt names an object too) must not
pull one dimension's prompts into another's score.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbench_lite.types import Prompt

#: Our relation names (what ``fields.relation`` holds): object 0 REL object 1.
RELATIONS = ("left of", "right of", "above", "below")
#: How files spell a relation (VBench: "on the left of", "on the top of" ...) -> our name.
RELATION_SPELLINGS = {
    "on the left of": "left of", "to the left of": "left of", "left of": "left of",
    "on the right of": "right of", "to the right of": "right of", "right of": "right of",
    "on the top of": "above", "on top of": "above", "above": "above",
    "on the bottom of": "below", "under": "below", "beneath": "below", "below": "below",
}

#: The Kinetics-400 class names ``fields.action`` is one of (data shipped with the prompt suites; read by path so that
#: this core module does not import the prompts package).
KINETICS400_FILE = Path(__file__).with_name("prompts") / "kinetics400_labels.txt"


#: VBench's semantic dimensions, each scored on its own prompt subset (the metric of each has the same name).
SEMANTIC_DIMENSIONS = ("object_class", "multiple_objects", "color", "spatial_relationship", "human_action", "scene",
                       "appearance_style", "temporal_style", "overall_consistency")


def in_subset(prompt: Prompt, dimension: str) -> bool:
    """Whether ``prompt`` belongs to the prompt subset of the semantic ``dimension``.

    VBench scores every semantic dimension on its own prompts (``VBench_full_info.json`` lists the dimensions of
    each prompt): object_class is the mean over its object_class prompts, not over every prompt that names an
    object, although the color, multiple_objects and spatial_relationship prompts name objects too, and
    overall_consistency is the mean over its 93 prompts, not over every prompt. So a prompt that says what it probes
    (any tag in ``prompt.dimensions``, quality tags such as ``motion`` included) belongs only to the semantic
    subsets it names. A prompt with no tag at all (a user's plain text or CSV file) belongs to every semantic
    dimension; the metric then decides by the fields the dimension needs (:func:`semantic_targets`).
    """
    if dimension not in SEMANTIC_DIMENSIONS:
        raise ValueError(f"{dimension!r} is not a semantic dimension (one of {', '.join(SEMANTIC_DIMENSIONS)})")
    return dimension in prompt.dimensions if prompt.dimensions else True


@functools.cache
def kinetics400_labels() -> tuple[str, ...]:
    """The 400 Kinetics-400 labels in lower case (as ``vbench/human_action.py:build_dict`` lowercases them), in the
    class order of VBench's UMT head; compare with a model's own labels by name, not by index."""
    lines = KINETICS400_FILE.read_text(encoding="utf-8").splitlines()
    labels = tuple(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))
    if len(labels) != 400 or len(set(labels)) != 400:
        raise ValueError(f"{KINETICS400_FILE}: expected 400 distinct labels, found {len(set(labels))}")
    return labels


@dataclass(frozen=True)
class SemanticTargets:
    """The semantic targets of one prompt (empty / None where the prompt does not ask)."""

    objects: tuple[str, ...] = ()
    #: The colour asked of each object, aligned with ``objects`` (None: no colour asked of that object).
    colors: tuple[str | None, ...] = ()
    #: ``objects[0]`` stands ``relation`` ``objects[1]``: one of :data:`RELATIONS`.
    relation: str | None = None
    action: str | None = None
    scene: str | None = None
    style: str | None = None
    temporal_style: str | None = None

    @property
    def colored_objects(self) -> tuple[tuple[str, str], ...]:
        """``(object, colour)`` for every object with a colour asked."""
        return tuple((o, c) for o, c in zip(self.objects, self.colors, strict=True) if c)


def normalise_relation(text: str | None) -> str | None:
    """``"on the left of"`` -> ``"left of"``; None for None or a spelling we do not know."""
    if not isinstance(text, str):
        return None
    return RELATION_SPELLINGS.get(" ".join(text.lower().split()))


def _word(value: Any) -> str | None:
    return " ".join(value.split()).lower() if isinstance(value, str) and value.strip() else None


def semantic_targets(prompt: Prompt) -> SemanticTargets:
    """The targets stated in ``prompt.fields`` (never parsed from the text)."""
    f = prompt.fields or {}
    if not prompt.has_text:
        return SemanticTargets()
    objects: list[str] = []
    colors: list[str | None] = []
    raw = f.get("objects")
    if isinstance(raw, str):
        raw = [raw]
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):  # the synthetic world's scene objects
            name, color = _word(item.get("shape") or item.get("name")), _word(item.get("color"))
        else:
            name, color = _word(item), None
        if name:
            objects.append(name)
            colors.append(color)
    listed = f.get("colors")
    if isinstance(listed, str):
        listed = [listed]
    if isinstance(listed, list):  # plain layout: colours paired with objects by position
        for i, c in enumerate(listed[:len(objects)]):
            colors[i] = _word(c) or colors[i]
    return SemanticTargets(objects=tuple(objects), colors=tuple(colors),
                           relation=normalise_relation(f.get("relation")) if len(objects) >= 2 else None,
                           action=_word(f.get("action")), scene=_word(f.get("scene")), style=_word(f.get("style")),
                           temporal_style=_word(f.get("temporal_style")))


__all__ = ["KINETICS400_FILE", "RELATIONS", "RELATION_SPELLINGS", "SEMANTIC_DIMENSIONS", "SemanticTargets",
           "in_subset", "kinetics400_labels", "normalise_relation", "semantic_targets"]
