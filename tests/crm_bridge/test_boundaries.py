"""The CRM's two seams stay the only ones: ``crm_bridge/storage.py`` is the only module that
touches a collection (its own ``crm_*`` ones), ``crm_bridge/hub_view.py`` the only one that
reaches into the hub's services and collections (holding, until hub/storage exposes typed
reads, the raw hub calls left). Read from the source, no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_architecture import COLLECTION_METHODS

ROOT = Path(__file__).resolve().parents[2] / "crm_bridge"
# Every method of a PyMongo collection (the architecture test's list), and taking one off
# with other options.
COLLECTION_CALLS = COLLECTION_METHODS | {"with_options"}
STORAGE = "storage.py"
HUB_VIEW = "hub_view.py"
# The composition of the CRM: builds its storage on the hub's database, subscribes to the bus.
BRIDGE = "bridge.py"


def _collection_calls(tree: ast.AST) -> list[str]:
    return [
        f"{node.lineno}: .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in COLLECTION_CALLS
    ]


def _hub_reaches(tree: ast.AST) -> list[str]:
    """``<x>.store`` / ``<x>.stream`` / ``<x>.conversations`` of the hub's services."""
    return [
        f"{node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"store", "stream"}
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]


def _violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        name = path.relative_to(root).as_posix()
        # The hub view keeps the raw calls the hub has no typed read for yet (marked there).
        if name not in (STORAGE, HUB_VIEW):
            found += [f"{name}:{call}" for call in _collection_calls(tree)]
        if name not in (HUB_VIEW, BRIDGE):
            found += [f"{name}:{reach}" for reach in _hub_reaches(tree)]
    return found


def test_only_storage_touches_collections_and_only_hub_view_the_hub() -> None:
    assert _violations(ROOT) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("async def f(db):\n    await db.crm_leads.find_one({})\n", "records.py:2: .find_one()"),
        ("async def f(hub):\n    return hub.store.clients\n", "records.py:2: .store"),
    ],
)
def test_a_collection_call_outside_storage_is_caught(
    tmp_path: Path, source: str, expected: str
) -> None:
    (tmp_path / STORAGE).write_text("async def f(c):\n    await c.find_one({})\n")
    (tmp_path / "records.py").write_text(source)
    assert _violations(tmp_path) == [expected]
