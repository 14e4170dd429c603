"""The metric plug-in interface that the pipeline runs, and the summary record every metric returns.

A metric plug-in works in two steps so that runs are resumable and shards merge exactly:

1. ``extract(clips, prompts)`` turns each clip into a small dict of numpy arrays ("features": an I3D vector,
   per-frame CLIP cosines, a flicker score...). The pipeline caches these per clip on disk, keyed by
   ``cache_key()`` (a hash of the settings, model and weights) and the decode settings (frames, size), and checks
   the video's sha256 and, for ``uses_text`` metrics, the prompt text's sha256 stored in each file, so a killed run
   never recomputes them and a changed input never reuses them.
2. ``per_video(features)`` gives the scalar values of one clip (rows of ``per_video.csv``) and
   ``aggregate(records, ...)`` turns all clips into :class:`MetricResult` summaries. The default aggregation is the
   mean of per-video values with a bootstrap 95% interval, overall and per prompt-suite dimension and category.
   Set-level metrics (FVD, KVD) override ``aggregate`` and build their summable statistics from the features.

Library users who want streaming, torchmetrics-style objects find them next to each plug-in (e.g.
``metrics.fvd.FrechetVideoDistance``); the plug-in is the thin layer the pipeline needs on top.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from metrics.functional.aggregate import summarize
from vbench_lite.types import Clip, Prompt, VbenchError


@dataclass
class MetricResult:
    """One summarised metric as written to ``results.json``."""

    value: float
    ci95: tuple[float, float] | None
    n: int
    higher_is_better: bool
    settings: dict[str, Any] = field(default_factory=dict)
    #: What the metric measures (text_alignment, temporal_consistency, dynamics, distribution...); the leaderboard
    #: averages ranks within a family first so that several correlated metrics do not outvote the others.
    family: str | None = None
    by_dimension: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_category: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    #: Set when the number comes from a toy stand-in model (e.g. the toy CLIP trained on the synthetic world): a
    #: one-line description that reports, the console and results.json repeat next to the value.
    toy_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": _json_float(self.value),
            "ci95": None if self.ci95 is None else [_json_float(self.ci95[0]), _json_float(self.ci95[1])],
            "n": int(self.n),
            "higher_is_better": bool(self.higher_is_better),
            "settings": self.settings,
        }
        if self.family:
            out["family"] = self.family
        if self.by_dimension:
            out["by_dimension"] = self.by_dimension
        if self.by_category:
            out["by_category"] = self.by_category
        if self.notes:
            out["notes"] = list(self.notes)
        if self.extra:
            out["extra"] = self.extra
        if self.toy_model:
            out["toy_model"] = self.toy_model
        return out


def _json_float(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass
class ClipRecord:
    """What the pipeline knows of one scored clip when it aggregates."""

    prompt: Prompt
    sample: int
    features: dict[str, np.ndarray]
    values: dict[str, float]


class VideoMetric:
    """Base class of metric plug-ins (registered with ``@register_metric`` or lazily in ``vbench_lite.registry``).

    Subclasses set ``name`` and ``outputs`` (output name -> higher_is_better) and implement :meth:`extract`.
    """

    name: ClassVar[str] = "metric"
    outputs: ClassVar[dict[str, bool]] = {}
    #: output name -> family (see :class:`MetricResult`); outputs not listed form a family named after the plug-in.
    output_families: ClassVar[dict[str, str]] = {}
    #: Set-level metrics that compare against reference videos (FVD/KVD) cannot be computed without ``--reference``.
    needs_reference: ClassVar[bool] = False
    #: Bump when the meaning of the cached features changes, so old caches are not reused.
    feature_version: ClassVar[int] = 1
    #: True when ``extract`` reads the prompt text (CLIP similarity). The pipeline then keys cached features by the
    #: text's sha256 too (a suite that gives a prompt id new text gets fresh values) and fails clips whose prompt has
    #: no text (a ``<prompt_id>/<i>.mp4`` folder that is not in the suite) instead of scoring them against their id.
    uses_text: ClassVar[bool] = False

    def __init__(self, **settings: Any) -> None:
        self._settings = dict(settings)

    #: How the pipeline decodes videos (``max_frames``, ``max_side``), for metrics that decode more videos
    #: themselves (FVD's reference folder) and must do it the same way.
    decode_settings: ClassVar[dict[str, Any]] = {}

    def set_decode_settings(self, **settings: Any) -> None:
        self.decode_settings = dict(settings)

    # -- settings checked before any work -------------------------------------------------------------------
    @classmethod
    def setting_names(cls) -> tuple[str, ...] | None:
        """Names ``--metric-args NAME.key=value`` may use: ``__init__``'s keyword parameters, or ``None`` (not
        checkable) when ``__init__`` takes ``**kwargs``; a plug-in that does so may override this."""
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # drop self
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return tuple(p.name for p in params
                     if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Refuse settings the plug-in would refuse, without loading a model (the CLI calls this before decoding
        anything). The default checks the names; plug-ins with cheap value checks may override it."""
        known = cls.setting_names()
        if known is None:
            return
        for key in settings:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise VbenchError(f"--metric-args: {cls.name} has no setting {key!r} ({hint}known: "
                                  f"{', '.join(known) or 'none'})")

    # -- identity -------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """JSON-able settings recorded in results (model, sampling policy, protocol...)."""
        return dict(self._settings)

    def provenance(self) -> dict[str, Any]:
        """Weights sha256, protocol hashes and the like, merged into ``results.json`` provenance."""
        return {}

    def cache_key(self) -> str:
        """Folder name for cached features: the metric name plus a hash of everything that changes them."""
        blob = json.dumps({"name": self.name, "v": self.feature_version, "settings": self.settings(),
                           "provenance": self.provenance()}, sort_keys=True, default=str)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

    def family_of(self, output: str) -> str:
        return self.output_families.get(output, self.name)

    # -- per clip -------------------------------------------------------------------------------------------
    def extract(self, clips: Sequence[Clip], prompts: Sequence[Prompt]) -> list[dict[str, np.ndarray]]:
        raise NotImplementedError

    def per_video(self, features: dict[str, np.ndarray]) -> dict[str, float]:
        """Scalar values of one clip; by default every feature named like an output."""
        return {k: float(np.asarray(features[k]).reshape(())) for k in self.outputs if k in features}

    # -- whole set ------------------------------------------------------------------------------------------
    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        results: dict[str, MetricResult] = {}
        for out_name, higher in self.outputs.items():
            pairs = [(r, r.values[out_name]) for r in records if out_name in r.values]
            if not pairs:
                continue
            overall = summarize([v for _, v in pairs], seed=seed)
            results[out_name] = MetricResult(
                value=overall["value"], ci95=overall["ci95"], n=overall["n"], higher_is_better=higher,
                settings=self.settings(), family=self.family_of(out_name),
                by_dimension=_group(pairs, lambda r: r.prompt.dimensions, seed),
                by_category=_group(pairs, lambda r: [r.prompt.category], seed),
            )
        return results


def _group(pairs, keys_of, seed: int) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[float]] = {}
    for record, value in pairs:
        for key in keys_of(record):
            groups.setdefault(key, []).append(value)
    out = {}
    for key in sorted(groups):
        s = summarize(groups[key], seed=seed)
        out[key] = {"value": _json_float(s["value"]),
                    "ci95": None if s["ci95"] is None else list(s["ci95"]), "n": s["n"]}
    return out
