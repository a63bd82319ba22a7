"""The console's Forms screen (issue 17, point 4): an admin creates a form with a choice field,
sees a refused key under its field, edits and deletes the form (after a confirmation); on a
phone and in Russian the screen fits and passes axe."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from tests.conftest import ADMIN_PASSWORD
from tests.operators_ui.conftest import I18N_PATH, sign_in
from tests.operators_ui.test_phone import fits, phone
from tests.support.axe import violations
from tests.support.clients import Api

RU = json.loads(I18N_PATH.read_text(encoding="utf-8"))["ru"]


async def test_an_admin_creates_edits_and_deletes_a_form(
    base_url: str, admin: Api, browser: Browser
) -> None:
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await page.get_by_test_id("nav-forms").click()
    await page.get_by_test_id("form-new").click()
    editor = page.get_by_test_id("form-editor")
    await editor.get_by_test_id("form-name").fill("Contact details")
    first = editor.get_by_test_id("form-field").nth(0)
    await first.get_by_test_id("form-field-key").fill("Bad Key")
    await first.get_by_test_id("form-field-label-en").fill("Your name")
    await first.get_by_test_id("form-field-label-ru").fill("Ваше имя")
    await first.get_by_test_id("form-field-required").check()
    await editor.get_by_test_id("form-field-add").click()
    second = editor.get_by_test_id("form-field").nth(1)
    await second.get_by_test_id("form-field-key").fill("topic")
    await second.get_by_test_id("form-field-label-en").fill("Topic")
    await second.get_by_test_id("form-field-type").select_option("select")
    await second.get_by_test_id("form-option-label-en").fill("Order")
    await second.get_by_test_id("form-option-add").click()
    await second.get_by_test_id("form-option-key").nth(1).fill("other")
    await second.get_by_test_id("form-option-label-en").nth(1).fill("Something else")

    # The hub refuses the key: the reason shows under that field, nothing is stored.
    await editor.get_by_test_id("form-save").click()
    error = editor.locator(
        "[data-testid='field-error-fields.0.key'], [data-testid=field-error-form]"
    ).first
    await expect(error).to_be_visible()
    assert (await admin.get("/api/v1/forms"))["forms"] == []

    await first.get_by_test_id("form-field-key").fill("name")
    assert await violations(page, "[data-testid=form-editor]") == []
    await editor.get_by_test_id("form-save").click()
    await expect(editor).to_have_count(0)
    (stored,) = (await admin.get("/api/v1/forms"))["forms"]
    assert stored["name"] == "Contact details"
    assert [(f["key"], f["type"], f["required"]) for f in stored["fields"]] == [
        ("name", "text", True),
        ("topic", "select", False),
    ]
    assert stored["fields"][0]["label"] == {"ru": "Ваше имя", "en": "Your name"}
    assert [(o["key"], o["label"]["en"]) for o in stored["fields"][1]["options"]] == [
        ("option_1", "Order"),
        ("other", "Something else"),
    ]

    row = page.locator(f"[data-testid=form-row][data-form-id='{stored['id']}']")
    await row.get_by_test_id("form-edit").click()
    await editor.get_by_test_id("form-name").fill("Contacts")
    await editor.get_by_test_id("form-save").click()
    await expect(row).to_contain_text("Contacts")
    assert (await admin.get(f"/api/v1/forms/{stored['id']}"))["name"] == "Contacts"

    await row.get_by_test_id("form-delete").click()
    dialog = page.get_by_test_id("form-delete-dialog")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    assert (await admin.get("/api/v1/forms"))["forms"] == []


async def test_the_forms_screen_fits_a_phone_in_russian(
    base_url: str, admin: Api, browser: Browser
) -> None:
    await admin.post(
        "/api/v1/forms",
        {"name": "Анкета", "fields": [{"key": "name", "label": {"ru": "Имя"}, "required": True}]},
        expect=201,
    )
    page = await phone(browser, base_url, admin, lang="ru", password=ADMIN_PASSWORD)
    nav = page.get_by_test_id("nav-forms")
    await nav.scroll_into_view_if_needed()
    await nav.tap()
    await expect(page.get_by_test_id("form-row")).to_contain_text("Имя *")
    await expect(page.get_by_role("heading", name=RU["forms.title"])).to_be_visible()
    await fits(page, "forms-ru")
    await page.get_by_test_id("form-edit").click()
    await expect(page.get_by_test_id("form-editor")).to_be_visible()
    await fits(page, "forms-editor-ru")
    assert await violations(page) == []
