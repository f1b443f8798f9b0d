"""The project's import structure, read from the code (every import, module-level or inside a
function): the entry point is reached by nobody but bench/ and tests, and no two top-level
packages import each other, directly or round a longer loop."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent.name for p in REPO.glob("*/__init__.py")) + ["bench"]


def imports_of(path: Path) -> set[str]:
    """The top-level project packages a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the files that import it."""
    graph: dict[str, dict[str, list[str]]] = {p: {} for p in PACKAGES}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for other in imports_of(path) - {package}:
                graph[package].setdefault(other, []).append(str(path.relative_to(REPO)))
    return graph


def test_nothing_but_bench_and_tests_imports_the_launcher():
    reaching = {pkg: files for pkg, edges in package_graph().items() if pkg != "bench"
                for other, files in edges.items() if other == "launcher"}
    assert not reaching, f"import core/ instead of launcher/ from: {reaching}"


def test_no_import_cycle_between_top_level_packages():
    graph = package_graph()

    def path_back(start: str, node: str, seen: tuple[str, ...]):
        for nxt in graph[node]:
            if nxt == start:
                return [*seen, nxt]
            if nxt not in seen:
                found = path_back(start, nxt, (*seen, nxt))
                if found:
                    return found
        return None

    for package in PACKAGES:
        loop = path_back(package, package, (package,))
        if loop:
            ties = [f"{a} -> {b} ({', '.join(graph[a][b])})" for a, b in zip(loop, loop[1:])]
            raise AssertionError("import cycle: " + "; ".join(ties))


def test_the_core_imports_no_other_project_package():
    assert package_graph()["core"] == {}
