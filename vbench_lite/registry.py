"""A tiny registry of metrics and generators: built-in entries, decorators, and third-party entry points.

Built-in entries are lazy ``"module:attr"`` strings, so ``import vbench_lite`` (and ``vbench-lite --help``) stays
cheap: torch-heavy adapters and metrics are imported only when used. Third-party packages add metrics and
generators without forking by declaring entry points in the groups ``vbench_lite.metrics`` and
``vbench_lite.generators`` (``[project.entry-points."vbench_lite.metrics"] mymetric = "mypkg.metric:MyMetric"``);
they are read once, at the first lookup or listing. A name is registered once: a second registration of it, by
us or by a plug-in, is refused with one line naming both.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from typing import Any

from vbench_lite.types import VbenchError


class Registry:
    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        #: The entry-point group third-party packages register into (read lazily, once).
        self.group = group
        self._entries: dict[str, Any] = {}
        self._where: dict[str, str] = {}
        self._plugins_loaded = group is None

    def _add(self, name: str, entry: Any, where: str) -> None:
        if name in self._entries:
            raise VbenchError(f"{self.kind} {name!r} is registered twice: by {self._where[name]} and by {where}")
        self._entries[name] = entry
        self._where[name] = where

    def register(self, name: str) -> Callable[[Any], Any]:
        """Decorator: ``@METRICS.register("mine")`` on a class (refused when ``name`` is taken)."""
        def decorator(obj: Any) -> Any:
            self._add(name, obj, f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', obj)}")
            return obj

        return decorator

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"package.module:attr"``, imported on first :meth:`get` (refused when ``name`` is taken)."""
        if ":" not in target:
            raise ValueError(f"lazy {self.kind} entry must look like 'module:attr', got {target!r}")
        self._add(name, target, target)

    def _load_plugins(self) -> None:
        """Entries of the installed packages' entry points (``importlib.metadata``), added once."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in importlib.metadata.entry_points(group=self.group):
            dist = getattr(getattr(ep, "dist", None), "name", None)
            self._add(ep.name, ep.value, f"entry point {ep.value!r}" + (f" of {dist}" if dist else ""))

    def get(self, name: str) -> Any:
        self._load_plugins()
        if name not in self._entries:
            # A user may name any importable "module:attr" directly.
            if ":" in name:
                return load_object(name)
            known = ", ".join(sorted(self._entries)) or "none"
            raise VbenchError(f"unknown {self.kind} {name!r} (known: {known})")
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = load_object(entry)
            self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._entries


def load_object(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise VbenchError(f"cannot import {module_name!r} for {target!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise VbenchError(f"{module_name!r} has no attribute {attr!r}") from exc
    return obj


GENERATORS = Registry("generator", group="vbench_lite.generators")
METRICS = Registry("metric", group="vbench_lite.metrics")

register_generator = GENERATORS.register
register_metric = METRICS.register

# Built-in entries, imported lazily.
for _name, _target in {
    "folder": "vbench_lite.generators.folder:FolderGenerator",
    "command": "vbench_lite.generators.command:CommandGenerator",
    "python": "vbench_lite.generators.python_callable:PythonGenerator",
    "synthetic": "vbench_lite.generators.synthetic:SyntheticGenerator",
    "reference": "vbench_lite.generators.reference:ReferenceGenerator",
    "diffusers": "vbench_lite.generators.diffusers_generator:DiffusersGenerator",
}.items():
    GENERATORS.register_lazy(_name, _target)

for _name, _target in {
    "clip": "metrics.clip_similarity:ClipSimilarity",
    "fvd": "metrics.fvd:FrechetVideoDistance",
    "temporal": "metrics.temporal:TemporalConsistency",
    "cd_fvd": "metrics.cd_fvd:ContentDebiasedFvd",
    "jedi": "metrics.jedi:Jedi",
    "fvd_inf": "metrics.fvd_inf:FvdInfinity",
    # VBench's quality dimensions with pretrained networks; not in the default --metrics list.
    "subject_consistency": "metrics.subject_consistency:SubjectConsistency",
    "background_consistency": "metrics.background_consistency:BackgroundConsistency",
    "aesthetic_quality": "metrics.aesthetic_quality:AestheticQuality",
    "imaging_quality": "metrics.imaging_quality:ImagingQuality",
    "human_action": "metrics.human_action:HumanAction",
    "scene": "metrics.scene:Scene",
    "appearance_style": "metrics.appearance_style:AppearanceStyle",
    "temporal_style": "metrics.temporal_style:TemporalStyle",
    "overall_consistency": "metrics.overall_consistency:OverallConsistency",
    "object_class": "metrics.object_class:ObjectClass",
    "multiple_objects": "metrics.multiple_objects:MultipleObjects",
    "color": "metrics.color:Color",
    "spatial_relationship": "metrics.spatial_relationship:SpatialRelationship",
}.items():
    METRICS.register_lazy(_name, _target)
