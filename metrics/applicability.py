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

import numpy as np

from metrics.base import ClipRecord
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


__all__ = ["APPLICABLE", "LACKS", "OUTSIDE_SUBSET", "applicability_notes", "clip_note", "code_of", "not_applicable",
           "subset_code", "subset_reason"]
