"""Loading a suite by builtin name (``suites/<name>.json`` shipped in the package) or from a file of any format."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from vbench_lite.prompts import importers
from vbench_lite.prompts.drafts import read_json
from vbench_lite.prompts.suite import BUILTIN_SOURCE, Suite, suite_from_dict
from vbench_lite.types import VbenchError

SUITES_PACKAGE = "vbench_lite.prompts.suites"


# -- builtin suites ------------------------------------------------------------------------------------------------
def _suites_dir():
    return resources.files(SUITES_PACKAGE)


#: VBench's standard prompt list, shipped as VBench publishes it (Apache-2.0: prompts/VBENCH_LICENSE.txt) and
#: imported on load, so that its bytes stay checkable against VBench's repository.
VBENCH_SUITE = "vbench"
VBENCH_VERSION = "VBench@45e79ec"
VBENCH_INFO = Path(__file__).with_name("VBench_full_info.json")


def list_suites() -> list[str]:
    """Names of the builtin suites (the ``suites/*.json`` files shipped in the package, and ``vbench``)."""
    names = [entry.name[: -len(".json")] for entry in _suites_dir().iterdir() if entry.name.endswith(".json")]
    return sorted([*names, VBENCH_SUITE])


def vbench_suite() -> Suite:
    """VBench's ``VBench_full_info.json`` (946 entries, 944 prompts once duplicates are merged) as a suite."""
    from dataclasses import replace

    suite = importers.import_vbench_json(VBENCH_INFO)
    return replace(suite, name=VBENCH_SUITE, version=VBENCH_VERSION, source=BUILTIN_SOURCE,
                   description="VBench's standard prompt suite (github.com/Vchitect/VBench, Apache-2.0)")


def builtin_suite_path(name: str) -> Path:
    return Path(str(_suites_dir().joinpath(f"{name}.json")))


def load_suite(name_or_path: str | Path) -> Suite:
    """A builtin suite by name (``standard``, ``synthetic``) or a suite file.

    Files: ``.json`` (our suite format, or VBench's prompt list, told apart by their shape), ``.txt`` (one prompt a
    line) or ``.csv`` (a ``text`` or ``prompt`` column). Any problem is a :class:`VbenchError` naming the file.
    """
    text = str(name_or_path)
    if text == VBENCH_SUITE:
        return vbench_suite()
    if text in list_suites():
        path = builtin_suite_path(text)
        return suite_from_dict(read_json(path), source=BUILTIN_SOURCE, where=str(path))
    path = Path(text)
    if not path.exists():
        if path.suffix == "" and "/" not in text and "\\" not in text:
            known = ", ".join(list_suites())
            raise VbenchError(f"{text}: no builtin suite or file of that name (builtin suites: {known})")
        raise VbenchError(f"{path}: no such file")
    if path.is_dir():
        raise VbenchError(f"{path}: is a folder, expected a suite file (.json, .txt or .csv)")
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = read_json(path)
        if isinstance(data, dict):
            return suite_from_dict(data, source=str(path), where=str(path))
        return importers.import_vbench_json(path, data=data)
    if suffix == ".txt":
        return importers.import_text(path)
    if suffix == ".csv":
        return importers.import_csv(path)
    raise VbenchError(f"{path}: unknown suite file type {path.suffix!r} (use .json, .txt or .csv)")
