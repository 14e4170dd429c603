"""Which prompts a semantic metric scores, and the notes on the ones it leaves out: one form for all nine.

Every semantic metric stores a reason code per clip in the feature ``applicable`` (int8): :data:`APPLICABLE` (1)
when the clip is scored; :data:`OUTSIDE_SUBSET` when the prompt is tagged for other dimensions only
(:func:`vbench_lite.prompt_fields.in_subset`: VBench scores each dimension on its own prompt subset); otherwise a
metric's own code (0: the prompt lacks the fields or text the dimension needs; 2: a metric-specific reason). A clip
that is not applicable has the value NaN, is left out of the mean, and :func:`applicability_notes` writes one note
per reason: ``"12 of 208 prompts are tagged for other dimensions, not object_class: not applicable"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from metrics.base import ClipRecord, MetricResult, VideoMetric
from vbench_lite.prompt_fields import in_subset
from vbench_lite.types import Prompt

#: The reason codes shared by every metric (a metric adds its own, e.g. 2, in its ``reasons``).
LACKS, APPLICABLE, OUTSIDE_SUBSET = 0, 1, 3


def subset_reason(dimension: str) -> str:
    return f"are tagged for other dimensions, not {dimension}"


def subset_code(prompt: Prompt, dimension: str, code: int) -> int:
    """:data:`OUTSIDE_SUBSET` when ``prompt`` is not in ``dimension``'s subset, else ``code`` (the field check's)."""
    return code if in_subset(prompt, dimension) else OUTSIDE_SUBSET


def code_of(features: dict[str, np.ndarray]) -> int:
    """The reason code stored in one clip's features (1: applicable)."""
    return int(np.asarray(features.get("applicable", APPLICABLE)).reshape(()))


def applicability_notes(records: Sequence[ClipRecord], reasons: dict[int, str], dimension: str) -> list[str]:
    """One note per reason code found in the records: ``"3 of 40 prompts have no fields.action: not applicable"``
    (prompts counted once each); :data:`OUTSIDE_SUBSET` is described by :func:`subset_reason`."""
    reasons = {OUTSIDE_SUBSET: subset_reason(dimension), **reasons}
    prompts: dict[int, set[str]] = {}
    for r in records:
        code = code_of(r.features)
        if code != APPLICABLE:
            prompts.setdefault(code, set()).add(r.prompt.id)
    total = len({r.prompt.id for r in records})
    return [f"{len(ids)} of {total} prompts {reasons.get(code, 'cannot be scored')}: not applicable"
            for code, ids in sorted(prompts.items())]


def clip_note(features: dict[str, np.ndarray], reasons: dict[int, str], dimension: str) -> str | None:
    """``"not applicable: the prompt is tagged for other dimensions, not object_class"`` for one clip (per_video.csv),
    or None when the clip is scored."""
    code = code_of(features)
    if code == APPLICABLE:
        return None
    why = {OUTSIDE_SUBSET: subset_reason(dimension), **reasons}.get(code, "cannot be scored")
    verb, _, rest = why.partition(" ")  # the reasons are written for "N prompts ...": said of one prompt here
    singular = {"are": "is", "have": "has", "ask": "asks", "name": "names"}.get(verb, verb)
    return f"not applicable: the prompt {singular} {rest.replace(' nor carry ', ' nor carries ')}"


def not_applicable(name: str, code: int) -> dict[str, np.ndarray]:
    """The features of a clip that is not scored: NaN and its reason code."""
    return {name: np.float64("nan"), "applicable": np.int8(code)}


def mark_results(results: dict[str, MetricResult], records: Sequence[ClipRecord], reasons: dict[int, str],
                 toy: str | None, dimension: str) -> None:
    """Add the not-applicable notes (:func:`metrics.applicability.applicability_notes`) and, for toy models, the toy
    label and its notes, to every result."""
    notes = applicability_notes(records, reasons, dimension)
    if toy:
        notes.append(f"computed with {toy.split(':')[0]}, a toy model: not comparable with VBench's numbers")
        foreign = sum(1 for r in records if r.prompt.category != "synthetic")
        if foreign:  # the toy models know only coloured shapes on plain backgrounds
            notes.append(f"{foreign} of {len(records)} clips are not from the synthetic suite: the toy model's "
                         "numbers for them mean nothing; pass a real model")
    for res in results.values():
        res.notes.extend(notes)
        if toy:
            res.toy_model = toy


class SemanticMetric(VideoMetric):
    """A semantic dimension's metric: features carry a reason code (``applicable``), ``reasons`` says why each code
    is left out, ``toy_description`` names the toy model behind the numbers (None: a real model). It writes the
    per-clip notes of per_video.csv and the result's notes and toy label."""

    #: reason code -> why a prompt is left out (code 1 is "applicable", 3 "outside the dimension's subset")
    reasons: ClassVar[dict[int, str]] = {}

    @property
    def toy_description(self) -> str | None:
        return None

    def per_video_note(self, features: dict[str, np.ndarray]) -> str | None:
        return clip_note(features, self.reasons, self.name)

    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        results = super().aggregate(records, reference=reference, seed=seed)
        mark_results(results, records, self.reasons, self.toy_description, self.name)
        return results


__all__ = [
    "APPLICABLE",
    "LACKS",
    "OUTSIDE_SUBSET",
    "SemanticMetric",
    "applicability_notes",
    "clip_note",
    "code_of",
    "mark_results",
    "not_applicable",
    "subset_code",
    "subset_reason",
]
