"""The one metric API: a torchmetrics ``Metric`` that the pipeline drives and a library user calls.

Every metric works in two steps so that runs are resumable and shards merge exactly:

1. ``extract(clips, prompts)`` turns each clip into a small dict of numpy arrays ("features": an I3D vector,
   per-frame CLIP cosines, a flicker score...). The pipeline caches these per clip on disk, keyed by
   ``cache_key()`` (a hash of the settings, model and weights) and the decode settings (frames, size), and checks
   the video's sha256 and, for ``uses_text`` metrics, the prompt text's sha256 stored in each file, so a killed run
   never recomputes them and a changed input never reuses them.
2. ``update(features)`` adds per-clip features to torchmetrics states (``dist_reduce_fx="cat"`` for per-video
   values, ``"sum"`` for FVD's summable sums, so torchrun merges them); ``compute()`` gives the overall values, and
   ``aggregate(records, ...)`` the pipeline's summary (:class:`MetricResult`: interval, per dimension and category,
   notes) built on the same states, so the number ``vbench-lite score`` writes IS the number ``compute()`` gives.

``update_clips(clips, prompts)`` is ``update(extract(clips, prompts))`` for library users. Settings are a frozen
dataclass per metric (``Settings``), parsed from CLI strings in one place (:func:`vbench_lite.types.parse_settings`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from metrics.functional.aggregate import finite_mean, summarize
from vbench_lite.frames import short_error
from vbench_lite.types import Clip, Prompt, VbenchError, parse_settings


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


@dataclass(frozen=True)
class NoSettings:
    """The settings of a metric that has none."""


def checked_clips(clips: Sequence[Clip | np.ndarray]) -> list[Clip]:
    """``clips`` as valid :class:`Clip` objects (uint8 ``(T, H, W, 3)``, at least one frame), or one
    :class:`VbenchError` line naming the bad one: arrays are wrapped, clips re-checked (their frames may have been
    replaced after construction)."""
    out = []
    for clip in clips:
        if isinstance(clip, Clip):
            clip.__post_init__()
            out.append(clip)
        else:
            out.append(Clip(np.asarray(clip)))
    return out


def require_reference(reference: str | None, label: str, verb: str = "needs") -> str:
    """A set-level metric's reference, or the one line saying it was not computed for want of one."""
    if not reference:
        raise VbenchError(f"{label} {verb} --reference DIR|STATS.npz; not computed")
    return str(reference)


@contextlib.contextmanager
def fails_as_one_line(reference: str, label: str) -> Iterator[None]:
    """Inside, anything that is not already a :class:`VbenchError` (numerical trouble that got past the checks)
    becomes one line, ``REFERENCE: LABEL not computed (Type: message)``: the failure of that metric's rows only."""
    try:
        yield
    except VbenchError:
        raise
    except Exception as exc:
        raise VbenchError(f"{reference}: {label} not computed ({type(exc).__name__}: "
                          f"{short_error(exc, limit=300)})") from exc


class VideoMetric(Metric):
    """Base class of metrics (registered lazily in ``vbench_lite.registry`` or through entry points).

    Subclasses set ``name``, ``outputs`` (output name -> higher_is_better) and ``Settings`` (a frozen dataclass)
    and implement :meth:`extract`. The default states hold one float64 value per video and output
    (``dist_reduce_fx="cat"``), from :meth:`per_video`; ``compute()`` is their mean over finite values. Set-level
    metrics (FVD) override :meth:`_add_states`, :meth:`update`, :meth:`compute` and :meth:`aggregate`.
    """

    name: ClassVar[str] = "metric"
    outputs: ClassVar[dict[str, bool]] = {}
    #: output name -> family (see :class:`MetricResult`); outputs not listed form a family named after the metric.
    output_families: ClassVar[dict[str, str]] = {}
    #: Set-level metrics that compare against reference videos (FVD/KVD) cannot be computed without ``--reference``.
    needs_reference: ClassVar[bool] = False
    #: Bump when the meaning of the cached features changes, so old caches are not reused.
    feature_version: ClassVar[int] = 1
    #: True when ``extract`` reads the prompt text (CLIP similarity). The pipeline then keys cached features by the
    #: text's sha256 too (a suite that gives a prompt id new text gets fresh values) and fails clips whose prompt has
    #: no text (a ``<prompt_id>/<i>.mp4`` folder that is not in the suite) instead of scoring them against their id.
    uses_text: ClassVar[bool] = False
    #: True when ``extract`` also reads the prompt's structured fields or dimension tags (the semantic dimensions:
    #: objects to detect, the action, applicability): the cache key of a clip's features then covers them too, so
    #: a suite that changes a prompt's fields but not its text gets fresh features.
    uses_fields: ClassVar[bool] = False
    #: The frozen settings dataclass; ``setting_aliases`` maps a flat CLI name to ``"field.subfield"`` of a nested one.
    Settings: ClassVar[type] = NoSettings
    setting_aliases: ClassVar[dict[str, str]] = {}

    is_differentiable = False

    @classmethod
    def prompt_key(cls, prompt: Prompt) -> str:
        """What of ``prompt`` the cached features depend on (hashed into each feature file of a ``uses_text``
        metric): the text, plus the fields and dimension tags for ``uses_fields`` metrics."""
        if not cls.uses_fields:
            return prompt.text
        return json.dumps({"text": prompt.text, "fields": prompt.fields, "dimensions": sorted(prompt.dimensions)},
                          sort_keys=True, default=str)
    full_state_update = False

    def __init__(self, settings: Any = None, /, **values: Any) -> None:
        """``settings`` (a ``Settings`` instance) and/or keyword values (CLI strings are fine) override the defaults."""
        super().__init__()
        self.config = self.parse_settings(values, base=settings)
        #: How the pipeline decodes videos (``max_frames``, ``max_side``), for metrics that decode more videos
        #: themselves (FVD's reference folder) and must do it the same way.
        self.decode_settings: dict[str, Any] = {}
        self._add_states()

    # -- settings -------------------------------------------------------------------------------------------
    @classmethod
    def parse_settings(cls, values: Mapping[str, Any], base: Any = None) -> Any:
        """A ``Settings`` instance from keyword values (the one conversion of ``--metric-args`` strings)."""
        return parse_settings(cls.name, cls.Settings, values, aliases=cls.setting_aliases, base=base)

    @classmethod
    def check_settings(cls, values: Mapping[str, Any]) -> None:
        """Refuse settings the metric would refuse, without loading a model (the CLI calls this before decoding
        anything): the same parser the constructor uses."""
        cls.parse_settings(values)

    def set_decode_settings(self, **settings: Any) -> None:
        self.decode_settings = dict(settings)

    # -- identity -------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """JSON-able settings recorded in results (model, sampling policy, protocol...)."""
        return dataclasses.asdict(self.config)

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

    def preparer(self) -> Any:
        """A picklable callable ``clip -> payload`` doing this metric's CPU preprocessing (frame selection, resize,
        normalisation), or ``None``. The pipeline runs it in its decode worker processes, so it must not touch the
        model; :meth:`extract_prepared` then gets the payloads. ``None`` (the default): ``extract`` does it all."""
        return None

    def extract_prepared(self, clips: Sequence[Clip], prompts: Sequence[Prompt],
                         prepared: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """``extract(clips, prompts)`` given each clip's :meth:`preparer` payload; a metric with a preparer
        overrides it so that the payloads are used, and must return exactly what ``extract`` returns."""
        return self.extract(clips, prompts)

    def per_video(self, features: dict[str, np.ndarray]) -> dict[str, float]:
        """Scalar values of one clip; by default every feature named like an output."""
        return {k: float(np.asarray(features[k]).reshape(())) for k in self.outputs if k in features}

    def per_video_note(self, features: dict[str, np.ndarray]) -> str | None:
        """A remark on one clip's values for the ``notes`` column of per_video.csv (a semantic metric: why the clip
        is not applicable); None: nothing to say."""
        return None

    # -- torchmetrics states --------------------------------------------------------------------------------
    def _add_states(self) -> None:
        for out_name in self.outputs:
            self.add_state(_state_name(out_name), default=[], dist_reduce_fx="cat")

    def update(self, features: Sequence[Mapping[str, np.ndarray]]) -> None:
        """Add the per-clip features of some clips (what :meth:`extract` returns, or the pipeline's cache)."""
        rows = [self.per_video(dict(f)) for f in features]
        for out_name in self.outputs:
            values = [row.get(out_name, float("nan")) for row in rows]
            getattr(self, _state_name(out_name)).append(torch.tensor(values, dtype=torch.float64))

    def update_clips(self, clips: Sequence[Clip | np.ndarray], prompts: Sequence[Prompt] | None = None) -> None:
        """``update(extract(clips, prompts))``; ``prompts`` may be left out for metrics that do not read text."""
        clips = checked_clips(clips)
        if prompts is None:
            if self.uses_text:
                raise VbenchError(f"{self.name}: needs the prompts of the clips")
            prompts = [Prompt(id="clip", text="clip")] * len(clips)
        self.update(self.extract(clips, prompts))

    def values(self, output: str) -> np.ndarray:
        """The per-video values of ``output`` added so far, in update order (NaN where undefined)."""
        state = getattr(self, _state_name(output))
        if isinstance(state, list) and not state:
            return np.zeros(0, dtype=np.float64)
        return dim_zero_cat(state).cpu().numpy().astype(np.float64)

    def compute(self) -> dict[str, torch.Tensor]:
        """``{output: mean over videos of its finite per-video values}`` (NaN when none is finite)."""
        return {out: torch.tensor(finite_mean(self.values(out)), dtype=torch.float64) for out in self.outputs}

    def compute_local(self) -> dict[str, torch.Tensor]:
        """``compute()`` of this process's states, never synced with other processes: the pipeline gathers every
        rank's features to rank 0 itself, and only rank 0 aggregates (a sync there would wait for the others)."""
        to_sync = self._to_sync  # torchmetrics' per-call switch, set from sync_on_compute
        self._to_sync = False
        try:
            return self.compute()
        finally:
            self._to_sync = to_sync

    # -- the pipeline's summary -----------------------------------------------------------------------------
    def aggregate(self, records: Sequence[ClipRecord], *, reference: str | None = None,
                  seed: int = 0) -> dict[str, MetricResult]:
        """Summaries of ``records``: the states are reset and updated with their features, ``compute()`` gives each
        value; the bootstrap interval and the per-dimension/category groups come from the same per-video values."""
        self.reset()
        self.update([r.features for r in records])
        overall = self.compute_local()
        present = [self.per_video(r.features) for r in records]
        results: dict[str, MetricResult] = {}
        for out_name, higher in self.outputs.items():
            pairs = [(r, v) for r, v, row in zip(records, self.values(out_name), present) if out_name in row]
            if not pairs:
                continue
            summary = summarize([v for _, v in pairs], seed=seed)
            results[out_name] = MetricResult(
                value=float(overall[out_name]), ci95=summary["ci95"], n=summary["n"], higher_is_better=higher,
                settings=self.settings(), family=self.family_of(out_name),
                by_dimension=_group(pairs, lambda r: r.prompt.dimensions, seed),
                by_category=_group(pairs, lambda r: [r.prompt.category], seed),
            )
        return results


def _state_name(output: str) -> str:
    return f"values_{output}"


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
