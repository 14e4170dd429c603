"""Which videos VBench scores for each dimension, which are missing and which are extra.

VBench's ``vbench_standard`` mode (``VBench.build_full_info_json`` in ``vbench/__init__.py``) walks the entries of
``VBench_full_info.json`` in order; for every entry tagged with a requested dimension it looks for
``f"{prompt_en}{special_str}-{i}{ext}"``, ``i`` in 0..4, by exact (case-sensitive) name, and each dimension then scores
the concatenated video lists of its entries (``load_dimension_info`` in ``vbench/utils.py``). So:

- a prompt listed twice (``"The bund Shanghai, oil painting"``: once for appearance_style, once for
  overall_consistency, aesthetic_quality and imaging_quality) uses the same five files for the union of its
  entries' dimensions, and would count twice in a dimension both entries name (none does in VBench's file);
- case variants (``"A fantasy landscape"`` / ``"a fantasy landscape"``) are different prompts with different files.

The same holds here. Besides VBench's flat folder we accept our run layout ``<prompt_id>/<i>.<ext>``, and any video
extension (VBench takes the extension of the first file it lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbench_lite.prompts.drafts import read_json
from vbench_lite.prompts.library import VBENCH_INFO
from vbench_lite.types import Prompt, VbenchError
from vbench_lite.vbench_compat.dimensions import SAMPLE_INDICES
from vbench_lite.video_io import VIDEO_EXTENSIONS, find_videos

BUILTIN_INFO = VBENCH_INFO


def load_entries(path: str | Path = BUILTIN_INFO) -> list[dict[str, Any]]:
    """The entries of a ``VBench_full_info.json`` (a list of ``{"prompt_en", "dimension": [...]}``)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise VbenchError(f"{path}: expected VBench's full-info JSON list of {{prompt_en, dimension}} objects")
    for i, item in enumerate(data):
        if not (isinstance(item, dict) and isinstance(item.get("prompt_en"), str)
                and isinstance(item.get("dimension"), list)):
            raise VbenchError(f"{path}: item {i}: expected an object with 'prompt_en' and a 'dimension' list")
    return data


@dataclass
class DimensionPlan:
    """One dimension's video list in VBench's order (with VBench's repeats), and what is missing from it."""

    name: str
    prompts: int = 0
    videos: list[tuple[str, int, Path]] = field(default_factory=list)  # (prompt text, index, file)
    missing: list[str] = field(default_factory=list)  # the file names VBench would look for

    @property
    def expected(self) -> int:
        return len(self.videos) + len(self.missing)


@dataclass
class Plan:
    dimensions: dict[str, DimensionPlan]
    extra: list[tuple[Path, str]]  # (file, why it is not used)

    def used(self) -> list[tuple[str, int, Path]]:
        """Every (text, index, file) some dimension scores, once each, in first-use order."""
        seen: dict[Path, tuple[str, int, Path]] = {}
        for plan in self.dimensions.values():
            for video in plan.videos:
                seen.setdefault(video[2], video)
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {"dimensions": {n: {"prompts": p.prompts, "expected": p.expected, "found": len(p.videos),
                                   "missing": p.missing} for n, p in self.dimensions.items()},
                "extra": [{"path": str(f), "why": why} for f, why in self.extra]}


def _candidates(root: Path, text: str, prompt: Prompt | None, index: int, special: str) -> list[Path]:
    flat = [root / f"{text}{special}-{index}{ext}" for ext in VIDEO_EXTENSIONS]
    nested = [root / prompt.id / f"{index}{ext}" for ext in VIDEO_EXTENSIONS] if prompt else []
    return flat + nested


def plan_videos(root: str | Path, entries: list[dict[str, Any]], dimensions: list[str],
                prompts: dict[str, Prompt], *, special: str = "") -> Plan:
    """The per-dimension video lists of ``entries`` under ``root``; ``prompts`` maps exact text to our prompt."""
    root = Path(root)
    on_disk = {p: p for p in find_videos(root)}
    names = {p.name for p in on_disk if p.parent == root}
    plans = {d: DimensionPlan(d) for d in dimensions}
    used: set[Path] = set()
    for entry in entries:
        wanted = [d for d in dimensions if d in entry["dimension"]]
        if not wanted:
            continue
        text = entry["prompt_en"]
        for index in SAMPLE_INDICES:
            found = next((p for p in _candidates(root, text, prompts.get(text), index, special)
                          if p in on_disk and (p.parent != root or p.name in names)), None)
            for d in wanted:
                if found is None:
                    plans[d].missing.append(f"{text}{special}-{index}.mp4")
                else:
                    plans[d].videos.append((text, index, found))
            if found is not None:
                used.add(found)
        for d in wanted:
            plans[d].prompts += 1
    missing_by_fold = {m.casefold(): m for p in plans.values() for m in p.missing}
    extra = []
    for path in sorted(set(on_disk) - used):
        stem_fold = f"{path.stem}.mp4".casefold()
        if stem_fold in missing_by_fold:
            why = f"case differs from the expected {missing_by_fold[stem_fold]!r}"
        elif path.parent == root and path.stem.rpartition("-")[2].isdigit() \
                and int(path.stem.rpartition("-")[2]) not in SAMPLE_INDICES:
            why = "sample index outside 0-4 (VBench uses 0-4)"
        else:
            why = "no entry of the requested dimensions has this prompt"
        extra.append((path, why))
    return Plan(plans, extra)


def format_table(plan: Plan, *, unavailable: dict[str, str] | None = None, limit: int = 10) -> str:
    """The table printed before scoring: per dimension found/expected and whether vbench-lite scores it, then the
    missing and extra files. Dimensions without any entry in the full-info file are named on one line."""
    unavailable = unavailable or {}
    lines = [f"{'dimension':<24} {'prompts':>7} {'expected':>8} {'found':>6} {'missing':>7}  scored by vbench-lite"]
    empty = []
    for name, p in plan.dimensions.items():
        if not p.prompts:
            empty.append(name)
            continue
        status = f"no: {unavailable[name]}" if name in unavailable else "yes"
        lines.append(f"{name:<24} {p.prompts:>7} {p.expected:>8} {len(p.videos):>6} {len(p.missing):>7}  {status}")
    if empty:
        lines.append(f"no prompt of the suite is tagged with: {', '.join(empty)}")
    missing = list(dict.fromkeys(m for p in plan.dimensions.values() for m in p.missing))
    if missing:
        lines.append(f"missing videos: {len(missing)} (first {min(limit, len(missing))}; any video extension)")
        lines.extend(f"  {m}" for m in missing[:limit])
    if plan.extra:
        lines.append(f"extra videos (not scored): {len(plan.extra)} (first {min(limit, len(plan.extra))})")
        lines.extend(f"  {f.name}: {why}" for f, why in plan.extra[:limit])
    return "\n".join(lines)
