"""Metrics: one metric per file, each a pure functional core (``metrics.functional``) plus ONE stateful class, a
torchmetrics ``Metric`` that the pipeline drives and a library user calls (see ``metrics.base.VideoMetric``)::

    from metrics import ClipSimilarity, FrechetVideoDistance, TemporalConsistency

The classes are imported on first access (torch, OpenCV and open_clip take seconds to import), so importing a
functional module such as ``metrics.functional.frechet`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "ClipSimilarity": "metrics.clip_similarity",
    "FrechetVideoDistance": "metrics.fvd",
    "TemporalConsistency": "metrics.temporal",
    "VideoMetric": "metrics.base",
    "MetricResult": "metrics.base",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'metrics' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
