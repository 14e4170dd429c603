"""Prompt drafts from files: reading a text or JSON file with one-line errors, and giving each prompt its id.

Shared by our suite format (:mod:`vbench_lite.prompts.suite`) and the importers of other people's files
(:mod:`vbench_lite.prompts.importers`), so both read files and assign ids the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vbench_lite.types import Prompt, VbenchError, is_safe_id, prompt_id_for_text, slugify


# -- reading files -------------------------------------------------------------------------------------------------
def read_text_file(path: str | Path) -> str:
    """The file's text (UTF-8, a BOM allowed); missing, unreadable, undecodable or empty files are errors."""
    path = Path(path)
    if not path.exists():
        raise VbenchError(f"{path}: no such file")
    if path.is_dir():
        raise VbenchError(f"{path}: is a folder, expected a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise VbenchError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise VbenchError(f"{path}: not UTF-8 text (bad byte at line {line})") from exc
    if not text.strip():
        raise VbenchError(f"{path}: empty file")
    return text


def read_json(path: str | Path) -> Any:
    text = read_text_file(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VbenchError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


# -- ids -----------------------------------------------------------------------------------------------------------
def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


def assign_ids(drafts: list[dict[str, Any]], *, where: str, plain_slugs: bool = False) -> list[Prompt]:
    """Prompts from draft dicts (``id`` may be None). Safe given ids are kept as they are (a repeated one is an
    error); unsafe ones are turned into ids (original kept in ``fields["original_id"]``); missing ones come from the
    text (:func:`prompt_id_for_text`). Ids still colliding get ``-2``, ``-3``, ... in file order. Texts are kept
    exactly as given.

    ``plain_slugs`` keeps the first releases' rule (bare slugs, collisions numbered in file order) for the builtin
    suites' build scripts: their ids are stored in shipped files and must not change.
    """
    make_id = slugify if plain_slugs else prompt_id_for_text
    taken: set[str] = set()
    for i, d in enumerate(drafts):
        given = d.get("id")
        if given is not None and given != "" and is_safe_id(str(given)):
            if str(given) in taken:
                raise VbenchError(f"{where}: prompt {i}: id {str(given)!r} is used twice")
            taken.add(str(given))
    prompts = []
    for d in drafts:
        given = d.get("id")
        fields = dict(d.get("fields") or {})
        if given is not None and given != "" and is_safe_id(str(given)):
            prompt_id = str(given)
        else:
            if given is not None and given != "":
                fields["original_id"] = str(given)
                base = make_id(str(given))
            else:
                base = make_id(d["text"])
            prompt_id = _unique(base, taken)
            taken.add(prompt_id)
        prompts.append(Prompt(id=prompt_id, text=d["text"], category=d.get("category") or "uncategorized",
                              dimensions=list(d.get("dimensions") or []), fields=fields))
    return prompts
