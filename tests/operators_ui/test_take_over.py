"""After "join hidden" a supervisor's composer is a whisper box — Enter never reaches the
client — until they take the conversation over (issue 15, point 4)."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from tests.operators_ui.conftest import I18N_PATH, open_tab, sign_in
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says

RU = json.loads(I18N_PATH.read_text())["ru"]


async def test_whisper_until_taken_over(base_url: str, admin: Api, browser: Browser) -> None:
    supervisor = await admin.create_user("supervisor", name="Sveta Supervisor")
    world = await make_line(admin, operators=1, supervisors=[supervisor.user["id"]])  # type: ignore[index]
    op = world.operators[0]
    visitor, message = await visitor_says(base_url, world.key, "Where is my parcel?")
    conversation_id = message["conversation_id"]
    await op.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)

    page = await sign_in(browser, base_url, supervisor, lang="ru")
    await open_tab(page, "all")
    await page.get_by_test_id("conversation-item").first.click()
    await page.get_by_test_id("join-hidden").click()
    box = page.get_by_test_id("composer-box")
    await expect(box).to_have_attribute("data-hidden", "true")
    await expect(page.get_by_test_id("whisper-banner")).to_have_text(RU["compose.whisperOnly"])
    await expect(page.get_by_test_id("hidden-toggle")).to_be_disabled()
    await page.get_by_test_id("composer").fill("Offer a voucher")
    await page.get_by_test_id("composer").press("Enter")
    whisper = page.get_by_test_id("message").filter(has_text="Offer a voucher")
    await expect(whisper).to_have_attribute("data-hidden", "true")

    await page.get_by_test_id("take-over").click()
    await expect(box).to_have_attribute("data-hidden", "false")
    await expect(page.get_by_test_id("take-over")).to_have_count(0)
    await page.get_by_test_id("composer").fill("I will help you myself")
    await page.get_by_test_id("composer").press("Enter")
    await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"] == "I will help you myself"
    )
    assert "Offer a voucher" not in [
        d["message"]["text"] for d in visitor.events.all("message:new")
    ]
    taken = await admin.get(f"/api/v1/conversations/{conversation_id}")
    assert taken["assignee_id"] == supervisor.user["id"]  # type: ignore[index]
    assert taken["participants"] == []
    members = await admin.get(f"/api/v1/console/lines/{world.line['id']}/members")
    operator = next(m for m in members["members"] if m["id"] == op.user["id"])  # type: ignore[index]
    assert operator["active"] == 0  # their slot given back
    await visitor.close()
