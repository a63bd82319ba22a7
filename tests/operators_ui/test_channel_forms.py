"""Acceptance 4 of the architecture issue: the console's channel forms are generated from
``GET /api/v1/channel-types``. An admin connects a Telegram bot and a VK community through them,
filling each field by the label the schema gives it; the REST API then shows the stored config,
secrets kept and never echoed; editing with a secret left blank keeps it; a Russian run shows
the schema's Russian labels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.fakes.telegram import FakeBotApi
from tests.fakes.vk import FakeVkApi
from tests.operators_ui.conftest import shot, sign_in
from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.support.world import make_line

BOT_TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
VK_TOKEN = "vk1.a.community-token-for-tests"
GROUP_ID = 218000111


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    api.add_bot(BOT_TOKEN)
    yield api
    await api.close()


@pytest.fixture
async def vk() -> AsyncIterator[FakeVkApi]:
    api = await FakeVkApi().start()
    api.add_community(VK_TOKEN, GROUP_ID)
    yield api
    await api.close()


async def labels(api: Api, lang: str) -> dict[str, dict[str, str]]:
    """Each kind's form labels in ``lang``, as the schema titles its fields."""
    types = (await api.get("/api/v1/channel-types"))["channel_types"]
    return {
        kind["type"]: {
            name: prop["x-title"][lang]
            for name, prop in kind["schema"]["properties"].items()
            if not (prop.get("x-generated") or prop.get("x-once"))
        }
        for kind in types
    }


async def open_channels(page: Page, line_id: str) -> Locator:
    await page.get_by_test_id("nav-channels").click()
    await page.get_by_test_id("channel-line").select_option(line_id)
    return page.get_by_test_id("channel-form")


async def connect_telegram(form: Locator, titles: dict[str, str], api_base: str) -> None:
    await form.get_by_test_id("channel-type").select_option("telegram")
    await form.get_by_label(titles["bot_token"], exact=True).fill(BOT_TOKEN)
    await form.get_by_label(titles["mode"], exact=True).select_option("polling")
    await form.get_by_label(titles["api_base"], exact=True).fill(api_base)
    await form.get_by_test_id("channel-save").click()


async def connect_vk(form: Locator, titles: dict[str, str], api_base: str) -> None:
    await form.get_by_test_id("channel-type").select_option("vk")
    await form.get_by_label(titles["group_id"], exact=True).fill(str(GROUP_ID))
    await form.get_by_label(titles["access_token"], exact=True).fill(VK_TOKEN)
    await form.get_by_label(titles["confirmation_code"], exact=True).fill("a1b2c3d4")
    await form.get_by_label(titles["secret"], exact=True).fill("s3cr3t-callback")
    await form.get_by_label(titles["mode"], exact=True).select_option("longpoll")
    await form.get_by_label(titles["api_base"], exact=True).fill(api_base)
    await form.get_by_test_id("channel-save").click()


async def stored(admin: Api, line_id: str, kind: str) -> dict[str, Any]:
    """The line's channel of ``kind`` as the REST API shows it, once it is there."""
    body = await eventually(
        lambda: admin.get(f"/api/v1/lines/{line_id}/channels"),
        lambda b: any(c["type"] == kind for c in b["channels"]),
    )
    channel: dict[str, Any] = next(c for c in body["channels"] if c["type"] == kind)
    return channel


async def test_admin_connects_telegram_and_vk_through_generated_forms(
    telegram: FakeBotApi, vk: FakeVkApi, base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, operators=0)
    line_id = world.line["id"]
    titles = await labels(admin, "en")
    page = await sign_in(browser, base_url, await admin.create_user("admin"))
    form = await open_channels(page, line_id)

    # The Telegram form has exactly the schema's fields, labelled by its titles.
    await form.get_by_test_id("channel-type").select_option("telegram")
    for title in titles["telegram"].values():
        await expect(form.get_by_label(title, exact=True)).to_be_visible()
    await expect(form.get_by_label(titles["telegram"]["bot_token"], exact=True)).to_have_attribute(
        "type", "password"
    )
    await connect_telegram(form, titles["telegram"], telegram.base_url)
    await expect(page.locator("[data-testid=channel-row][data-type=telegram]")).to_be_visible()
    bot = await stored(admin, line_id, "telegram")
    assert bot["config"]["mode"] == "polling"
    assert bot["config"]["api_base"] == telegram.base_url
    assert "bot_token" in bot["secrets_set"] and "bot_token" not in bot["config"]
    await shot(page, "20-telegram-generated-form")

    await connect_vk(form, titles["vk"], vk.base_url)
    await expect(page.locator("[data-testid=channel-row][data-type=vk]")).to_be_visible()
    community = await stored(admin, line_id, "vk")
    assert community["config"]["group_id"] == GROUP_ID
    assert community["config"]["mode"] == "longpoll"
    assert community["config"]["confirmation_code"] == "a1b2c3d4"
    assert community["config"]["api_base"] == vk.base_url
    assert set(community["secrets_set"]) == {"access_token", "secret"}
    assert "access_token" not in community["config"] and "secret" not in community["config"]

    # Editing: the secret's input is blank (never shown back), and blank keeps it.
    await (
        page.locator("[data-testid=channel-row][data-type=vk]")
        .get_by_test_id("channel-edit")
        .click()
    )
    editor = page.get_by_test_id("channel-edit-form")
    token = editor.get_by_label(titles["vk"]["access_token"], exact=True)
    await expect(token).to_have_value("")
    await editor.get_by_label(titles["vk"]["confirmation_code"], exact=True).fill("e5f6a7b8")
    await editor.get_by_test_id("channel-edit-save").click()
    await expect(editor).to_have_count(0)
    edited = await eventually(
        lambda: stored(admin, line_id, "vk"),
        lambda c: c["config"]["confirmation_code"] == "e5f6a7b8",
    )
    assert set(edited["secrets_set"]) == {"access_token", "secret"}
    assert edited["config"]["group_id"] == GROUP_ID


async def test_russian_admin_sees_the_schema_russian_labels(
    vk: FakeVkApi, base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, operators=0)
    line_id = world.line["id"]
    russian, english = await labels(admin, "ru"), await labels(admin, "en")
    page = await sign_in(browser, base_url, await admin.create_user("admin"), lang="ru")
    form = await open_channels(page, line_id)
    await expect(page.get_by_test_id("sign-out")).to_have_text("Выйти")
    for kind in ("telegram", "vk"):
        await form.get_by_test_id("channel-type").select_option(kind)
        for name, title in russian[kind].items():
            await expect(form.get_by_label(title, exact=True)).to_be_visible()
            if english[kind][name] != title:
                await expect(form.get_by_text(english[kind][name], exact=True)).to_have_count(0)
    await expect(form.get_by_test_id("channel-type").locator("option[value=vk]")).to_have_text(
        "ВКонтакте"
    )
    await shot(page, "21-vk-form-russian")
    await connect_vk(form, russian["vk"], vk.base_url)
    await expect(page.locator("[data-testid=channel-row][data-type=vk]")).to_be_visible()
    community = await stored(admin, line_id, "vk")
    assert community["config"]["group_id"] == GROUP_ID
    assert community["config"]["mode"] == "longpoll"
