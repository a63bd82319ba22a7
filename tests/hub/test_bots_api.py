"""Bots (issue 17, point 5, the bot itself): admins create, edit and delete a menu of nodes;
every staff member reads them; a menu that leads nowhere, or transfers to a line or sends a
form that does not exist, is refused with the reason and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.clients import Api


def menu(line_id: str, form_id: str) -> dict[str, Any]:
    """A two-level menu: delivery questions, or straight to sales or a person."""
    return {
        "name": "Front desk",
        "nodes": [
            {
                "id": "start",
                "text": {"ru": "Здравствуйте! Чем помочь?", "en": "Hello! How can we help?"},
                "choices": [
                    {"label": {"ru": "Доставка", "en": "Delivery"}, "next": "delivery"},
                    {
                        "label": {"ru": "Купить", "en": "Buy"},
                        "action": {"type": "transfer", "line_id": line_id},
                    },
                    {"label": {"en": "A person"}, "action": {"type": "operator"}},
                ],
            },
            {
                "id": "delivery",
                "text": {"ru": "Что именно?", "en": "What exactly?"},
                "choices": [
                    {
                        "label": {"en": "How long?"},
                        "action": {
                            "type": "answer",
                            "text": {"en": "Two days.", "ru": "Два дня."},
                        },
                    },
                    {
                        "label": {"en": "Leave details"},
                        "action": {"type": "form", "form_id": form_id},
                    },
                    {"label": {"en": "Done"}, "action": {"type": "close"}},
                    {"label": {"en": "Back"}, "next": "start"},
                ],
            },
        ],
    }


async def _refs(admin: Api) -> tuple[str, str]:
    line = await admin.create_line(name="Sales")
    form = await admin.post(
        "/api/v1/forms",
        {
            "name": "Details",
            "fields": [{"key": "phone", "label": {"en": "Phone"}, "type": "phone"}],
        },
        expect=201,
    )
    return line["id"], form["id"]


async def test_admins_write_bots_and_staff_read_them(admin: Api) -> None:
    line_id, form_id = await _refs(admin)
    bot = await admin.post("/api/v1/bots", menu(line_id, form_id), expect=201)
    assert [n["id"] for n in bot["nodes"]] == ["start", "delivery"]
    assert bot["nodes"][0]["choices"][1]["action"] == {"type": "transfer", "line_id": line_id}
    operator = await admin.create_user("operator")
    assert [b["id"] for b in (await operator.get("/api/v1/bots"))["bots"]] == [bot["id"]]
    assert await operator.get(f"/api/v1/bots/{bot['id']}") == bot
    status, _ = await operator.call("POST", "/api/v1/bots", menu(line_id, form_id))
    assert status == 403

    edited = await admin.patch(f"/api/v1/bots/{bot['id']}", {"name": "Reception"})
    assert edited["name"] == "Reception" and edited["nodes"] == bot["nodes"]
    status, error = await admin.call(
        "POST", "/api/v1/bots", {**menu(line_id, form_id), "name": "Reception"}
    )
    assert status == 409 and error["error"]["code"] == "name_taken"

    status, _ = await admin.call("DELETE", f"/api/v1/bots/{bot['id']}")
    assert status == 204
    assert (await admin.get("/api/v1/bots"))["bots"] == []


def _broken(change: str) -> Any:
    def edit(body: dict[str, Any]) -> dict[str, Any]:
        nodes = body["nodes"]
        if change == "dangling":
            nodes[0]["choices"][0]["next"] = "nowhere"
        elif change == "both":
            nodes[0]["choices"][0]["action"] = {"type": "close"}
        elif change == "neither":
            nodes[0]["choices"][0].pop("next")
        elif change == "twice":
            nodes[1]["id"] = "start"
        elif change == "bad_action":
            nodes[0]["choices"][2]["action"] = {"type": "teleport"}
        elif change == "no_text":
            nodes[0]["text"] = {}
        return body

    return edit


@pytest.mark.parametrize(
    "change", ["dangling", "both", "neither", "twice", "bad_action", "no_text"]
)
async def test_a_broken_menu_is_refused(admin: Api, change: str) -> None:
    line_id, form_id = await _refs(admin)
    status, error = await admin.call(
        "POST", "/api/v1/bots", _broken(change)(menu(line_id, form_id))
    )
    assert status == 422, error
    assert (await admin.get("/api/v1/bots"))["bots"] == []


async def test_a_bot_refers_only_to_lines_and_forms_that_exist(admin: Api) -> None:
    line_id, form_id = await _refs(admin)
    status, error = await admin.call("POST", "/api/v1/bots", menu("no-such-line", form_id))
    assert status == 422 and error["error"]["code"] == "unknown_line"
    assert error["error"]["details"] == {"line_ids": ["no-such-line"]}
    status, error = await admin.call("POST", "/api/v1/bots", menu(line_id, "no-such-form"))
    assert status == 422 and error["error"]["code"] == "unknown_form"
    bot = await admin.post("/api/v1/bots", menu(line_id, form_id), expect=201)
    status, error = await admin.call(
        "PATCH", f"/api/v1/bots/{bot['id']}", {"nodes": menu("gone", form_id)["nodes"]}
    )
    assert status == 422 and error["error"]["code"] == "unknown_line"
    assert (await admin.get(f"/api/v1/bots/{bot['id']}"))["nodes"] == bot["nodes"]
