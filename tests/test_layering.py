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
