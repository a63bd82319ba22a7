"""The console's Bots screen (issue 17, point 5): an admin builds a two-level menu (a greeting
whose buttons lead to a node or transfer to a line, a node whose button answers), sees a refusal
under the form, edits and deletes the bot; on a phone and in Russian it fits and passes axe."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.conftest import ADMIN_PASSWORD
from tests.operators_ui.conftest import sign_in
from tests.operators_ui.test_phone import fits, phone
from tests.support.axe import violations
from tests.support.clients import Api


async def test_an_admin_builds_a_two_level_menu(
    base_url: str, admin: Api, browser: Browser
) -> None:
    sales = await admin.create_line(name="Sales")
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await page.get_by_test_id("nav-bots").click()
    await page.get_by_test_id("bot-new").click()
    editor = page.get_by_test_id("bot-editor")
    await editor.get_by_test_id("bot-name").fill("Front desk")
    # Saved with an empty greeting: refused, nothing stored.
    await editor.get_by_test_id("bot-save").click()
    await expect(editor.locator(".field-error").first).to_be_visible()
    assert (await admin.get("/api/v1/bots"))["bots"] == []

    await editor.get_by_test_id("bot-node-add").click()
    greeting, delivery = (
        editor.get_by_test_id("bot-node").nth(0),
        editor.get_by_test_id("bot-node").nth(1),
    )
    await greeting.get_by_test_id("bot-node-text-en").fill("Hello! How can we help?")
    await greeting.get_by_test_id("bot-node-text-ru").fill("Здравствуйте! Чем помочь?")
    await delivery.get_by_test_id("bot-node-id").fill("delivery")
    await delivery.get_by_test_id("bot-node-text-en").fill("What about delivery?")

    await greeting.get_by_test_id("bot-choice-add").click()
    to_node = greeting.get_by_test_id("bot-choice").nth(0)
    await to_node.get_by_test_id("bot-choice-label-en").fill("Delivery")
    await to_node.get_by_test_id("bot-choice-does").select_option("next")
    await to_node.get_by_test_id("bot-choice-next").select_option("delivery")
    await greeting.get_by_test_id("bot-choice-add").click()
    to_sales = greeting.get_by_test_id("bot-choice").nth(1)
    await to_sales.get_by_test_id("bot-choice-label-en").fill("Buy")
    await to_sales.get_by_test_id("bot-choice-does").select_option("transfer")
    await to_sales.get_by_test_id("bot-choice-line").select_option(sales["id"])
    await delivery.get_by_test_id("bot-choice-add").click()
    answer = delivery.get_by_test_id("bot-choice").nth(0)
    await answer.get_by_test_id("bot-choice-label-en").fill("How long?")
    await answer.get_by_test_id("bot-choice-does").select_option("answer")
    await answer.get_by_test_id("bot-choice-answer-en").fill("Two days.")
    assert await violations(page, "[data-testid=bot-editor]") == []
    await editor.get_by_test_id("bot-save").click()
    await expect(editor).to_have_count(0)

    (bot,) = (await admin.get("/api/v1/bots"))["bots"]
    start, second = bot["nodes"]
    assert start["id"] == "start" and second["id"] == "delivery"
    assert start["text"] == {"ru": "Здравствуйте! Чем помочь?", "en": "Hello! How can we help?"}
    assert start["choices"][0]["next"] == "delivery"
    assert start["choices"][1]["action"] == {"type": "transfer", "line_id": sales["id"]}
    assert second["choices"][0]["action"] == {
        "type": "answer",
        "text": {"ru": None, "en": "Two days."},
    }

    row = page.locator(f"[data-testid=bot-row][data-bot-id='{bot['id']}']")
    await row.get_by_test_id("bot-edit").click()
    await editor.get_by_test_id("bot-name").fill("Reception")
    await editor.get_by_test_id("bot-save").click()
    await expect(row).to_contain_text("Reception")
    await row.get_by_test_id("bot-delete").click()
    await page.get_by_test_id("bot-delete-dialog").get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    assert (await admin.get("/api/v1/bots"))["bots"] == []


async def test_the_bots_screen_fits_a_phone_in_russian(
    base_url: str, admin: Api, browser: Browser
) -> None:
    await admin.post(
        "/api/v1/bots",
        {
            "name": "Приёмная",
            "nodes": [
                {
                    "id": "start",
                    "text": {"ru": "Здравствуйте!"},
                    "choices": [{"label": {"ru": "Оператор"}, "action": {"type": "operator"}}],
                }
            ],
        },
        expect=201,
    )
    page = await phone(browser, base_url, admin, lang="ru", password=ADMIN_PASSWORD)
    nav = page.get_by_test_id("nav-bots")
    await nav.scroll_into_view_if_needed()
    await nav.tap()
    await expect(page.get_by_test_id("bot-row")).to_contain_text("Приёмная")
    await fits(page, "bots-ru")
    await page.get_by_test_id("bot-edit").tap()
    await expect(page.get_by_test_id("bot-choice")).to_have_count(1)
    await fits(page, "bots-editor-ru")
    assert await violations(page) == []
