"""The architecture, read from the import graph: the toolkit's packages depend one way, with no cycles; the
content imports only the catalog and the authoring API; the toolkit reads the content only at call time.

Every import counts, module-level or inside a function, since a late import is a dependency too."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import REPO

# The toolkit's packages, from the command layer down. A package may import its own modules and those of a
# lower rank; packages of the same rank do not import each other.
RANKS = {
    "obs.cli": 7,
    "obs.review": 6,
    "obs.ingest": 6,
    "obs.deploy": 5,
    "obs.run": 5,
    "obs.compile": 4,
    "obs.check": 3,
    "obs.diff": 3,
    "obs.author": 2,
    "obs.core": 1,
}
CONTENT = ("dashboards", "datasources", "alerts", "stack")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(*packages: str) -> dict[str, Path]:
    return {module_name(p): p for package in packages for p in sorted((REPO / package).rglob("*.py"))
            if "tests" not in p.relative_to(REPO).parts}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import in the file. `from x import y` counts as x.y when
    x.y is a module of the toolkit (a submodule), else as x."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = (REPO / Path(*candidate.split("."))).with_suffix(".py").is_file() or (
                    REPO / Path(*candidate.split(".")) / "__init__.py").is_file()
                found.append((candidate if is_module else base, id(node) in top_level))
    return found


def rank_of(module: str) -> tuple[str, int] | None:
    for package, rank in RANKS.items():
        if module == package or module.startswith(package + "."):
            return package, rank
    return None


TOOLKIT = sources("obs")


def test_every_toolkit_module_belongs_to_a_role():
    homeless = [m for m in TOOLKIT if m not in ("obs", "obs.__main__") and rank_of(m) is None]
    assert homeless == []


@pytest.mark.parametrize("module", sorted(TOOLKIT))
def test_dependencies_run_one_way(module):
    mine = rank_of(module)
    wrong = []
    for imported, _ in imports(TOOLKIT[module]):
        theirs = rank_of(imported)
        if theirs is None or mine is None or theirs[0] == mine[0]:
            continue
        if theirs[1] >= mine[1]:
            wrong.append(f"{imported} ({theirs[0]}, rank {theirs[1]})")
    assert wrong == [], f"{module} ({mine}) imports upwards or sideways: {wrong}"


def test_no_import_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in TOOLKIT.items():
        graph[module] |= {imported for imported, _ in imports(path) if imported in TOOLKIT and imported != module}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(TOOLKIT))
def test_the_toolkit_reads_the_catalog_only_at_call_time(module):
    """A module-level `import catalog` would keep the catalog of the first project a process built, and the
    core must not depend on content at all (its exceptions and types are shared by every build)."""
    for imported, at_module_level in imports(TOOLKIT[module]):
        top = imported.partition(".")[0]
        assert top not in CONTENT, f"{module} imports content module {imported}"
        if top == "catalog":
            assert not module.startswith("obs.core"), f"{module} (core) imports the catalog"
            if at_module_level:
                assert _under_type_checking(TOOLKIT[module], imported), \
                    f"{module} imports {imported} at module level"


def _under_type_checking(path: Path, imported: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(imported.partition(".")[0]):
                    return True
    return False


CONTENT_MODULES = sources(*CONTENT)


@pytest.mark.parametrize("module", sorted(CONTENT_MODULES))
def test_content_imports_only_the_catalog_and_the_authoring_api(module):
    own = module.partition(".")[0]
    wrong = [imported for imported, _ in imports(CONTENT_MODULES[module])
             if imported != "__future__" and imported.partition(".")[0] not in ("catalog", own)
             and not (imported == "obs.author" or imported.startswith("obs.author."))]
    assert wrong == [], f"{module} imports {wrong}"


@pytest.mark.parametrize("module", sorted(sources("catalog")))
def test_the_catalog_imports_nothing_of_the_toolkit(module):
    path = sources("catalog")[module]
    wrong = [i for i, _ in imports(path) if i.partition(".")[0] in ("obs", *CONTENT)]
    assert wrong == []


def test_the_graph_is_read_right():
    """The reader itself: it sees module-level, late and relative imports of submodules."""
    found = dict(imports(TOOLKIT["obs.compile.pipeline"]))
    assert found.get("obs.compile.dashboards") is True and found.get("obs.core.content") is True
    late = dict(imports(TOOLKIT["obs.author.panels"]))
    assert late.get("catalog.grafana") is False  # inside prometheus_variable()
