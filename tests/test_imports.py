"""The package has no import circles: every import between its modules, at the top of a file or
inside a function, read from the source with ``ast``, forms an acyclic graph."""

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnreplay"


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(node, current: str, is_package: bool, modules: set[str]) -> set[str]:
    """The package's modules an import statement names (``from . import x`` names module x)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    if node.level:
        base = current.split(".") if is_package else current.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    named = {f"{module}.{alias.name}" for alias in node.names} & modules
    return named or ({module} & modules)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its source."""
    files = {module_name(p, package): p for p in package.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        graph[name] = {dep for node in ast.walk(ast.parse(path.read_text()))
                       if isinstance(node, (ast.Import, ast.ImportFrom))
                       for dep in imported_modules(node, name, is_package, set(files)) if dep != name}
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def test_the_package_has_no_import_circles():
    graph = import_graph()
    assert len(graph) > 40 and graph["rnnreplay.train"] >= {"rnnreplay.model", "rnnreplay.batches"}
    assert circle(graph) is None, f"an import circle: {' -> '.join(circle(graph))}"


def test_a_circle_through_an_import_inside_a_function_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import g\n")
    (package / "b.py").write_text("def g():\n    from . import a\n    return a\n")
    assert sorted(set(circle(import_graph(package)))) == ["pkg.a", "pkg.b"]
