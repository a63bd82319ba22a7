"""``GET /api/v1/channel-types``: every channel kind with a config schema the console can draw
a complete form from, in Russian as in English, without showing a secret back."""

from __future__ import annotations

import re
from typing import Any

from tests.support.clients import Api

KINDS = ["widget", "api", "telegram", "vk", "email"]
CYRILLIC = re.compile("[\u0430-\u044f\u0451]", re.IGNORECASE)
# The secrets of each kind that its config takes (telegram's webhook secret is generated).
SECRETS = {
    "widget": {"identity_secret"},
    "api": {"secret"},
    "telegram": {"bot_token"},
    "vk": {"access_token", "secret"},
    "email": {"password"},
}


def _words(value: Any, where: str) -> None:
    """A text in both languages, the Russian one really Russian (not English copied)."""
    assert isinstance(value, dict) and set(value) == {"ru", "en"}, where
    assert value["en"].strip() and value["ru"].strip(), where
    assert CYRILLIC.search(value["ru"]) or value["ru"] == value["en"], f"{where}: {value}"


def _enum_values(prop: dict[str, Any]) -> list[str] | None:
    if "enum" in prop:
        return list(prop["enum"])
    items = prop.get("items") or {}
    return list(items["enum"]) if "enum" in items else None


async def _types(api: Api) -> list[dict[str, Any]]:
    body = await api.get("/api/v1/channel-types")
    assert set(body) == {"channel_types"}
    types: list[dict[str, Any]] = body["channel_types"]
    return types


async def test_every_kind_in_registry_order(admin: Api) -> None:
    types = await _types(admin)
    assert [t["type"] for t in types] == KINDS
    for entry in types:
        assert set(entry) == {"type", "title", "schema"}
        _words(entry["title"], entry["type"])
        assert entry["schema"]["type"] == "object"
        assert entry["schema"]["properties"], entry["type"]


async def test_any_staff_reads_it_and_nobody_else(admin: Api, anon: Api) -> None:
    operator = await admin.create_user("operator")
    assert [t["type"] for t in await _types(operator)] == KINDS
    status, body = await anon.call("GET", "/api/v1/channel-types")
    assert status == 401
    assert set(body) == {"error"}


async def test_every_field_is_titled_in_russian_and_english(admin: Api) -> None:
    for entry in await _types(admin):
        for name, prop in entry["schema"]["properties"].items():
            where = f"{entry['type']}.{name}"
            _words(prop.get("x-title"), where)
            if "x-description" in prop:
                _words(prop["x-description"], f"{where} description")
            values = _enum_values(prop)
            if values is not None:
                titles = prop.get("x-enum-titles")
                assert isinstance(titles, dict) and sorted(titles) == sorted(values), where
                for value, title in titles.items():
                    _words(title, f"{where}={value}")


async def test_secrets_are_write_only_and_generated_fields_marked(admin: Api) -> None:
    types = {t["type"]: t["schema"]["properties"] for t in await _types(admin)}
    for kind, secrets in SECRETS.items():
        write_only = {name for name, prop in types[kind].items() if prop.get("writeOnly")}
        assert write_only == secrets, kind
    # What the hub generates and shows once, a form may leave out.
    assert types["widget"]["identity_secret"]["x-once"] is True
    assert types["widget"]["identity_secret"]["x-generated"] is True
    assert types["api"]["secret"]["x-once"] is True
    assert types["api"]["secret"]["x-generated"] is True
    assert types["widget"]["agreement_text"]["x-multiline"] is True
    assert types["widget"]["prechat_fields"]["items"]["enum"] == ["name", "email", "phone"]


async def test_the_schema_is_what_creation_validates(admin: Api) -> None:
    """A config built from the schema's defaults and required fields creates the channel."""
    line = await admin.create_line()
    widget = next(t for t in await _types(admin) if t["type"] == "widget")["schema"]
    config = {
        name: prop["default"] for name, prop in widget["properties"].items() if "default" in prop
    }
    config["prechat_fields"] = ["email", "name"]
    created = await admin.create_channel(line["id"], "widget", config)
    assert created["config"]["prechat_fields"] == ["email", "name"]
    status, body = await admin.call(
        "POST",
        f"/api/v1/lines/{line['id']}/channels",
        {"type": "widget", "config": {"prechat_fields": ["age"]}},
    )
    assert status == 422, body
    assert "unknown pre-chat fields ['age']" in str(body), body
