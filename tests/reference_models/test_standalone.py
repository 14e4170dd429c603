"""The layering the architecture promises: ``reference_models`` imports no other package of ours (not even inside a
function), and no module of ours imports itself back through others (no import cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
