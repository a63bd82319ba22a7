"""The architecture of DESIGN.md, checked on the source: everything points at ``hub``; packages
meet in typed operations, never in collections; each platform SDK stays in its adapter.

Each check is a function over a tree root returning its offences as ``path:line: what`` strings,
so the same function runs on the real tree and on the small fixture trees below that show it
failing on a violating file and passing on a clean one.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "channels", "routing", "widget", "crm_bridge", "operators_ui")
# The composition root wires every package in: the one place in ``hub`` that may import them.
COMPOSITION_ROOT = ("hub/app.py", "hub/app/", "hub/cli.py")
# Where collections may be touched: the hub's storage, the CRM's own storage module, and the
# e-mail adapter's store of its own ``email_*`` collections (Message-IDs, mailbox positions).
STORAGE = (
    "hub/storage/",
    "hub/store.py",
    "crm_bridge/store.py",
    "crm_bridge/storage",
    "channels/email/threads.py",
)
# Each platform SDK lives in one adapter only; its types never leave it.
SDK_HOMES = {
    "aiogram": "channels/telegram/",
    "vk_api": "channels/vk/",
    "aioimaplib": "channels/email/",
    "aiosmtplib": "channels/email/",
}

# The collection handles the stores expose (``hub.store.Store``, ``crm_bridge.store.CrmStore``).
# ``channels`` is not here: ``store.channels`` is already a typed repository.
COLLECTIONS = frozenset(
    {
        # hub
        "users",
        "sessions",
        "presence",
        "processes",
        "lines",
        "clients",
        "identities",
        "conversations",
        "open_threads",
        "messages",
        "outbox",
        "timers",
        "operator_load",
        "channel_leases",
        "pins",
        "quick_answers",
        # crm_bridge
        "leads",
        "contacts",
        "companies",
        "deals",
        "pipelines",
        "activities",
        "webhooks",
        "deliveries",
    }
)
# What only a PyMongo collection answers to.
COLLECTION_METHODS = frozenset(
    {
        "find",
        "find_one",
        "find_one_and_update",
        "find_one_and_replace",
        "find_one_and_delete",
        "insert_one",
        "insert_many",
        "update_one",
        "update_many",
        "replace_one",
        "delete_one",
        "delete_many",
        "count_documents",
        "estimated_document_count",
        "aggregate",
        "distinct",
        "bulk_write",
        "create_index",
        "create_indexes",
        "drop",
        "watch",
    }
)
STORE_NAMES = frozenset({"store", "_store"})


def _python_files(root: Path) -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            yield rel, ast.parse(path.read_text(), filename=rel)


def _module_of(rel: str) -> list[str]:
    """The dotted package a file's relative imports start from (``a/b/c.py`` -> ``a.b``)."""
    return rel.removesuffix(".py").split("/")[:-1]


def _imports(rel: str, tree: ast.Module) -> Iterator[tuple[int, str, bool]]:
    """``(line, absolute module, relative?)`` for every import; ``from a import b`` yields
    ``a`` and ``a.b`` (``b`` may be a module). An unresolvable relative import yields ``..``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, False
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _module_of(rel)
                if node.level - 1 >= len(base):
                    yield node.lineno, "..", True
                    continue
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module, bool(node.level)
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}", bool(node.level)


def check_direction(root: Path) -> list[str]:
    """Everything points at ``hub``; ``hub`` (but its composition root) points at nothing else."""
    offences = []
    for rel, tree in _python_files(root):
        if rel.startswith(COMPOSITION_ROOT):
            continue
        package = rel.split("/")[0]
        for line, module, _ in _imports(rel, tree):
            top = module.split(".")[0]
            if top in PACKAGES and top not in (package, "hub"):
                offences.append(f"{rel}:{line}: imports {top}")
    return sorted(set(offences))


def check_relative_imports(root: Path) -> list[str]:
    """A relative import stays inside its own top-level package."""
    offences = []
    for rel, tree in _python_files(root):
        package = rel.split("/")[0]
        for line, module, relative in _imports(rel, tree):
            if relative and module.split(".")[0] != package:
                offences.append(f"{rel}:{line}: relative import out of {package}/")
    return sorted(set(offences))


def _adapter(rel: str) -> str | None:
    parts = rel.removesuffix(".py").split("/")
    return parts[1] if parts[0] == "channels" and len(parts) > 1 else None


def check_adapters_apart(root: Path) -> list[str]:
    """One channel adapter (``channels/<a>``) never imports another (``channels/<b>``)."""
    offences = []
    for rel, tree in _python_files(root):
        own = _adapter(rel)
        if own is None or own == "__init__":
            continue
        for line, module, _ in _imports(rel, tree):
            parts = module.split(".")
            if parts[0] == "channels" and len(parts) > 1 and parts[1] != own:
                offences.append(f"{rel}:{line}: adapter {own} imports channels.{parts[1]}")
    return sorted(set(offences))


def check_sdk_homes(root: Path) -> list[str]:
    """aiogram only in channels/telegram, vk_api only in channels/vk, the mail libraries only in
    channels/email."""
    offences = []
    for rel, tree in _python_files(root):
        for line, module, _ in _imports(rel, tree):
            home = SDK_HOMES.get(module.split(".")[0])
            if home is not None and not rel.startswith(home):
                offences.append(f"{rel}:{line}: imports {module.split('.')[0]} outside {home}")
    return sorted(set(offences))


def _is_store(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in STORE_NAMES) or (
        isinstance(node, ast.Attribute) and node.attr in STORE_NAMES
    )


def _is_db(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "db") or (
        isinstance(node, ast.Attribute) and node.attr == "db"
    )


def _key(node: ast.expr) -> str | None:
    """A name or ``self.<attr>`` that a collection can be kept in, as one string."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _is_collection(node: ast.expr, aliases: set[str]) -> bool:
    """A collection handle: ``<x>.<collection>``, ``<x>[...]``, ``<x>.collection(...)`` or a
    name that one was assigned to in the same module."""
    if isinstance(node, ast.Subscript):
        return True
    if isinstance(node, ast.Attribute) and node.attr in COLLECTIONS:
        return True
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"collection", "get_collection"}
    ):
        return True
    return _key(node) in aliases


def _aliases(tree: ast.Module) -> set[str]:
    """Names (and ``self.<attr>``s) assigned a raw collection somewhere in the module."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            value = node.value
            taken = isinstance(value, ast.Call) and _is_collection(value, set())
            if taken or _collection_touch(value, set()) is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found.update(key for target in targets if (key := _key(target)) is not None)
    return found


def _collection_touch(
    node: ast.AST, aliases: set[str], parent: ast.AST | None = None
) -> str | None:
    """What raw collection access ``node`` (inside ``parent``) is, if it is one:

    - ``<store>.db``, or ``<store>.<collection>`` (``store``/``_store`` a name or attribute,
      ``<collection>`` one of ``COLLECTIONS``) used as a handle: a collection taken off a store.
      A repository under a collection's name is fine to call (``store.users.by_email(...)``),
      so only a bare handle (passed on, assigned) or a collection method on it counts;
    - ``db[...]`` or ``<x>.db[...]``: a collection taken by name off a database;
    - ``<handle>.<method>(...)`` with ``<method>`` one of ``COLLECTION_METHODS`` and
      ``<handle>`` a collection (see ``_is_collection``): a collection called directly.
    """
    if (
        isinstance(node, ast.Attribute)
        and _is_store(node.value)
        and (node.attr == "db" or (node.attr in COLLECTIONS and not _calls_repository(parent)))
    ):
        return f"store.{node.attr}"
    if isinstance(node, ast.Subscript) and _is_db(node.value):
        return "db[...]"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in COLLECTION_METHODS
        and _is_collection(node.func.value, aliases)
    ):
        return f"collection.{node.func.attr}()"
    return None


def _calls_repository(parent: ast.AST | None) -> bool:
    """``parent`` takes a method off its value that no PyMongo collection has."""
    return isinstance(parent, ast.Attribute) and parent.attr not in COLLECTION_METHODS


def collection_touches(root: Path) -> dict[str, list[str]]:
    """Every raw collection access outside storage, by file. A chain such as
    ``hub.store.db["x"].find_one()`` is one access (all its parts start at one place)."""
    found: dict[str, list[str]] = {}
    for rel, tree in _python_files(root):
        if rel.startswith(STORAGE):
            continue
        seen: dict[tuple[int, int], str] = {}
        aliases = _aliases(tree)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            what = _collection_touch(node, aliases, parents.get(node))
            if what is not None and isinstance(node, ast.expr):
                seen.setdefault((node.lineno, node.col_offset), what)
        if seen:
            found[rel] = [f"{rel}:{line}: {what}" for (line, _), what in sorted(seen.items())]
    return found


def check_collections(root: Path) -> list[str]:
    """No collection touched outside its storage module."""
    offences = []
    for rel, touches in collection_touches(root).items():
        offences.append(f"{rel}: {len(touches)} raw collection accesses:")
        offences.extend(f"    {touch}" for touch in touches)
    return offences


def _report(what: str, offences: list[str]) -> str:
    return f"{what}:\n" + "\n".join(offences)


# --- the real tree ---------------------------------------------------------------------------


def test_dependencies_point_at_hub() -> None:
    offences = check_direction(ROOT)
    assert offences == [], _report("imports against the direction of DESIGN.md", offences)


def test_no_relative_import_across_packages() -> None:
    offences = check_relative_imports(ROOT)
    assert offences == [], _report("relative imports across packages", offences)


def test_adapters_do_not_import_each_other() -> None:
    offences = check_adapters_apart(ROOT)
    assert offences == [], _report("channel adapters importing each other", offences)


def test_sdks_stay_in_their_adapter() -> None:
    offences = check_sdk_homes(ROOT)
    assert offences == [], _report("platform SDKs outside their adapter", offences)


def test_collections_only_in_storage() -> None:
    offences = check_collections(ROOT)
    assert offences == [], _report(
        "collections touched outside storage (move them behind a storage method)", offences
    )


# --- the checks fail on violations (fixture trees) -------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CLEAN = {
    "hub/__init__.py": "",
    "hub/store.py": "async def f(store):\n    return await store.users.find_one({})\n",
    "hub/storage/lines.py": "async def f(db):\n    return await db['lines'].find_one({})\n",
    "hub/app.py": "import routing.router\n",
    "routing/router.py": (
        "from hub.store import Store\n\n"
        "async def f(store):\n    return await store.channels.get('x')\n"
    ),
    "channels/__init__.py": "",
    "channels/telegram/__init__.py": "import aiogram\n\nfrom .limits import SendLimiter\n",
    "channels/telegram/limits.py": "from hub.models import new_id\n",
    "channels/vk/kind.py": "import vk_api\n\nfrom channels.vk.parse import parse\n",
    "channels/email/imap.py": "import aioimaplib\nimport aiosmtplib\n",
    "crm_bridge/store.py": (
        "async def f(store):\n    return await store.leads.count_documents({})\n"
    ),
    "widget/web.py": "def f(text):\n    return text.find('x')\n",
    # A repository under its collection's name is called, not reached through.
    "widget/lifecycle.py": "async def f(hub):\n    return await hub.store.users.by_email('x')\n",
}


@pytest.mark.parametrize(
    ("check", "rel", "text"),
    [
        (check_direction, "hub/conversations.py", "import routing.router\n"),
        (check_direction, "widget/web.py", "from operators_ui import web\n"),
        (check_relative_imports, "routing/router.py", "from ..hub import store\n"),
        (check_relative_imports, "hub/x.py", "from ... import anything\n"),
        (check_adapters_apart, "channels/vk/kind.py", "from channels.telegram import parse\n"),
        (check_adapters_apart, "channels/vk/kind.py", "from ..telegram.limits import X\n"),
        (check_adapters_apart, "channels/vk/kind.py", "from channels import email\n"),
        (check_sdk_homes, "channels/vk/kind.py", "from aiogram import Bot\n"),
        (check_sdk_homes, "hub/outbox.py", "import vk_api.exceptions\n"),
        (check_sdk_homes, "widget/web.py", "import aiosmtplib\n"),
        (check_sdk_homes, "channels/telegram/x.py", "from aioimaplib import IMAP4\n"),
        (
            check_collections,
            "routing/router.py",
            "async def f(hub):\n    await hub.store.conversations.update_one({}, {})\n",
        ),
        (
            check_collections,
            "widget/demo.py",
            "async def f(hub):\n    return await hub.store.db['meta'].find_one({})\n",
        ),
        (
            check_collections,
            "channels/email/__init__.py",
            "async def f(self):\n    return await self._deps.db['lines'].find_one({})\n",
        ),
        (
            check_collections,
            "crm_bridge/api.py",
            "async def f(crm):\n    return await crm.store.contacts.count_documents({})\n",
        ),
        (check_collections, "operators_ui/web.py", "def f(self):\n    return self._store.pins\n"),
        (check_collections, "hub/api/users.py", "def f(store):\n    return page(store.users)\n"),
        (
            check_collections,
            "hub/outbox.py",
            "async def f(self):\n    return await self.messages.insert_one({})\n",
        ),
    ],
)
def test_each_check_fails_on_a_violation(
    tmp_path: Path, check: object, rel: str, text: str
) -> None:
    assert callable(check)
    clean = _tree(tmp_path / "clean", CLEAN)
    assert check(clean) == []
    dirty = _tree(tmp_path / "dirty", {**CLEAN, rel: text})
    offences = check(dirty)
    assert offences != []
    assert rel in offences[0]


def test_collection_check_reports_every_access_of_a_file(tmp_path: Path) -> None:
    two_calls = (
        "async def f(hub):\n"
        "    await hub.store.messages.find_one({})\n"
        "    await hub.store.db['meta'].find_one({})\n"
    )
    root = _tree(tmp_path, {**CLEAN, "routing/router.py": two_calls})
    assert check_collections(root) == [
        "routing/router.py: 2 raw collection accesses:",
        "    routing/router.py:2: collection.find_one()",
        "    routing/router.py:3: collection.find_one()",
    ]
    assert Counter(len(v) for v in collection_touches(root).values()) == Counter({2: 1})
