"""The dependency direction of DESIGN.md: everything points at ``hub``; ``hub`` points at
nothing but itself, except its composition root."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "channels", "routing", "widget", "crm_bridge", "operators_ui")
COMPOSITION_ROOT = {"hub/app.py", "hub/cli.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_dependencies_point_at_hub() -> None:
    violations = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in COMPOSITION_ROOT:
                continue
            for imported in _imports(path) & set(PACKAGES):
                if imported != package and imported != "hub":
                    violations.append(f"{rel} imports {imported}")
    assert violations == []
