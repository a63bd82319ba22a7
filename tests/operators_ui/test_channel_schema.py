"""The console's schema reader (operators_ui/src/admin/schema.ts), run in Node on the hub's real
channel-type schemas: every kind parses into fields of the right kind, generated and shown-once
fields stay out of the form, and form input becomes the config the hub expects (blank left out
on create; on edit a blank secret is kept and a blank nullable field cleared)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import Api

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_TS = ROOT / "operators_ui" / "src" / "admin" / "schema.ts"

# Bundles schema.ts with the project's esbuild and runs the cases read from stdin.
RUNNER = """
import * as esbuild from "esbuild";
const out = await esbuild.build({ entryPoints: [process.argv[1]], bundle: true, format: "esm",
  platform: "node", write: false, logLevel: "error" });
const code = Buffer.from(out.outputFiles[0].text).toString("base64");
const url = "data:text/javascript;base64," + code;
const { parseSchema, collectConfig } = await import(url);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { types, forms } = JSON.parse(input);
const parsed = Object.fromEntries(types.map((k) => [k.type, parseSchema(k.schema)]));
const collected = forms.map(({ type, raw, editing }) =>
  collectConfig(parsed[type].fields, (key) => raw[key] ?? [], editing));
process.stdout.write(JSON.stringify({ parsed, collected }));
"""


def run_schema(types: list[dict[str, Any]], forms: list[dict[str, Any]]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to build the console (npm run build)")
    done = subprocess.run(
        [node, "--input-type=module", "-e", RUNNER, str(SCHEMA_TS)],
        input=json.dumps({"types": types, "forms": forms}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def by_key(fields: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in fields}


async def test_every_kind_parses_into_its_form(admin: Api) -> None:
    types = (await admin.get("/api/v1/channel-types"))["channel_types"]
    parsed = run_schema(types, [])["parsed"]
    assert set(parsed) == {t["type"] for t in types}
    for kind in types:
        props = kind["schema"]["properties"]
        fields = by_key(parsed[kind["type"]]["fields"])
        once = {o["key"] for o in parsed[kind["type"]]["once"]}
        generated = {n for n, p in props.items() if p.get("x-generated") or p.get("x-once")}
        assert once == generated and not (set(fields) & generated), kind["type"]
        assert set(fields) | once == set(props), kind["type"]
        for name, field in fields.items():
            assert field["title"] == props[name]["x-title"], (kind["type"], name)
            assert field["required"] == (name in kind["schema"].get("required", []))
            if props[name].get("writeOnly"):
                assert field["kind"] == "secret", (kind["type"], name)

    telegram = by_key(parsed["telegram"]["fields"])
    assert telegram["bot_token"]["kind"] == "secret" and telegram["bot_token"]["required"]
    assert telegram["mode"]["kind"] == "choice" and telegram["mode"]["initial"] == "webhook"
    assert [o["value"] for o in telegram["mode"]["options"]] == ["webhook", "polling"]
    assert telegram["api_base"]["kind"] == "text" and telegram["api_base"]["nullable"]
    vk = by_key(parsed["vk"]["fields"])
    # An exclusive bound becomes the inclusive one a number input can enforce.
    assert vk["group_id"]["kind"] == "integer" and vk["group_id"]["minimum"] == 1
    widget = by_key(parsed["widget"]["fields"])
    assert widget["prechat_fields"]["kind"] == "choices"
    assert {o["value"] for o in widget["prechat_fields"]["options"]} == {"name", "email", "phone"}
    assert widget["allowed_origins"]["kind"] == "list"
    assert widget["agreement_text"]["kind"] == "multiline"
    email = by_key(parsed["email"]["fields"])
    assert email["imap_tls"]["kind"] == "boolean" and email["imap_tls"]["initial"] is True
    assert email["imap_port"]["maximum"] == 65535


async def test_form_input_becomes_config(admin: Api) -> None:
    types = (await admin.get("/api/v1/channel-types"))["channel_types"]
    vk_form = {
        "group_id": [" 218000111 "],
        "access_token": ["token-123456"],
        "secret": [""],
        "confirmation_code": ["abc"],
        "mode": ["longpoll"],
        "api_base": [""],
    }
    forms = [
        {"type": "vk", "raw": vk_form, "editing": False},
        {"type": "vk", "raw": {**vk_form, "access_token": [""]}, "editing": True},
        {
            "type": "widget",
            "raw": {
                "title": ["Sales"],
                "allowed_origins": ["https://a.example\nhttps://b.example, https://c.example"],
                "prechat_fields": ["name", "phone"],
            },
            "editing": False,
        },
        {"type": "email", "raw": {"imap_port": ["143"], "imap_tls": []}, "editing": False},
    ]
    created, edited, widget, email = run_schema(types, forms)["collected"]
    assert created == {
        "group_id": 218000111,
        "access_token": "token-123456",
        "confirmation_code": "abc",
        "mode": "longpoll",
    }
    # Editing: blank secrets are left out (kept), a blank nullable field is cleared.
    assert "access_token" not in edited and "secret" not in edited
    assert edited["api_base"] is None and edited["group_id"] == 218000111
    assert widget["allowed_origins"] == [
        "https://a.example",
        "https://b.example",
        "https://c.example",
    ]
    assert widget["prechat_fields"] == ["name", "phone"] and widget["title"] == "Sales"
    assert email["imap_port"] == 143 and email["imap_tls"] is False and email["mark_seen"] is False
