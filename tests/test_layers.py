"""The package's imports: no circle, and none against the layers (data flows one way).

ground -> reading -> computing / reporting (siblings) -> job -> faces; `synthetic` and
`reference` are leaves over ground. Every import counts: at the top, inside a function, or
under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import signal_job

PACKAGE = Path(signal_job.__file__).parent
GROUND = {"errors", "config", "options", "version", "safe_files", "partial", "progress", "formats", "windows"}
FACES = {"__init__", "__main__", "cli", "flags", "api"}
LEAVES = {"synthetic", "reference"}
# A module may import its own layer and the layers ranked below it; siblings never each other.
RANK = {"ground": 0, "reading": 1, "synthetic": 1, "reference": 1, "computing": 2, "reporting": 2}
RANK |= {"job": 3, "faces": 4}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    name = module.split(".")[1] if "." in module else "__init__"  # signal_job.NAME...
    if name in {"reading", "computing", "reporting"}:
        return name
    if name in GROUND:
        return "ground"
    if name in FACES:
        return "faces"
    return name if name in LEAVES else "job"  # job.py and any new job-level module


def imports(module: str) -> list[tuple[str, int]]:
    """The package's modules that `module` imports, with the line of each import."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module} line {node.lineno}: a relative import; name the module"
            base = str(node.module)
            for alias in node.names:  # `from package import module` imports the module
                name = f"{base}.{alias.name}"
                found.append((name if name in MODULES else base, node.lineno))
    return sorted({(name, line) for name, line in found if name in MODULES})


GRAPH = {module: sorted({name for name, _ in imports(module)} - {module}) for module in MODULES}


def circles() -> list[list[str]]:
    """The import circles a walk of the graph meets, each as its modules (the first again at the end)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append([*path[path.index(module) :], module])
        elif module not in done:
            for imported in GRAPH[module]:
                visit(imported, [*path, module])
            done.add(module)

    for module in GRAPH:
        visit(module, [])
    return found


def test_no_import_circle() -> None:
    found = [" -> ".join(circle) for circle in circles()]
    assert not found, "import circles:\n" + "\n".join(found)


def test_no_import_against_the_layers() -> None:
    against = [
        f"{module} ({layer(module)}) imports {name} ({layer(name)}) at line {line}"
        for module in MODULES
        for name, line in imports(module)
        if layer(name) != layer(module) and RANK[layer(name)] >= RANK[layer(module)]
    ]
    assert not against, "imports against the layers:\n" + "\n".join(against)
