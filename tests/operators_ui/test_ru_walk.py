"""Point 13 of issue #15: the console and the widget are wholly in Russian. Against one real
``openlines serve``, each role signs in with Russian and every screen it reaches is read: no
visible text may be a strings key or an unfilled ``{placeholder}`` (a missing translation), nor
any of the English texts — the strings table's English where it differs from the Russian, the
widget's English, the hub's English system notes and error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, expect

from hub.conversations.posting import SYSTEM_NOTES
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn, make_settings, settings_env
from tests.operators_ui.conftest import I18N_PATH, PASSWORD, open_tab, shot
from tests.support.clients import Api, SocketClient, new_msg_id, visitor_socket

ROOT = Path(__file__).resolve().parents[2]
STRINGS = json.loads(I18N_PATH.read_text(encoding="utf-8"))
KEYS = set(STRINGS["en"]) | set(STRINGS["ru"])
PREFIXES = "|".join(sorted({k.split(".")[0] for k in KEYS}))
KEY_LIKE = re.compile(rf"^({PREFIXES})\.[\w.]+$")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def widget_english() -> list[str]:
    """The widget's English texts (widget/src/i18n.ts), those that differ from its Russian."""
    source = (ROOT / "widget/src/i18n.ts").read_text(encoding="utf-8")
    block = source.split("const en = {", 1)[1].split("};", 1)[0]
    ru_block = source.split("const ru: Texts = {", 1)[1].split("};", 1)[0]
    ru = set(re.findall(r':\s*"([^"]+)"', ru_block))
    return [v for v in re.findall(r':\s*"([^"]+)"', block) if v not in ru]


# The hub's English that must never reach a Russian screen: its system notes, error messages
# and CRM texts (shown by code or rendered by key instead), a model's class name.
SERVER_ENGLISH = [
    *(re.escape(text).replace(r"\{", "{").replace(r"\}", "}") for text in SYSTEM_NOTES.values()),
    r"something went wrong",
    r"a user with this email exists",
    r"invalid [A-Z]\w+",
    r"check the fields:",
    r"Conversation on \w+",
    r"The client turned out to be a known contact",
    r"Conversation closed \(",
    r"^Lead converted$",
    r"^(New|Preparing documents|Invoice|In progress|Won|Lost|Sales)$",
]


def english_patterns() -> list[re.Pattern[str]]:
    english = [
        v for k, v in STRINGS["en"].items() if STRINGS["ru"].get(k) != v and re.search("[a-z]", v)
    ] + widget_english()
    patterns = []
    for text in english:
        # {name} stands for anything; a short text must be the whole text, a long one anywhere.
        body = r".+?".join(re.escape(part) for part in PLACEHOLDER.split(text))
        patterns.append(re.compile(body if len(text) >= 15 else rf"^{body}$"))
    for raw in SERVER_ENGLISH:
        body = re.sub(r"\{[a-z_]+\}", ".+?", raw)
        patterns.append(re.compile(body))
    return patterns


ENGLISH = english_patterns()

# Every text a user sees: visible text nodes (inside the widget's shadow root too), the texts
# of controls' names, placeholders and titles, and the options of visible selects.
VISIBLE_TEXTS = """() => {
  const out = [];
  const seen = (el) => el && el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  const walk = (root) => {
    const it = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = it.currentNode; n; n = it.nextNode()) {
      if (n.nodeType === Node.TEXT_NODE) {
        const text = n.textContent.trim();
        const p = n.parentElement;
        const shown = seen(p) || (p && p.tagName === 'OPTION' && seen(p.closest('select')));
        if (text && p && !['SCRIPT', 'STYLE'].includes(p.tagName) && shown) out.push(text);
        continue;
      }
      if (!(n instanceof Element)) continue;
      if (n.shadowRoot) walk(n.shadowRoot);
      if (!seen(n)) continue;
      for (const a of ['aria-label', 'placeholder', 'title', 'alt']) {
        const v = n.getAttribute(a);
        if (v && v.trim()) out.push(v.trim());
      }
    }
  };
  walk(document.body);
  return out;
}"""


# The screens kept as screenshots (tests/artifacts): one of each kind is enough to look at.
SHOTS = {"admin-conversation", "admin-crm-lead-card", "admin-line-editor", "widget-chat"}


class Walk:
    """What the walk found wrong, by screen (all screens are read before it fails)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.screens: list[str] = []

    async def read(self, page: Page, screen: str) -> None:
        await page.wait_for_load_state("networkidle")
        texts: list[str] = await page.evaluate(VISIBLE_TEXTS)
        assert texts, screen
        self.screens.append(screen)
        for text in texts:
            if text in KEYS or KEY_LIKE.match(text):
                self.problems.append(f"{screen}: a key instead of a text: {text!r}")
            elif PLACEHOLDER.search(text):
                self.problems.append(f"{screen}: an unfilled placeholder: {text!r}")
            elif any(p.search(text) for p in ENGLISH):
                self.problems.append(f"{screen}: English: {text!r}")
        if screen in SHOTS:
            await shot(page, f"ru-walk-{screen}")


async def ru_page(browser: Browser, base_url: str) -> Page:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="ru-RU", timezone_id="Europe/Moscow"
    )
    page = await context.new_page()
    await page.goto(base_url + "/")
    await expect(page.get_by_test_id("login-submit")).to_have_text(STRINGS["ru"]["login.submit"])
    return page


async def signed_in(browser: Browser, base_url: str, email: str, password: str) -> Page:
    page = await ru_page(browser, base_url)
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("status-switch")).to_be_visible()
    return page


async def user(admin: Api, role: str, name: str) -> tuple[Api, str]:
    api = await admin.create_user(role, name=name)
    assert api.user is not None
    return api, api.user["id"]


async def visitor_writes(
    base_url: str, key: str, name: str, text: str
) -> tuple[SocketClient, dict[str, Any]]:
    """A new widget visitor who gives their name and writes: the socket and the message."""
    visitor = await visitor_socket(base_url, key)
    await visitor.call("prechat", {"name": name})
    sent = await visitor.call("message:send", {"text": text, "client_msg_id": new_msg_id()})
    assert sent["ok"], sent
    return visitor, sent["message"]


async def test_every_screen_in_russian(
    browser: Browser, spawn: Spawn, mongo_url: str, db_name: str, tmp_path: Path
) -> None:
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "data", demo=True))
    hub = await spawn(env, "ru-walk")
    base = hub.url
    walk = Walk()
    async with aiohttp.ClientSession() as http:
        admin = await Api(base, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        # The first admin is seeded as "Administrator"; a Russian team names theirs.
        assert admin.user is not None
        await admin.patch(f"/api/v1/users/{admin.user['id']}", {"name": "Администратор"})
        first, first_id = await user(admin, "operator", "Анна Петрова")
        second, second_id = await user(admin, "operator", "Борис Иванов")
        supervisor, supervisor_id = await user(admin, "supervisor", "Вера Смирнова")
        manager, _ = await user(admin, "manager", "Глеб Орлов")
        line = await admin.create_line(
            name="Поддержка",
            operators=[first_id, second_id],
            supervisors=[supervisor_id],
            accept_timeout_s=300,
        )
        widget = await admin.create_channel(line["id"], "widget", {"title": "Помощь"})
        await admin.post(
            "/api/v1/console/quick-answers", {"title": "Доставка", "text": "Два-три дня."}
        )

        # A conversation with system notes: taken, transferred, taken, a supervisor joins.
        visitor, sent = await visitor_writes(base, widget["key"], "Дмитрий", "Здравствуйте!")
        cid = sent["conversation_id"]
        await first.post(f"/api/v1/conversations/{cid}/accept", expect=200)
        await first.post(
            f"/api/v1/conversations/{cid}/transfer", {"to_user_id": second_id}, expect=200
        )
        await second.post(f"/api/v1/conversations/{cid}/accept", expect=200)
        await supervisor.post(f"/api/v1/conversations/{cid}/join", {"hidden": True}, expect=200)
        await second.post(
            f"/api/v1/conversations/{cid}/messages",
            {"text": "Добрый день! Чем помочь?", "client_msg_id": new_msg_id()},
            expect=201,
        )
        # The CRM: the conversation's lead, converted into a contact with a deal; a note.
        leads = (await manager.get("/api/v1/crm/leads"))["leads"]
        assert leads, "the line makes a lead of the conversation"
        extra = await manager.post(
            "/api/v1/crm/leads", {"title": "Заявка с сайта", "name": "Ирина"}, expect=201
        )
        await manager.post(
            f"/api/v1/crm/leads/{extra['id']}/convert",
            {"deal": {"title": "Поставка", "amount": 125000.5, "currency": "RUB"}},
            expect=201,
        )

        # Closed ones: one the supervisor rated; one marked spam, whose client, blocked, writes
        # again (a waiting conversation nobody is offered).
        rated, sent = await visitor_writes(base, widget["key"], "Елена", "Спасибо!")
        rated_id = sent["conversation_id"]
        await first.post(f"/api/v1/conversations/{rated_id}/accept", expect=200)
        await first.post(f"/api/v1/conversations/{rated_id}/close", expect=200)
        await supervisor.post(
            f"/api/v1/conversations/{rated_id}/rating", {"rating": 4, "comment": "Вежливо"}
        )
        spammer, sent = await visitor_writes(base, widget["key"], "Рассылка", "Дешёвые часы")
        await first.post(f"/api/v1/conversations/{sent['conversation_id']}/spam")
        await admin.post(f"/api/v1/clients/{sent['author']['id']}/block", expect=200)
        await spammer.call("message:send", {"text": "Снова я", "client_msg_id": new_msg_id()})

        # --- the admin: every screen ---------------------------------------------------------
        page = await ru_page(browser, base)
        await walk.read(page, "login")
        await page.get_by_test_id("login-email").fill(ADMIN_EMAIL)
        await page.get_by_test_id("login-password").fill("not the password")
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("login-error")).to_be_visible()
        await walk.read(page, "login-refused")
        await page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("status-switch")).to_be_visible()
        for tab in ("offered", "mine", "pinned", "queue", "all", "closed"):
            await open_tab(page, tab)
            await walk.read(page, f"admin-inbox-{tab}")
        await open_tab(page, "all")
        await page.locator(f'[data-testid="conversation-item"][data-id="{cid}"]').click()
        notes = page.locator('[data-testid="message"].system')
        await expect(notes).to_have_count(4)
        await expect(notes.nth(1)).to_contain_text("передал(а) диалог сотруднику Борис Иванов")
        await walk.read(page, "admin-conversation")
        await page.get_by_test_id("client-name").click()
        await expect(page.get_by_test_id("client-card")).to_be_visible()
        await walk.read(page, "admin-client-card")
        for action in ("block", "spam"):
            await page.get_by_test_id(action).click()
            await expect(page.get_by_test_id(f"{action}-dialog")).to_be_visible()
            await walk.read(page, f"admin-{action}-dialog")
            await page.get_by_test_id("confirm-no").click()
        await open_tab(page, "closed")
        await page.locator(f'[data-testid="conversation-item"][data-id="{rated_id}"]').click()
        await expect(page.get_by_test_id("rate-form")).to_be_visible()
        await expect(page.get_by_test_id("spam-badge")).to_be_visible()  # the spam one's row
        await walk.read(page, "admin-closed-rated")
        await page.get_by_test_id("nav-board").click()
        await walk.read(page, "admin-board")
        await page.get_by_test_id("nav-crm").click()
        for tab in ("leads", "contacts", "companies", "deals"):
            await page.get_by_test_id(f"crm-tab-{tab}").click()
            await walk.read(page, f"admin-crm-{tab}")
        await page.get_by_test_id("crm-tab-leads").click()
        await page.get_by_test_id("lead-open").first.click()
        await expect(page.get_by_test_id("timeline")).to_be_visible()
        await walk.read(page, "admin-crm-lead-card")
        await page.get_by_test_id("crm-tab-contacts").click()
        await page.get_by_test_id("contact-row").first.get_by_role("button").click()
        await expect(page.get_by_test_id("timeline")).to_be_visible()
        await walk.read(page, "admin-crm-contact-card")
        await page.get_by_test_id("nav-answers").click()
        await walk.read(page, "admin-answers")
        await page.get_by_test_id("nav-users").click()
        await walk.read(page, "admin-users")
        # A refused request: the toast and the field say why, in Russian.
        await page.get_by_test_id("user-name").fill("Двойник")
        await page.get_by_test_id("user-email").fill(ADMIN_EMAIL)
        await page.get_by_test_id("user-password").fill("long enough pass")
        await page.get_by_test_id("user-save").click()
        await expect(page.get_by_test_id("toast")).to_have_text(
            STRINGS["ru"]["errors.email_taken"]
        )
        await walk.read(page, "admin-users-refused")
        await page.get_by_test_id("nav-lines").click()
        await walk.read(page, "admin-lines")
        await page.get_by_test_id("line-new").click()
        await expect(page.get_by_test_id("line-editor")).to_be_visible()
        await expect(page.get_by_test_id("line-msg-csat")).to_have_value(
            STRINGS["ru"]["lines.default.csat"]
        )
        await page.get_by_test_id("wh-enabled").check()
        await page.get_by_test_id("holiday-input").fill("2026-12-31")
        await page.get_by_test_id("holiday-add").click()
        await expect(page.get_by_test_id("holiday")).to_contain_text("31 декабря 2026")
        await walk.read(page, "admin-line-editor")
        await page.get_by_test_id("nav-channels").click()
        await page.get_by_test_id("channel-line").select_option(line["id"])
        await walk.read(page, "admin-channels")
        form = page.get_by_test_id("channel-form")
        for kind in ("telegram", "vk", "email", "api"):
            await form.get_by_test_id("channel-type").select_option(kind)
            await walk.read(page, f"admin-channel-form-{kind}")
        await page.context.close()

        # --- the other roles, where their screens differ -------------------------------------
        page = await signed_in(browser, base, second.user["email"], PASSWORD)  # type: ignore[index]
        await open_tab(page, "mine")
        await page.locator(f'[data-testid="conversation-item"][data-id="{cid}"]').click()
        await expect(page.locator('[data-testid="message"].system')).to_have_count(4)
        await walk.read(page, "operator-conversation")
        await page.get_by_test_id("nav-answers").click()
        await walk.read(page, "operator-answers")
        await page.context.close()
        page = await signed_in(browser, base, supervisor.user["email"], PASSWORD)  # type: ignore[index]
        await page.get_by_test_id("nav-board").click()
        await walk.read(page, "supervisor-board")
        await page.get_by_test_id("nav-inbox").click()
        await open_tab(page, "all")
        await walk.read(page, "supervisor-inbox-all")
        await page.context.close()
        page = await signed_in(browser, base, manager.user["email"], PASSWORD)  # type: ignore[index]
        await page.get_by_test_id("nav-crm").click()
        await page.get_by_test_id("crm-tab-deals").click()
        await expect(page.get_by_text("Поставка").first).to_be_visible()
        # Amounts in the Russian way: spaces between thousands, a decimal comma, the ruble sign.
        await expect(page.get_by_text(re.compile(r"125\s000,50\s₽")).first).to_be_visible()
        await walk.read(page, "manager-deals")
        await page.get_by_test_id("deal-card").first.click()
        await expect(page.get_by_test_id("deal-stage")).to_have_text(
            STRINGS["ru"]["crm.seed.stage.new"]
        )
        await walk.read(page, "manager-deal-card")
        await page.get_by_test_id("crm-tab-leads").click()
        await walk.read(page, "manager-leads")
        await page.context.close()
        await visitor.close()
        await rated.close()
        await spammer.close()

    # --- the widget on /demo ------------------------------------------------------------------
    context = await browser.new_context(locale="ru-RU")
    page = await context.new_page()
    await page.goto(base + "/demo")
    await page.get_by_test_id("ol-launcher").click()
    await expect(page.get_by_test_id("ol-prechat-name")).to_be_visible()
    await walk.read(page, "widget-prechat")
    await page.get_by_test_id("ol-prechat-name").fill("Дмитрий")
    await page.get_by_test_id("ol-prechat-submit").click()
    await expect(page.get_by_test_id("ol-greeting")).to_be_visible()
    await walk.read(page, "widget-chat")
    # A refused upload: the hub's reason, by its code, in Russian.
    (tmp_path / "setup.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    await page.locator("input[type=file]").set_input_files(str(tmp_path / "setup.exe"))
    await expect(page.get_by_test_id("ol-notice")).to_have_text("Такой тип файла не принимается.")
    await walk.read(page, "widget-refused")
    await context.close()

    assert len(walk.screens) >= 30, walk.screens
    assert not walk.problems, "\n".join(walk.problems)


async def test_the_walk_sees_english_keys_and_placeholders(browser: Browser) -> None:
    """The walk's reader itself: what it must catch on a page, the widget's shadow root too."""
    page = await browser.new_page()
    await page.set_content(
        f"""<main><h1>{STRINGS["en"]["login.title"]}</h1><p>errors.generic</p>
        <p>Осталось {{n}} мин</p><input placeholder="{STRINGS["en"]["crm.search"]}">
        <p>Анна took the conversation.</p><p>invalid LineIn</p><p>Всё по-русски</p>
        <p hidden>Sign out</p><div id="host"></div></main>
        <script>document.getElementById("host").attachShadow({{mode: "open"}}).innerHTML =
          "<button>Send rating</button>";</script>"""
    )
    walk = Walk()
    await walk.read(page, "sample")
    found = "\n".join(walk.problems)
    for expected in (
        STRINGS["en"]["login.title"],
        "errors.generic",
        "{n}",
        STRINGS["en"]["crm.search"],
        "took the conversation",
        "invalid LineIn",
        "Send rating",
    ):
        assert expected in found, (expected, found)
    assert len(walk.problems) == 7, found  # nothing hidden, nothing Russian
    await page.close()
