"""The layering that docs/architecture.md promises, checked on the source (imports at any depth, even in functions):

    vbench_lite core helpers <- metrics <- vbench_lite pipeline, commands, lab <- reports (which reads files)
    reference_models stands alone (imports nothing of ours)

plus no import cycles and no product file over ~400 lines except data."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("vbench_lite", "metrics", "reference_models", "reports")


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of our packages."""
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported dotted name, line) of every absolute import in a file, at any depth; ``from a import b`` gives
    ``a.b`` (a module or a name in ``a``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_the_checks_see_the_whole_tree():
    # Guards every check below against passing on an empty module list (a moved file or a wrong ROOT).
    modules = _modules()
    assert {"vbench_lite.pipeline", "metrics.fvd", "metrics.functional.frechet", "reference_models.video_dit",
            "reports.leaderboard"} <= set(modules)
    assert any(t == "metrics.base" for _, _, _, t in _our_imports("metrics.fvd"))


def test_reference_models_import_nothing_of_ours():
    modules = _modules()
    offending = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for module, path in modules.items() if module.split(".")[0] == "reference_models"
                 for name, line in _imports(path) if name.split(".")[0] in PACKAGES
                 and name.split(".")[0] != "reference_models"]
    assert not offending, "reference_models must stand alone:\n" + "\n".join(offending)


def test_no_module_import_cycles():
    modules = _modules()
    edges = {m: {t for name, _ in _imports(p) if (t := _resolve(name, modules)) and t != m}
             for m, p in modules.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


#: The vbench_lite modules below metrics: types, I/O and file helpers that know nothing of metrics or pipelines.
CORE = ("vbench_lite.types", "vbench_lite.native", "vbench_lite.paths", "vbench_lite.results", "vbench_lite.frames",
        "vbench_lite.prompt_fields", "vbench_lite.video_io", "vbench_lite.video_pyav", "vbench_lite.weights",
        "vbench_lite.model_zoo")
#: Files allowed over the size limit, with why.
LARGE_FILES = {
    "vbench_lite/prompts/build_standard.py": "data: the standard suite's prompt table",
}
MAX_LINES = 420


def _our_imports(prefix: str) -> list[tuple[str, Path, int, str]]:
    """(importing module, its file, line, imported module of ours) for every module whose name starts with prefix."""
    modules = _modules()
    return [(module, path, line, target) for module, path in modules.items()
            if module == prefix or module.startswith(prefix + ".")
            for name, line in _imports(path) if (target := _resolve(name, modules)) and target != module]


def test_functional_metrics_import_only_functional_metrics():
    offending = [f"{path.relative_to(ROOT)}:{line} imports {target}"
                 for _, path, line, target in _our_imports("metrics.functional")
                 if not target.startswith("metrics.functional")]
    assert not offending, "metrics.functional is pure maths:\n" + "\n".join(offending)


def test_metrics_import_only_core_helpers_of_vbench_lite_and_reference_models():
    offending = [f"{path.relative_to(ROOT)}:{line} imports {target}"
                 for _, path, line, target in _our_imports("metrics")
                 if target.split(".")[0] == "reports"
                 or (target.split(".")[0] == "vbench_lite" and target not in CORE)]
    assert not offending, "metrics sit below the pipeline:\n" + "\n".join(offending)


def test_core_helpers_import_only_core_and_reference_models():
    offending = [f"{path.relative_to(ROOT)}:{line} imports {target}"
                 for core in CORE for _, path, line, target in _our_imports(core)
                 if target not in CORE and not target.startswith("reference_models")]
    assert not offending, "core helpers sit below metrics:\n" + "\n".join(offending)


def test_reports_read_results_not_models():
    offending = [f"{path.relative_to(ROOT)}:{line} imports {target}"
                 for _, path, line, target in _our_imports("reports")
                 if target.split(".")[0] in ("metrics", "reference_models")]
    assert not offending, "reports work from results files:\n" + "\n".join(offending)


def test_product_files_stay_small():
    too_long = [f"{path.relative_to(ROOT)}: {n} lines" for path in _modules().values()
                if (n := len(path.read_text().splitlines())) > MAX_LINES
                and str(path.relative_to(ROOT)) not in LARGE_FILES]
    assert not too_long, f"split these by concern (limit {MAX_LINES} lines):\n" + "\n".join(too_long)
