"""The layering rules of ARCHITECTURE.md, checked on the source tree."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_hardware_never_imports_chargepoint() -> None:
    for path in (ROOT / "hardware").rglob("*.py"):
        assert "chargepoint" not in _imports(path), path


def test_core_is_pure() -> None:
    forbidden = {"asyncio", "ocpp", "websockets", "hardware", "sqlite3", "time", "socket"}
    for path in (ROOT / "chargepoint" / "core").rglob("*.py"):
        assert not (_imports(path) & forbidden), (path, _imports(path) & forbidden)


# -- the import graph (every import counts: TYPE_CHECKING and function-local ones too) ------

_PACKAGES = ("chargepoint", "hardware")


def _modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in _PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of this repository it imports (``from a import b`` counts as an
    import of ``a.b`` when that is a module, else of ``a``)."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps.update(m for a in node.names if (m := known(a.name)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in modules else known(base)
                    if target:
                        deps.add(target)
        deps.discard(name)
        graph[name] = deps
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles() -> None:
    """``python -m tests.test_layering`` prints the graph facts this checks."""
    assert import_cycles(import_graph()) == []


def test_only_the_registry_imports_a_protocol_package() -> None:
    """A protocol version lives in its package; the rest of the station sees the ports
    (``chargepoint.ports``) and asks ``chargepoint.protocols`` for the package."""
    importers = {m for m, deps in import_graph().items()
                 if not m.startswith("chargepoint.ocpp16")
                 and any(d.startswith("chargepoint.ocpp16") for d in deps)}
    assert importers == {"chargepoint.protocols"}


def test_the_shared_ocpp_j_machinery_imports_no_protocol_package() -> None:
    graph = import_graph()
    shared = [m for m in graph if m.startswith("chargepoint.ocppj")]
    assert shared, "chargepoint.ocppj is gone: update this test"
    for module in shared:
        assert not [d for d in graph[module] if d.startswith("chargepoint.ocpp16")], module


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_import_graph_sees_type_checking_imports() -> None:
    graph = import_graph()
    assert "chargepoint.island.simclient" in graph["chargepoint.station_control"]


if __name__ == "__main__":  # the facts behind the tests above, for a closing note
    facts = import_graph()
    print("import cycles:", import_cycles(facts) or "none")
    print("modules outside chargepoint.ocpp16 importing it:", sorted(
        m for m, deps in facts.items() if not m.startswith("chargepoint.ocpp16")
        and any(d.startswith("chargepoint.ocpp16") for d in deps)))
