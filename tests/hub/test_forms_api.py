"""Forms (issue 17, point 4, the form itself): admins create, edit and delete them; every staff
member reads them; bad ones are refused with the field named and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from hub.forms import FormIn, Texts
from tests.support.clients import Api

CONTACT: dict[str, Any] = {
    "name": "Contact details",
    "fields": [
        {"key": "name", "label": {"ru": "Имя", "en": "Name"}, "type": "text", "required": True},
        {"key": "email", "label": {"ru": "Почта", "en": "E-mail"}, "type": "email"},
        {"key": "phone", "label": {"en": "Phone"}, "type": "phone"},
        {
            "key": "topic",
            "label": {"ru": "Тема", "en": "Topic"},
            "type": "select",
            "options": [
                {"key": "order", "label": {"ru": "Заказ", "en": "Order"}},
                {"key": "other", "label": {"ru": "Другое", "en": "Other"}},
            ],
        },
        {"key": "agree", "label": {"ru": "Согласен", "en": "I agree"}, "type": "checkbox"},
    ],
    "agreement_text": {"ru": "Я согласен на обработку данных", "en": "I agree to the processing"},
}


async def test_admins_write_forms_and_staff_read_them(admin: Api) -> None:
    form = await admin.post("/api/v1/forms", CONTACT, expect=201)
    assert form["name"] == "Contact details" and len(form["fields"]) == 5
    assert form["fields"][1]["required"] is False and form["fields"][1]["options"] is None
    operator = await admin.create_user("operator")
    listed = (await operator.get("/api/v1/forms"))["forms"]
    assert [f["id"] for f in listed] == [form["id"]]
    assert await operator.get(f"/api/v1/forms/{form['id']}") == form
    status, _ = await operator.call("PATCH", f"/api/v1/forms/{form['id']}", {"name": "Mine"})
    assert status == 403

    edited = await admin.patch(f"/api/v1/forms/{form['id']}", {"name": "Contacts"})
    assert edited["name"] == "Contacts" and edited["fields"] == form["fields"]
    assert edited["updated_at"] is not None

    # A second form of the same name is refused; so is renaming one onto it.
    status, error = await admin.call("POST", "/api/v1/forms", {**CONTACT, "name": "Contacts"})
    assert status == 409 and error["error"]["code"] == "name_taken"
    other = await admin.post("/api/v1/forms", {**CONTACT, "name": "Other"}, expect=201)
    status, _ = await admin.call("PATCH", f"/api/v1/forms/{other['id']}", {"name": "Contacts"})
    assert status == 409

    status, _ = await admin.call("DELETE", f"/api/v1/forms/{form['id']}")
    assert status == 204
    status, _ = await admin.call("GET", f"/api/v1/forms/{form['id']}")
    assert status == 404
    assert [f["id"] for f in (await admin.get("/api/v1/forms"))["forms"]] == [other["id"]]


def _with_field(**changes: Any) -> dict[str, Any]:
    field = {"key": "x", "label": {"en": "X"}, "type": "text", **changes}
    return {"name": "Bad", "fields": [field]}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "", "fields": CONTACT["fields"]}, "name"),
        ({"name": "No fields", "fields": []}, "fields"),
        (_with_field(key="Bad Key"), "fields.0.key"),
        (_with_field(label={}), "fields.0.label"),
        (_with_field(type="date"), "fields.0.type"),
        (_with_field(type="select"), "fields.0"),
        (_with_field(options=[{"key": "a", "label": {"en": "A"}}]), "fields.0"),
        (
            {"name": "Twice", "fields": [CONTACT["fields"][0], CONTACT["fields"][0]]},
            "fields",
        ),
        ({**CONTACT, "extra": 1}, "extra"),
    ],
)
async def test_a_bad_form_is_refused_with_the_field_named(
    admin: Api, body: dict[str, Any], where: str
) -> None:
    status, error = await admin.call("POST", "/api/v1/forms", body)
    assert status == 422, error
    named = [d["field"] for d in error["error"]["details"]]
    assert any(f == where or f.startswith(where) for f in named), (where, named)
    assert (await admin.get("/api/v1/forms"))["forms"] == []


def test_a_text_is_picked_in_the_clients_language() -> None:
    both = Texts(ru="Имя", en="Name")
    assert both.pick("ru-RU") == "Имя" and both.pick("en") == "Name" and both.pick(None) == "Name"
    assert Texts(ru="Имя").pick("en") == "Имя"
    assert FormIn.model_validate(CONTACT).fields[3].options is not None
