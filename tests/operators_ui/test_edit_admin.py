"""Everything created can be edited in the console (issue 15, point 12, admin side): users,
lines (archive, restore, delete behind confirmations), channels (the generated form, secret
rotation shown once, delete) and quick answers (edit, delete, scope, save from a message).
Each edit goes through the real console against a real hub and survives a reload."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.operators_ui.conftest import open_tab, shot, sign_in
from tests.operators_ui.test_phone import fits, phone
from tests.support.api_channel import post_api_message
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says


async def _admin_page(browser: Browser, base_url: str, admin: Api, screen: str) -> Page:
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await page.get_by_test_id(f"nav-{screen}").click()
    return page


def _error_at(form: Locator, field: str) -> Locator:
    """The save error under ``field`` once the console's ApiError carries the 422's details
    (api/http.ts, issue 15 point 13); until then under the form."""
    return form.locator(f"[data-testid=field-error-{field}], [data-testid=field-error-form]").first


async def _reload(page: Page, screen: str) -> None:
    await page.reload()
    await expect(page.get_by_test_id("status-switch")).to_be_visible()
    await page.get_by_test_id(f"nav-{screen}").click()


async def test_admin_edits_a_user_and_their_lines(
    base_url: str, admin: Api, browser: Browser
) -> None:
    olga = await admin.create_user("operator", name="Olga")
    line = await admin.create_line(name="Support")
    page = await _admin_page(browser, base_url, admin, "users")
    row = page.locator(f"[data-testid=user-row][data-user-id='{olga.user['id']}']")  # type: ignore[index]
    await row.get_by_test_id("user-edit").click()
    editor = page.get_by_test_id("user-editor")
    await editor.get_by_test_id("user-edit-name").fill("Olga Petrova")
    await editor.get_by_test_id("user-edit-role").select_option("supervisor")
    await editor.get_by_test_id("user-edit-password").fill("a brand new password")
    member = editor.locator(f"[data-testid=user-line][data-line-id='{line['id']}']")
    await member.get_by_test_id("user-line-operator").check()
    await member.get_by_test_id("user-line-supervisor").check()
    await shot(page, "edit-user")
    await editor.get_by_test_id("user-edit-save").click()
    await expect(editor).to_have_count(0)
    await expect(row.locator(".card-title")).to_have_text("Olga Petrova")

    user = await admin.get(f"/api/v1/users/{olga.user['id']}")  # type: ignore[index]
    assert (user["name"], user["role"]) == ("Olga Petrova", "supervisor")
    stored = await admin.get(f"/api/v1/lines/{line['id']}")
    assert stored["operators"] == [user["id"]] and stored["supervisors"] == [user["id"]]
    await admin.login(user["email"], "a brand new password")  # the new password works

    # After a reload the editor shows what was saved; taking the line away leaves the other.
    await _reload(page, "users")
    await row.get_by_test_id("user-edit").click()
    await expect(editor.get_by_test_id("user-edit-name")).to_have_value("Olga Petrova")
    await expect(member.get_by_test_id("user-line-operator")).to_be_checked()
    await member.get_by_test_id("user-line-operator").uncheck()
    await editor.get_by_test_id("user-edit-save").click()
    await expect(editor).to_have_count(0)
    stored = await admin.get(f"/api/v1/lines/{line['id']}")
    assert stored["operators"] == [] and stored["supervisors"] == [user["id"]]

    # A server refusal shows next to its field: the e-mail is taken.
    await row.get_by_test_id("user-edit").click()
    await editor.get_by_test_id("user-edit-email").fill(admin.user["email"])  # type: ignore[index]
    await editor.get_by_test_id("user-edit-save").click()
    await expect(editor.get_by_test_id("field-error-email")).to_be_visible()
    await editor.get_by_role("button", name="Cancel").click()

    # Deactivating asks first; "Cancel" changes nothing.
    await row.get_by_test_id("user-deactivate").click()
    dialog = page.get_by_test_id("confirm-dialog")
    await expect(dialog).to_contain_text("Olga Petrova")
    await shot(page, "edit-user-deactivate")
    await dialog.get_by_test_id("confirm-no").click()
    await expect(dialog).to_have_count(0)
    assert (await admin.get(f"/api/v1/users/{user['id']}"))["active"] is True
    await row.get_by_test_id("user-deactivate").click()
    await dialog.get_by_test_id("confirm-yes").click()
    await expect(row.get_by_test_id("user-activate")).to_be_visible()
    assert (await admin.get(f"/api/v1/users/{user['id']}"))["active"] is False
    status, _ = await admin.call(
        "POST",
        "/api/v1/auth/login",
        {"email": user["email"], "password": "a brand new password"},
    )
    assert status in (401, 403)


async def test_lines_are_archived_restored_and_deleted_with_confirmation(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, name="Support")
    alice = world.operators[0]
    busy = await make_line(admin, name="Old shop")
    spare = await admin.create_line(name="Spare")
    target = await admin.create_line(name="Sales")
    _, message = await visitor_says(base_url, world.key, "Transfer me later")
    await alice.post(f"/api/v1/conversations/{message['conversation_id']}/accept", expect=200)
    await visitor_says(base_url, busy.key, "An open conversation")

    page = await _admin_page(browser, base_url, admin, "lines")
    row = lambda line_id: page.locator(f"[data-testid=line-row][data-line-id='{line_id}']")  # noqa: E731

    # Deleting an empty line: asked, then gone.
    await row(spare["id"]).get_by_test_id("line-delete").click()
    dialog = page.get_by_test_id("line-delete-dialog")
    await expect(dialog).to_contain_text("Spare")
    await dialog.get_by_test_id("confirm-yes").click()
    await expect(row(spare["id"])).to_have_count(0)
    status, _ = await admin.call("GET", f"/api/v1/lines/{spare['id']}")
    assert status == 404

    # A line with an open conversation is not deleted: archiving is offered instead.
    await row(busy.line["id"]).get_by_test_id("line-delete").click()
    await dialog.get_by_test_id("confirm-yes").click()
    offer = page.get_by_test_id("line-archive-dialog")
    await expect(offer.get_by_test_id("line-in-use")).to_be_visible()
    await shot(page, "edit-line-archive-offer")
    await offer.get_by_test_id("confirm-yes").click()
    await expect(row(busy.line["id"]).get_by_test_id("line-archived")).to_be_visible()
    assert (await admin.get(f"/api/v1/lines/{busy.line['id']}"))["archived"] is True
    await _reload(page, "lines")
    await expect(row(busy.line["id"])).to_have_attribute("data-archived", "true")

    # The operator's transfer picker no longer offers the archived line.
    alice_page = await sign_in(browser, base_url, alice)
    await open_tab(alice_page, "mine")
    await alice_page.get_by_test_id("conversation-item").first.click()
    await alice_page.get_by_test_id("transfer").click()
    picker = alice_page.get_by_test_id("transfer-picker")
    await expect(picker.get_by_test_id("pick-line")).to_have_text([target["name"]])
    await picker.get_by_role("button", name="Cancel").click()

    # Restored, it is offered again and its widget switched back on.
    await row(busy.line["id"]).get_by_test_id("line-restore").click()
    await page.get_by_test_id("line-restore-dialog").get_by_test_id("confirm-yes").click()
    await expect(row(busy.line["id"])).to_have_attribute("data-archived", "false")
    channels = (await admin.get(f"/api/v1/lines/{busy.line['id']}/channels"))["channels"]
    assert [c["active"] for c in channels] == [True]
    await alice_page.get_by_test_id("transfer").click()
    await expect(picker.get_by_test_id("pick-line")).to_have_count(2)

    # Archiving from the row asks too; "Cancel" leaves the line as it was.
    await row(world.line["id"]).get_by_test_id("line-archive").click()
    await page.get_by_test_id("line-archive-dialog").get_by_test_id("confirm-no").click()
    assert (await admin.get(f"/api/v1/lines/{world.line['id']}"))["archived"] is False


async def test_line_settings_round_trip(base_url: str, admin: Api, browser: Browser) -> None:
    first = await admin.create_user("operator", name="Anna")
    second = await admin.create_user("operator", name="Boris")
    line = await admin.create_line(
        name="Ordered",
        operators=[first.user["id"], second.user["id"]],  # type: ignore[index]
    )
    page = await _admin_page(browser, base_url, admin, "lines")
    row = page.locator(f"[data-testid=line-row][data-line-id='{line['id']}']")
    await row.get_by_test_id("line-edit").click()
    editor = page.get_by_test_id("line-editor")
    await editor.get_by_role("button", name="Move up: Boris").click()
    await editor.get_by_test_id("line-max_active_per_operator").fill("3")
    await editor.get_by_test_id("line-msg-welcome").fill("Hello there")
    await editor.get_by_test_id("line-save").click()
    await expect(editor).to_have_count(0)
    stored = await admin.get(f"/api/v1/lines/{line['id']}")
    assert stored["operators"] == [second.user["id"], first.user["id"]]  # type: ignore[index]
    assert (
        stored["max_active_per_operator"] == 3 and stored["messages"]["welcome"] == "Hello there"
    )

    # Out of range: the hub's 422 shows under the field, and nothing is stored.
    await _reload(page, "lines")
    await row.get_by_test_id("line-edit").click()
    await expect(editor.get_by_test_id("line-msg-welcome")).to_have_value("Hello there")
    await editor.get_by_test_id("line-accept_timeout_s").fill("0")
    await editor.get_by_test_id("line-save").click()
    await expect(_error_at(editor, "accept_timeout_s")).to_be_visible()
    assert (await admin.get(f"/api/v1/lines/{line['id']}"))["accept_timeout_s"] == 60


async def test_channels_are_edited_rotated_and_deleted(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, name="Web")
    api_channel = await admin.create_channel(world.line["id"], "api", {})
    old_secret = api_channel["secret"]
    page = await _admin_page(browser, base_url, admin, "channels")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.get_by_test_id("channel-line").select_option(world.line["id"])
    widget_row = page.locator("[data-testid=channel-row][data-type=widget]")
    api_row = page.locator("[data-testid=channel-row][data-type=api]")

    # The widget's greeting, colour and language through the generated form.
    await widget_row.get_by_test_id("channel-edit").click()
    form = page.get_by_test_id("channel-edit-form")
    await form.get_by_test_id("channel-greeting").fill("Hi! How can we help?")
    await form.get_by_test_id("channel-color").fill("red")
    await form.get_by_test_id("channel-edit-save").click()
    # A wrong colour: the hub's 422 shows next to the colour, and nothing is stored.
    await expect(_error_at(form, "color")).to_be_visible()
    await form.get_by_test_id("channel-color").fill("#00aa55")
    await form.get_by_test_id("channel-language").select_option("ru")
    await form.get_by_test_id("channel-edit-save").click()
    await expect(form).to_have_count(0)
    stored = await admin.get(f"/api/v1/channels/{world.widget['id']}")
    assert stored["config"]["greeting"] == "Hi! How can we help?"
    assert (stored["config"]["color"], stored["config"]["language"]) == ("#00aa55", "ru")
    await _reload(page, "channels")
    await page.get_by_test_id("channel-line").select_option(world.line["id"])
    await widget_row.get_by_test_id("channel-edit").click()
    await expect(form.get_by_test_id("channel-color")).to_have_value("#00aa55")
    await expect(form.get_by_test_id("channel-language")).to_have_value("ru")
    await form.get_by_role("button", name="Cancel").click()

    # Rotating the API channel's secret: asked, then the new one shown once with a copy button.
    await api_row.get_by_test_id("channel-rotate").click()
    await page.get_by_test_id("channel-rotate-dialog").get_by_test_id("confirm-yes").click()
    rotated = page.get_by_test_id("channel-rotated")
    secret = rotated.get_by_test_id("created-secret")
    await expect(secret).to_be_visible()
    new_secret = await secret.inner_text()
    assert new_secret and new_secret != old_secret
    await rotated.get_by_test_id("created-secret-copy").click()
    assert await page.evaluate("navigator.clipboard.readText()") == new_secret
    await shot(page, "edit-channel-rotated")
    for n, (secret_value, status) in enumerate(((old_secret, 401), (new_secret, 200))):
        message = {"message_id": f"m{n}", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"}
        assert (await post_api_message(admin, api_channel, message, secret=secret_value))[
            0
        ] == status
    await _reload(page, "channels")
    await page.get_by_test_id("channel-line").select_option(world.line["id"])
    await expect(api_row).to_be_visible()
    assert new_secret not in await page.content()  # once only

    # Deleting asks first; then the channel is gone.
    await api_row.get_by_test_id("channel-delete").click()
    await page.get_by_test_id("channel-delete-dialog").get_by_test_id("confirm-no").click()
    await expect(api_row).to_have_count(1)
    await api_row.get_by_test_id("channel-delete").click()
    await page.get_by_test_id("channel-delete-dialog").get_by_test_id("confirm-yes").click()
    await expect(api_row).to_have_count(0)
    status, _ = await admin.call("GET", f"/api/v1/channels/{api_channel['id']}")
    assert status == 404


async def test_quick_answers_are_edited_scoped_and_saved_from_a_message(
    base_url: str, admin: Api, browser: Browser
) -> None:
    supervisor = await admin.create_user("supervisor", name="Sveta")
    world = await make_line(admin, name="Help", supervisors=[supervisor.user["id"]])  # type: ignore[index]
    operator = world.operators[0]
    _, message = await visitor_says(base_url, world.key, "Our opening hours are 9 to 6, Mon-Fri")
    await operator.post(f"/api/v1/conversations/{message['conversation_id']}/accept", expect=200)

    # A supervisor writes one for the line, edits it, and deletes another after confirming.
    page = await sign_in(browser, base_url, supervisor)
    await page.get_by_test_id("nav-answers").click()
    new = page.get_by_test_id("qa-form")
    scopes = await new.get_by_test_id("qa-scope").locator("option").all_inner_texts()
    assert scopes == ["Only me", "Line Help"]  # no "Everyone": that is an admin's
    await new.get_by_test_id("qa-title").fill("Greeting")
    await new.get_by_test_id("qa-text").fill("Hello! How can I help?")
    await new.get_by_test_id("qa-scope").select_option(f"line:{world.line['id']}")
    await new.get_by_test_id("qa-save").click()
    row = page.get_by_test_id("qa-row").filter(has_text="Greeting")
    await expect(row.get_by_test_id("qa-row-scope")).to_have_text("Line Help")
    await new.get_by_test_id("qa-title").fill("Scratch")
    await new.get_by_test_id("qa-text").fill("to be deleted")
    await new.get_by_test_id("qa-save").click()
    await row.get_by_test_id("qa-edit").click()
    edit = page.get_by_test_id("qa-edit-form")
    await edit.get_by_test_id("qa-text").fill("Hello! What can I do for you?")
    await edit.get_by_test_id("qa-save").click()
    await expect(row).to_contain_text("What can I do for you?")
    # A taken title is shown at the title.
    await row.get_by_test_id("qa-edit").click()
    await edit.get_by_test_id("qa-title").fill("Scratch")  # the line has a "Scratch"
    await edit.get_by_test_id("qa-save").click()
    await expect(edit.get_by_test_id("field-error-title")).to_be_visible()
    await edit.get_by_test_id("qa-cancel").click()
    scratch = page.get_by_test_id("qa-row").filter(has_text="Scratch")
    await scratch.get_by_test_id("qa-delete").click()
    await page.get_by_test_id("qa-delete-dialog").get_by_test_id("confirm-yes").click()
    await expect(scratch).to_have_count(0)
    await _reload(page, "answers")
    await expect(row).to_contain_text("What can I do for you?")
    answers = (await supervisor.get("/api/v1/console/quick-answers"))["quick_answers"]
    assert [(a["title"], a["scope"]) for a in answers] == [("Greeting", "line")]

    # The operator sees it, and saves the client's message as a personal one from the thread.
    op_page = await sign_in(browser, base_url, operator)
    await open_tab(op_page, "mine")
    await op_page.get_by_test_id("conversation-item").first.click()
    bubble = op_page.get_by_test_id("message").filter(has_text="opening hours")
    await bubble.get_by_test_id("msg-save-answer").click()
    dialog = op_page.get_by_test_id("qa-save-dialog")
    await expect(dialog.get_by_test_id("qa-text")).to_have_value(
        "Our opening hours are 9 to 6, Mon-Fri"
    )
    await expect(dialog.get_by_test_id("qa-scope").locator("option")).to_have_count(1)
    await dialog.get_by_test_id("qa-title").fill("Hours")
    await shot(op_page, "edit-save-message-as-answer")
    await dialog.get_by_test_id("qa-save").click()
    await expect(dialog).to_have_count(0)
    await op_page.get_by_test_id("composer").fill("/")
    await expect(op_page.get_by_test_id("quick-answer")).to_have_count(2)
    await expect(op_page.get_by_test_id("quick-answer").filter(has_text="Hours")).to_be_visible()
    mine = (await operator.get("/api/v1/console/quick-answers"))["quick_answers"]
    assert {(a["title"], a["scope"]) for a in mine} == {
        ("Greeting", "line"),
        ("Hours", "personal"),
    }


async def test_the_editors_and_dialogs_fit_a_phone_in_russian(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, name="Поддержка")
    await visitor_says(base_url, world.key, "Открытый диалог")
    page = await phone(browser, base_url, admin, lang="ru", password=ADMIN_PASSWORD)
    await page.get_by_test_id("nav-users").tap()
    await page.get_by_test_id("user-edit").first.tap()
    await expect(page.get_by_test_id("user-editor")).to_contain_text("Линии")
    await fits(page, "edit-user-ru")
    await page.get_by_test_id("nav-lines").tap()
    await page.get_by_test_id("line-delete").first.tap()
    await page.get_by_test_id("line-delete-dialog").get_by_test_id("confirm-yes").tap()
    offer = page.get_by_test_id("line-archive-dialog")
    await expect(offer).to_contain_text("в архив")
    await fits(page, "edit-line-archive-ru")
    await offer.get_by_test_id("confirm-no").tap()
    await page.get_by_test_id("nav-answers").tap()
    await expect(page.get_by_test_id("qa-form")).to_be_visible()
    await fits(page, "edit-answers-ru")
