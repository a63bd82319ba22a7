"""A system note to the staff carries its code and params (the console renders it in its own
language), and keeps the English rendering in ``text`` for API clients."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hub.conversations.posting import SYSTEM_NOTES
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says

STRINGS = json.loads(
    (Path(__file__).resolve().parents[2] / "operators_ui/src/i18n/strings.json").read_text()
)


def test_every_note_code_has_a_text_in_both_languages() -> None:
    for code, english in SYSTEM_NOTES.items():
        assert STRINGS["en"][f"sys.{code}"] == english, code
        ru = STRINGS["ru"][f"sys.{code}"]
        assert ru != english, code
        # The same params in both renderings.
        assert set(re.findall(r"{(\w+)}", ru)) == set(re.findall(r"{(\w+)}", english)), code


async def test_accept_and_transfer_notes_carry_code_and_params(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2)
    first, second = world.operators
    visitor, message = await visitor_says(base_url, world.key, "help")
    cid = message["conversation_id"]
    await first.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    assert first.user is not None and second.user is not None
    await first.post(
        f"/api/v1/conversations/{cid}/transfer", {"to_user_id": second.user["id"]}, expect=200
    )
    notes = [
        m
        for m in (await admin.get(f"/api/v1/conversations/{cid}/messages"))["messages"]
        if m["direction"] == "system"
    ]
    assert [(n["system"]["code"], n["system"]["params"]) for n in notes] == [
        ("took", {"user": first.user["name"]}),
        ("transferred", {"user": first.user["name"], "to": second.user["name"]}),
    ]
    assert (
        notes[1]["text"]
        == f"{first.user['name']} transferred the conversation to {second.user['name']}."
    )
    assert all(n["hidden"] for n in notes)
    await visitor.close()
