"""VBench's Total, Quality and Semantic scores (``scripts/cal_final_score.py`` of the commit in dimensions.py).

For each dimension ``n = (score - Min) / (Max - Min) * weight``; Quality is ``sum(n) / sum(weight)`` over
QUALITY_LIST (the weights sum to 6.5: dynamic_degree weighs 0.5), Semantic the same over SEMANTIC_LIST (9), and Total
``(4 * Quality + 1 * Semantic) / 5``. VBench's script fills a missing dimension with 0 and goes on, which silently
gives a wrong Total; here a group is computed only when all its dimensions are present, and the result says which
are missing instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vbench_lite.vbench_compat.dimensions import BY_NAME, QUALITY, QUALITY_WEIGHT, SEMANTIC, SEMANTIC_WEIGHT


def normalized(name: str, score: float) -> float:
    """One dimension's weighted, min-max normalised score (``get_nomalized_score``)."""
    d = BY_NAME[name]
    return (score - d.low) / (d.high - d.low) * d.weight


def _group(scores: Mapping[str, float], names: tuple[str, ...]) -> float:
    return sum(normalized(n, scores[n]) for n in names) / sum(BY_NAME[n].weight for n in names)


def _present(scores: Mapping[str, float | None], name: str) -> bool:
    value = scores.get(name)
    return value is not None and math.isfinite(float(value))


def vbench_aggregate(scores: Mapping[str, float | None]) -> dict[str, Any]:
    """``{"quality", "semantic", "total", "missing": {...}, "normalized": {...}, "statement"}`` from VBench dimension
    scores (keys: VBench's names). A group with a missing (or NaN) dimension is None, and ``statement`` names them."""
    missing_q = [n for n in QUALITY if not _present(scores, n)]
    missing_s = [n for n in SEMANTIC if not _present(scores, n)]
    clean = {n: float(v) for n, v in scores.items() if n in BY_NAME and _present(scores, n)}
    quality = None if missing_q else _group(clean, QUALITY)
    semantic = None if missing_s else _group(clean, SEMANTIC)
    total = None
    if quality is not None and semantic is not None:
        total = (quality * QUALITY_WEIGHT + semantic * SEMANTIC_WEIGHT) / (QUALITY_WEIGHT + SEMANTIC_WEIGHT)
    missing = missing_q + missing_s
    if missing:
        statement = (f"VBench Total not computed: {len(missing)} of 16 dimensions missing ({', '.join(missing)})"
                     + ("; Quality computed" if quality is not None else "")
                     + ("; Semantic computed" if semantic is not None else ""))
    else:
        statement = "VBench Total, Quality and Semantic computed from all 16 dimensions"
    return {"total": total, "quality": quality, "semantic": semantic,
            "missing": {"quality": missing_q, "semantic": missing_s},
            "normalized": {n: normalized(n, v) for n, v in clean.items()}, "statement": statement}
