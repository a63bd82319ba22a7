"""A refused save says what is wrong next to the field, in the console's language (ru here):
the sign-in form, a new user, the line editor and a channel form. The toast says it in words
too, never the hub's English message."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from tests.operators_ui.conftest import I18N_PATH, shot, sign_in
from tests.support.clients import Api

RU = json.loads(I18N_PATH.read_text(encoding="utf-8"))["ru"]


async def test_login_says_why_in_russian(browser: Browser, base_url: str, admin: Api) -> None:
    context = await browser.new_context(locale="ru-RU")
    page = await context.new_page()
    await page.goto(base_url + "/")
    await page.get_by_test_id("login-email").fill("admin@example.com")
    await page.get_by_test_id("login-password").fill("not the password")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_have_text(RU["errors.invalid_credentials"])
    await context.close()


async def test_forms_show_field_errors(browser: Browser, base_url: str, admin: Api) -> None:
    page = await sign_in(browser, base_url, await admin.create_user("admin"), lang="ru")

    # A user whose email is taken: the message is under the email field.
    await page.get_by_test_id("nav-users").click()
    await page.get_by_test_id("user-name").fill("Двойник")
    await page.get_by_test_id("user-email").fill("admin@example.com")
    await page.get_by_test_id("user-password").fill("long enough pass")
    await page.get_by_test_id("user-save").click()
    await expect(page.get_by_test_id("field-error-email")).to_have_text(RU["errors.email_taken"])
    await expect(page.get_by_test_id("toast")).to_have_text(RU["errors.email_taken"])

    # A line whose accept timeout is below the minimum: under that input, with the bound.
    await page.get_by_test_id("nav-lines").click()
    await page.get_by_test_id("line-new").click()
    await page.get_by_test_id("line-name").fill("Продажи")
    await page.get_by_test_id("line-accept_timeout_s").fill("0")
    await page.get_by_test_id("line-save").click()
    expected = RU["errors.field.too_small"].replace("{limit}", "1")
    await expect(page.get_by_test_id("field-error-accept_timeout_s")).to_have_text(expected)
    await shot(page, "ru-line-field-error")

    # A Telegram bot token of the wrong shape: under the token field.
    line = await admin.create_line()
    await page.get_by_test_id("nav-channels").click()
    await page.reload()  # the console learns of the new line
    await page.get_by_test_id("nav-channels").click()
    await page.get_by_test_id("channel-line").select_option(line["id"])
    form = page.get_by_test_id("channel-form")
    await form.get_by_test_id("channel-type").select_option("telegram")
    await form.get_by_test_id("channel-bot_token").fill("not-a-token")
    await form.get_by_test_id("channel-save").click()
    await expect(form.get_by_test_id("field-error-bot_token")).to_have_text(
        RU["errors.field.pattern"]
    )
    await shot(page, "ru-channel-field-error")
