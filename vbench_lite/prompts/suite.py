"""The :class:`Suite` type, its sha256, our suite file format (parse and write)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbench_lite.prompts.drafts import assign_ids
from vbench_lite.types import Prompt, VbenchError

BUILTIN_SOURCE = "builtin"


def canonical_prompts_json(prompts: list[Prompt]) -> bytes:
    """The bytes a suite's sha256 is taken of: its prompt dicts as compact, key-sorted UTF-8 JSON."""
    dicts = [p.to_dict() for p in prompts]
    return json.dumps(dicts, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def prompts_sha256(prompts: list[Prompt]) -> str:
    return hashlib.sha256(canonical_prompts_json(prompts)).hexdigest()


@dataclass
class Suite:
    """A named, versioned list of prompts.

    ``sha256`` is always the hash of ``prompts`` (recomputed on construction, so ``dataclasses.replace`` with fewer
    prompts gives the subset's own hash). ``recorded_sha256`` is the one written in the file, if any.
    """

    name: str
    version: str
    prompts: list[Prompt]
    description: str = ""
    source: str = BUILTIN_SOURCE
    dimension_meanings: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    recorded_sha256: str | None = None
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.prompts = list(self.prompts)
        seen: set[str] = set()
        for p in self.prompts:
            if p.id in seen:
                raise VbenchError(f"{self.source}: prompt id {p.id!r} appears twice in suite {self.name!r}")
            seen.add(p.id)
        self.sha256 = prompts_sha256(self.prompts)

    def __len__(self) -> int:
        return len(self.prompts)

    def __iter__(self) -> Iterator[Prompt]:
        return iter(self.prompts)

    def get(self, prompt_id: str) -> Prompt:
        for p in self.prompts:
            if p.id == prompt_id:
                return p
        raise VbenchError(f"prompt id {prompt_id!r} is not in suite {self.name!r} ({self.source})")

    def ids(self) -> list[str]:
        return [p.id for p in self.prompts]

    def describe(self) -> dict[str, Any]:
        """What results.json records as ``suite``."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "n_prompts": len(self.prompts)}

    def select(self, *, category: str | None = None, dimension: str | None = None) -> Suite:
        """The prompts of one category and/or tagged with one dimension, as a suite named after the filter."""
        chosen = [p for p in self.prompts
                  if (category is None or p.category == category)
                  and (dimension is None or dimension in p.dimensions)]
        filters = [f"{k}={v}" for k, v in (("category", category), ("dimension", dimension)) if v is not None]
        name = f"{self.name}[{','.join(filters)}]" if filters else self.name
        return Suite(name=name, version=self.version, prompts=chosen, description=self.description,
                     source=self.source, dimension_meanings=dict(self.dimension_meanings),
                     categories=list(self.categories))

    def to_dict(self) -> dict[str, Any]:
        """The suite file format (see the package docstring)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "sha256": self.sha256,
            "dimensions": dict(self.dimension_meanings),
            "categories": list(self.categories),
            "prompts": [p.to_dict() for p in self.prompts],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON with one prompt a line, so that diffs of suite files read prompt by prompt."""
        data = self.to_dict()
        prompts = data.pop("prompts")
        head = json.dumps(data, indent=1, ensure_ascii=False)[:-2]  # drop the closing "\n}"
        lines = ",\n  ".join(json.dumps(p, ensure_ascii=False) for p in prompts)
        return f'{head},\n "prompts": [\n  {lines}\n ]\n}}\n'


def suite_from_dict(data: dict[str, Any], *, source: str, where: str) -> Suite:
    """Parse our suite format; ``where`` names the file in error messages."""
    if not isinstance(data, dict):
        raise VbenchError(f"{where}: expected a JSON object with 'name', 'version' and 'prompts'")
    missing = [k for k in ("name", "version", "prompts") if k not in data]
    if missing:
        raise VbenchError(f"{where}: missing {', '.join(repr(k) for k in missing)} (a suite file needs name, "
                          "version and prompts; VBench prompt files are a JSON list)")
    raw_prompts = data["prompts"]
    if not isinstance(raw_prompts, list):
        raise VbenchError(f"{where}: 'prompts' must be a list")
    if not raw_prompts:
        raise VbenchError(f"{where}: the suite has no prompts")
    vocabulary = data.get("dimensions") or {}
    if isinstance(vocabulary, list) and all(isinstance(d, str) for d in vocabulary):
        vocabulary = {d: "" for d in vocabulary}
    if not isinstance(vocabulary, dict):
        raise VbenchError(f"{where}: 'dimensions' must map each dimension tag to its meaning")
    categories = data.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise VbenchError(f"{where}: 'categories' must be a list of strings")
    drafts = []
    for i, item in enumerate(raw_prompts):
        label = f"{where}: prompt {i}"
        if not isinstance(item, dict):
            raise VbenchError(f"{label}: expected an object with 'id' and 'text', got {type(item).__name__}")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise VbenchError(f"{label}: empty prompt (no 'text')")
        dims = item.get("dimensions", [])
        if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
            raise VbenchError(f"{label}: 'dimensions' must be a list of strings")
        unknown = [d for d in dims if vocabulary and d not in vocabulary]
        if unknown:
            raise VbenchError(f"{label}: dimension {unknown[0]!r} is not declared in the suite's 'dimensions'")
        category = item.get("category", "uncategorized")
        if not isinstance(category, str) or not category:
            raise VbenchError(f"{label}: 'category' must be a non-empty string")
        if categories and category not in categories:
            raise VbenchError(f"{label}: category {category!r} is not declared in the suite's 'categories'")
        fields = item.get("fields", {})
        if not isinstance(fields, dict):
            raise VbenchError(f"{label}: 'fields' must be an object")
        drafts.append({"id": item.get("id"), "text": text, "category": category, "dimensions": dims,
                       "fields": fields})
    prompts = assign_ids(drafts, where=where)
    recorded = data.get("sha256")
    return Suite(name=str(data["name"]), version=str(data["version"]), prompts=prompts,
                 description=str(data.get("description", "")), source=source,
                 dimension_meanings=dict(vocabulary), categories=list(categories),
                 recorded_sha256=str(recorded) if recorded else None)


def write_suite(suite: Suite, path: str | Path) -> Path:
    """Write ``suite`` in our format (with its sha256 recorded) atomically."""
    from vbench_lite.results import atomic_write_text

    return atomic_write_text(path, suite.to_json())
