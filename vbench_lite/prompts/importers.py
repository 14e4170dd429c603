"""Suites from other people's prompt files: VBench's prompt JSON, plain text (one prompt a line) and CSV.

An imported suite is named after the file stem, has version ``"import"``, and gets ids from the text unless the file
gives ids: :func:`vbench_lite.types.prompt_id_for_text`, the slug alone when it spells the text exactly, else the slug
plus 8 hex digits of the text's sha256, so that ``"a cat, running"`` and ``"a cat running!"`` (or two Japanese
prompts, which have no ascii slug at all) get distinct ids that do not depend on the order of the file; a text given
twice gets ``-2``, ``-3``, except in VBench's JSON, where objects with the same text are one prompt with the
union of their dimensions (VBench scores the same files for both entries; see :mod:`vbench_lite.vbench_compat`) and
texts differing only in case ("A fantasy landscape" / "a fantasy landscape") stay two prompts. A given id that is
not a safe file name (slashes, unicode, ...) becomes an id the same way and is kept in ``fields["original_id"]``.
Every problem is one :class:`VbenchError` line naming the file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from vbench_lite.prompt_fields import kinetics400_labels, normalise_relation
from vbench_lite.prompts.drafts import assign_ids, read_json, read_text_file
from vbench_lite.prompts.suite import Suite
from vbench_lite.prompts.vocabulary import DIMENSIONS, TEMPORAL_STYLES, VBENCH_DIMENSION_ALIASES
from vbench_lite.types import VbenchError

IMPORT_VERSION = "import"
TEXT_COLUMNS = ("text", "prompt", "prompt_en")
DIMENSION_SEPARATORS = (";", "|")


def _imported_suite(path: Path, drafts: list[dict[str, Any]], kind: str) -> Suite:
    if not drafts:
        raise VbenchError(f"{path}: no prompts in the file")
    prompts = assign_ids(drafts, where=str(path))
    used = {d for p in prompts for d in p.dimensions}
    return Suite(name=path.stem, version=IMPORT_VERSION, prompts=prompts,
                 description=f"imported from {path.name} ({kind})", source=str(path),
                 dimension_meanings={d: DIMENSIONS[d] for d in DIMENSIONS if d in used},
                 categories=sorted({p.category for p in prompts}))


def _our_dimension(tag: str) -> str:
    tag = tag.strip()
    return VBENCH_DIMENSION_ALIASES.get(tag, tag)


# -- VBench JSON ---------------------------------------------------------------------------------------------------
def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def vbench_color_object(text: str, color: str) -> str | None:
    """The object a colour prompt names, as ``vbench/color.py:color`` takes it from the prompt: drop ``"a "``,
    ``"an "`` and the colour word, strip (``"an orange bicycle"`` -> ``"bicycle"``)."""
    rest = text.replace("a ", "").replace("an ", "").replace(color, "").strip()
    return rest or None


def vbench_action(text: str) -> str:
    """The Kinetics-400 label of a human_action prompt, as ``vbench/human_action.py:human_action`` takes it from the
    video's file name ``"<prompt>-<i>.mp4"``: lower case, before the first "-", after "person is ", before the
    first "_" (``"A person is riding a bike"`` -> ``"riding a bike"``). VBench's file has no auxiliary info for it."""
    return text.lower().split("-")[0].split("person is ")[-1].split("_")[0]


def vbench_temporal_style(text: str) -> str:
    """The style part of a temporal_style prompt ``"<scene>, <style>"``: one of :data:`TEMPORAL_STYLES` when the
    text ends with one, else the text after its last comma (the whole text without one). ``vbench/temporal_style.py``
    compares the clip with the whole prompt; the field only names what the prompt asks."""
    lowered = text.lower().rstrip(" .")
    known = [s for s in TEMPORAL_STYLES if lowered.endswith(s)]
    if known:
        return max(known, key=len)
    return lowered.rsplit(",", 1)[-1].strip()


def fields_from_vbench_auxiliary(aux: Any, text: str, dimensions: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Our structured fields from VBench's ``auxiliary_info`` (keyed by dimension; the raw info is kept too) and,
    for the dimensions VBench gives no info for (``dimensions``: VBench's names), from the text as VBench reads it:
    human_action's ``action`` (:func:`vbench_action`, kept only when it is a Kinetics-400 label) and
    temporal_style's ``temporal_style`` (:func:`vbench_temporal_style`)."""
    fields: dict[str, Any] = {}
    if "human_action" in dimensions and vbench_action(text) in kinetics400_labels():
        fields["action"] = vbench_action(text)
    if "temporal_style" in dimensions and vbench_temporal_style(text):
        fields["temporal_style"] = vbench_temporal_style(text)
    if not isinstance(aux, dict) or not aux:
        return fields
    fields["auxiliary_info"] = aux
    objects: list[str] = []
    obj = _dig(aux, "object_class", "object")
    if isinstance(obj, str):
        objects.append(obj)
    multi = _dig(aux, "multiple_objects", "object")
    if isinstance(multi, str):  # vbench/multiple_objects.py splits it on " and "
        objects.extend(o.strip() for o in multi.split(" and ") if o.strip())
    spatial = _dig(aux, "spatial_relationship", "spatial_relationship")
    if isinstance(spatial, dict):
        a, b, rel = spatial.get("object_a"), spatial.get("object_b"), spatial.get("relationship")
        if isinstance(a, str) and isinstance(b, str):
            objects.extend([a, b])
        if isinstance(rel, str):  # a spelling we do not know is kept as written (no target: not applicable)
            fields["relation"] = normalise_relation(rel) or rel.strip()
    color = _dig(aux, "color", "color")
    if isinstance(color, str):
        fields["colors"] = [color]
        if not objects:
            found = vbench_color_object(text, color)
            if found:
                objects.append(found)
    style = _dig(aux, "appearance_style", "appearance_style")
    if isinstance(style, str):
        fields["style"] = style
    scene = _dig(aux, "scene", "scene", "scene")
    if isinstance(scene, str):
        fields["scene"] = scene
    if objects:
        fields["objects"] = list(dict.fromkeys(objects))
    return fields


def import_vbench_json(path: str | Path, *, data: Any = None) -> Suite:
    """VBench's prompt JSON: a list of ``{"prompt_en", "dimension": [...], "auxiliary_info"?}`` objects, or a plain
    list of strings. ``data`` skips reading when the caller already parsed the file."""
    path = Path(path)
    if data is None:
        data = read_json(path)
    if not isinstance(data, list):
        raise VbenchError(f"{path}: expected a JSON list of prompts (VBench format), got {type(data).__name__}")
    drafts = []
    merged: dict[str, dict[str, Any]] = {}  # exact text -> the first object entry's merged item
    for i, item in enumerate(data):
        label = f"{path}: item {i}"
        plain = isinstance(item, str)
        if plain:
            item = {"prompt_en": item}
        if not isinstance(item, dict):
            raise VbenchError(f"{label}: expected a string or an object with 'prompt_en', got {type(item).__name__}")
        key = next((k for k in TEXT_COLUMNS[::-1] if k in item), None)  # prompt_en first
        text = item.get(key) if key else None
        if not isinstance(text, str) or not text.strip():
            raise VbenchError(f"{label}: empty prompt (no 'prompt_en' text)")
        raw_dims = item.get("dimension", [])
        if isinstance(raw_dims, str):
            raw_dims = [raw_dims]
        if not isinstance(raw_dims, list) or not all(isinstance(d, str) for d in raw_dims):
            raise VbenchError(f"{label}: 'dimension' must be a list of strings")
        aux = item.get("auxiliary_info")
        first = None if plain or item.get("id") is not None else merged.get(text.strip())
        if first is not None:
            # VBench lists a few prompts twice with different dimensions ("The bund Shanghai, oil painting":
            # appearance_style, then overall_consistency, aesthetic_quality, imaging_quality); it scores the same
            # files for every entry, so the prompt carries the union of the entries' dimensions and infos.
            first["raw"] = list(dict.fromkeys(first["raw"] + list(raw_dims)))
            if isinstance(aux, dict):
                first["aux"] = {**aux, **first["aux"]}
            first["entries"] += 1
            continue
        draft = {"id": item.get("id"), "text": text.strip(), "raw": list(raw_dims),
                 "aux": dict(aux) if isinstance(aux, dict) else aux, "entries": 1,
                 "category": item.get("category") if isinstance(item.get("category"), str) else None}
        drafts.append(draft)
        if not plain and item.get("id") is None:
            merged[draft["text"]] = draft
    for draft in drafts:
        raw_dims = draft.pop("raw")
        draft["dimensions"] = list(dict.fromkeys(_our_dimension(d) for d in raw_dims if d.strip()))
        fields = fields_from_vbench_auxiliary(draft.pop("aux"), draft["text"], raw_dims)
        if draft["dimensions"] != raw_dims:
            fields["vbench_dimensions"] = raw_dims
        entries = draft.pop("entries")
        if entries > 1:
            fields["vbench_entries"] = entries
        draft["fields"] = fields
    return _imported_suite(path, drafts, "VBench JSON")


# -- plain text ----------------------------------------------------------------------------------------------------
def import_text(path: str | Path) -> Suite:
    """One prompt a line; blank lines and lines starting with ``#`` are skipped.

    A file named after a dimension (VBench's ``prompts_per_dimension/color.txt``) tags every prompt with it; for
    ``human_action.txt`` and ``temporal_style.txt`` the field comes from the text as VBench reads it (the other
    dimensions' facts are only in VBench's JSON, so import that for them).
    """
    path = Path(path)
    text = read_text_file(path)
    stem_dimension = _our_dimension(path.stem)
    dims = [stem_dimension] if stem_dimension in DIMENSIONS else []
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    drafts = [{"id": None, "text": line, "dimensions": dims,
               "fields": fields_from_vbench_auxiliary(None, line, [path.stem.strip()])} for line in lines]
    if not drafts:
        raise VbenchError(f"{path}: no prompts in the file (only blank lines and # comments)")
    return _imported_suite(path, drafts, "text")


# -- CSV -----------------------------------------------------------------------------------------------------------
def _split_dimensions(cell: str) -> list[str]:
    for sep in DIMENSION_SEPARATORS[1:]:
        cell = cell.replace(sep, DIMENSION_SEPARATORS[0])
    return list(dict.fromkeys(_our_dimension(d) for d in cell.split(DIMENSION_SEPARATORS[0]) if d.strip()))


def import_csv(path: str | Path) -> Suite:
    """Columns: ``text`` or ``prompt`` (required); optional ``id``, ``category``, ``dimensions`` (separated by
    ``;`` or ``|``) and ``fields`` (a JSON object). Other non-empty cells go into ``fields`` as strings."""
    path = Path(path)
    text = read_text_file(path)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        text_column = next((c for c in TEXT_COLUMNS if c in header), None)
        if text_column is None:
            raise VbenchError(f"{path}: no 'text' or 'prompt' column (columns: {', '.join(header) or 'none'})")
        drafts = []
        for row in reader:
            line = reader.line_num
            prompt_text = (row.get(text_column) or "").strip()
            if not prompt_text:
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue  # a row of empty cells
                raise VbenchError(f"{path}: line {line}: empty prompt")
            fields: dict[str, Any] = {}
            raw_fields = (row.get("fields") or "").strip()
            if raw_fields:
                try:
                    fields = json.loads(raw_fields)
                except json.JSONDecodeError as exc:
                    raise VbenchError(f"{path}: line {line}: 'fields' is not valid JSON ({exc.msg})") from exc
                if not isinstance(fields, dict):
                    raise VbenchError(f"{path}: line {line}: 'fields' must be a JSON object")
            for column, value in row.items():
                if column in (text_column, "id", "category", "dimensions", "fields") or column is None:
                    continue
                if isinstance(value, str) and value.strip():
                    fields.setdefault(column, value.strip())
            drafts.append({"id": (row.get("id") or "").strip() or None, "text": prompt_text,
                           "category": (row.get("category") or "").strip() or None,
                           "dimensions": _split_dimensions(row.get("dimensions") or ""), "fields": fields})
    except csv.Error as exc:
        raise VbenchError(f"{path}: unreadable CSV ({exc})") from exc
    if "file" in header:
        drafts = _merge_file_rows(path, drafts)
    return _imported_suite(path, drafts, "CSV")


def _merge_file_rows(path: Path, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``file,prompt`` mapping for a flat folder: rows of one prompt text are that prompt's samples, in row order
    (``fields["files"]``: sample i is ``files[i]``), so any file names can be scored against their prompts."""
    merged: dict[str, dict[str, Any]] = {}
    seen_files: set[str] = set()
    for draft in drafts:
        file = str(draft["fields"].pop("file", "")).strip()
        if not file:
            raise VbenchError(f"{path}: prompt {draft['text']!r} has no file in the 'file' column")
        if file in seen_files:
            raise VbenchError(f"{path}: file {file!r} is mapped twice")
        seen_files.add(file)
        first = merged.setdefault(draft["text"], {**draft, "fields": {**draft["fields"], "files": []}})
        first["fields"]["files"].append(file)
    return list(merged.values())
