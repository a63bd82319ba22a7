"""Response-time control in the console (issue 17, points 1, 2 and 6): the admin sets a line's
targets, its answer timeout and sticky routing in the line editor (a refused value shows under
its field); a supervisor, on a phone and in Russian, is alerted when a client waits too long,
sees the conversation marked late with the time left on the others, and can list the late ones
first or only."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from tests.conftest import ADMIN_PASSWORD
from tests.operators_ui.conftest import I18N_PATH, open_tab, sign_in
from tests.operators_ui.test_phone import fits, phone
from tests.support.axe import violations
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says

RU = json.loads(I18N_PATH.read_text(encoding="utf-8"))["ru"]


async def test_the_admin_sets_the_targets_and_the_answer_timeout_in_the_line_editor(
    base_url: str, admin: Api, browser: Browser
) -> None:
    named = await admin.create_user("operator", name="Vera")
    line = await admin.create_line(name="Support")
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await page.get_by_test_id("nav-lines").click()
    row = page.locator(f"[data-testid=line-row][data-line-id='{line['id']}']")
    await row.get_by_test_id("line-edit").click()
    editor = page.get_by_test_id("line-editor")
    sla = editor.get_by_test_id("line-sla")
    await sla.get_by_test_id("line-sla-first_answer_s").fill("0")
    await editor.get_by_test_id("line-save").click()
    error = editor.locator(
        "[data-testid='field-error-sla.first_answer_s'], [data-testid=field-error-form]"
    ).first
    await expect(error).to_be_visible()
    assert (await admin.get(f"/api/v1/lines/{line['id']}"))["sla"]["first_answer_s"] is None

    await sla.get_by_test_id("line-sla-first_answer_s").fill("300")
    await sla.get_by_test_id("line-sla-next_answer_s").fill("600")
    await sla.get_by_test_id("line-sla-business_hours").check()
    await sla.locator(
        f"[data-testid=line-sla-notify][data-user-id='{named.user['id']}']"  # type: ignore[index]
    ).check()
    await editor.get_by_test_id("line-answer_timeout_s").fill("90")
    await editor.get_by_test_id("line-answer_timeout_action").select_option("queue")
    await editor.get_by_test_id("line-prefer").select_option("last_operator")
    await editor.get_by_test_id("line-prefer_wait_s").fill("45")
    assert await violations(page, "[data-testid=line-editor]") == []
    await editor.get_by_test_id("line-save").click()
    await expect(editor).to_have_count(0)
    saved = await admin.get(f"/api/v1/lines/{line['id']}")
    assert saved["answer_timeout_s"] == 90 and saved["answer_timeout_action"] == "queue"
    assert saved["routing"] == {"prefer": "last_operator", "prefer_wait_s": 45}
    stored = saved["sla"]
    assert stored == {
        "first_answer_s": 300,
        "next_answer_s": 600,
        "resolve_s": None,
        "business_hours": True,
        "notify_user_ids": [named.user["id"]],  # type: ignore[index]
    }


async def test_a_supervisor_on_a_phone_is_alerted_and_finds_the_late_ones(
    base_url: str, admin: Api, browser: Browser
) -> None:
    supervisor = await admin.create_user("supervisor", name="Olga")
    world = await make_line(
        admin,
        supervisors=[supervisor.user["id"]],
        sla={"first_answer_s": 3},  # type: ignore[index]
    )
    relaxed = await make_line(
        admin,
        supervisors=[supervisor.user["id"]],
        sla={"first_answer_s": 3600},  # type: ignore[index]
    )
    page = await phone(browser, base_url, supervisor, lang="ru")
    await open_tab(page, "all")
    calm, _ = await visitor_says(base_url, relaxed.key, "No hurry")
    hurried, message = await visitor_says(base_url, world.key, "Hello? Anyone?")
    late_id = message["conversation_id"]

    # The alert, in Russian, names the client's wait; the row is marked late.
    await expect(page.get_by_test_id("toast")).to_contain_text(
        RU["sla.alert"].split("(")[0].strip(), timeout=15_000
    )
    late_row = page.locator(f"[data-testid=conversation-item][data-id='{late_id}']")
    await expect(late_row.get_by_test_id("sla-late")).to_have_text(RU["sla.late"])
    rows = page.get_by_test_id("conversation-item")
    await expect(rows).to_have_count(2)
    others = rows.filter(has_not=page.get_by_test_id("sla-late"))
    await expect(others.get_by_test_id("sla-due")).to_contain_text(RU["sla.dueIn"].split(" ")[0])

    # Soonest due first puts the late one on top; "late only" leaves it alone.
    await page.get_by_test_id("list-order").select_option("due")
    await expect(rows.first).to_have_attribute("data-id", late_id)
    await page.get_by_test_id("list-late").check()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-id", late_id)
    await fits(page, "sla-late-ru")
    assert await violations(page) == []
    for visitor in (calm, hurried):
        await visitor.close()
