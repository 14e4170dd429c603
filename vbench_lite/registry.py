"""A tiny registry: decorators for code that is imported anyway, lazy ``"module:attr"`` entries for the rest.

Lazy entries keep ``import vbench_lite`` cheap: torch-heavy adapters and metrics are imported only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from vbench_lite.types import VbenchError


class Registry:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, name: str) -> Callable[[Any], Any]:
        def decorator(obj: Any) -> Any:
            self._entries[name] = obj
            return obj

        return decorator

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"package.module:attr"``, imported on first :meth:`get`."""
        if ":" not in target:
            raise ValueError(f"lazy {self.kind} entry must look like 'module:attr', got {target!r}")
        self._entries.setdefault(name, target)

    def get(self, name: str) -> Any:
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
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
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


GENERATORS = Registry("generator")
METRICS = Registry("metric")

register_generator = GENERATORS.register
register_metric = METRICS.register

# Built-in entries, imported lazily.
for _name, _target in {
    "folder": "vbench_lite.generators.folder:FolderGenerator",
    "command": "vbench_lite.generators.command:CommandGenerator",
    "python": "vbench_lite.generators.python_callable:PythonGenerator",
    "synthetic": "vbench_lite.generators.synthetic:SyntheticGenerator",
    "reference": "vbench_lite.generators.reference:ReferenceGenerator",
}.items():
    GENERATORS.register_lazy(_name, _target)

for _name, _target in {
    "brightness": "metrics.brightness:BrightnessMetric",
    "clip": "metrics.clip_similarity:ClipSimilarityPlugin",
    "fvd": "metrics.fvd:FvdPlugin",
    "temporal": "metrics.temporal:TemporalPlugin",
}.items():
    METRICS.register_lazy(_name, _target)
