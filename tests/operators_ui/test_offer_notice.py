"""Issue 15, point 15: operators notice offers. An offer rings (a short WebAudio tone; the
header's switch turns it off, remembered); while the tab is hidden it also shows a browser
notification (once allowed, asked on a click); the tab title counts waiting offers and unread
conversations, rising and falling with them."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.operators_ui.conftest import open_tab, sign_in
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says

# Counts oscillator starts (rings) and notifications, and makes the tab's visibility a switch
# the test flips (a headless page is always "visible").
WATCH = """
window.__rings = 0;
window.__notes = [];
window.__asked = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__rings++;
  return start.apply(this, args);
};
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      window.__notes.push({title, body: options && options.body});
      super(title, options);
    }
  };
  const ask = Real.requestPermission.bind(Real);
  window.Notification.requestPermission = (...args) => { window.__asked++; return ask(...args); };
}
let hidden = false;
Object.defineProperty(Document.prototype, 'hidden', {configurable: true, get: () => hidden});
Object.defineProperty(Document.prototype, 'visibilityState', {
  configurable: true, get: () => (hidden ? 'hidden' : 'visible')});
window.__setHidden = (value) => {
  hidden = value;
  document.dispatchEvent(new Event('visibilitychange'));
};
"""


async def watched(browser: Browser, base_url: str, api: Api, **options: Any) -> Page:
    page = await sign_in(browser, base_url, api, **options)
    await page.context.add_init_script(WATCH)
    await page.reload()  # the init script runs before the console's own scripts from now on
    await expect(page.get_by_test_id("status-switch")).to_be_visible()
    return page


async def rings(page: Page) -> int:
    count: int = await page.evaluate("window.__rings")
    return count


async def notes(page: Page) -> list[dict[str, str]]:
    found: list[dict[str, str]] = await page.evaluate("window.__notes")
    return found


async def set_hidden(page: Page, hidden: bool) -> None:
    await page.evaluate(f"window.__setHidden({'true' if hidden else 'false'})")


async def test_an_offer_rings_notifies_when_hidden_and_the_title_counts(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, operators=1, accept_timeout_s=600)
    op = world.operators[0]
    page = await watched(browser, base_url, op, permissions=["notifications"])
    context: BrowserContext = page.context
    await expect(page).to_have_title("OpenLines")
    switch = page.get_by_test_id("sound-switch")
    await expect(switch).to_have_attribute("aria-checked", "true")
    # Already allowed: nothing to ask.
    await expect(page.get_by_test_id("notify-allow")).to_have_count(0)

    # The tab in front: an offer rings, the title counts it, no notification.
    first, _ = await visitor_says(base_url, world.key, "Hello, first here")
    await expect(page).to_have_title("(1) OpenLines")
    await page.wait_for_function("() => window.__rings >= 2")  # two short tones
    assert await notes(page) == []

    # The tab hidden: the next offer rings and shows a notification too.
    await set_hidden(page, True)
    second, _ = await visitor_says(base_url, world.key, "Hello, second here")
    await expect(page).to_have_title("(2) OpenLines")
    await page.wait_for_function("() => window.__notes.length === 1")
    assert [n["title"] for n in await notes(page)] == ["New conversation offered"]
    assert await rings(page) >= 4

    # Back on the tab, accepting the offers brings the count down to nothing.
    await set_hidden(page, False)
    await open_tab(page, "offered")
    await page.get_by_test_id("accept").first.click()
    await expect(page).to_have_title("(1) OpenLines")
    await open_tab(page, "offered")
    await page.get_by_test_id("accept").first.click()
    await expect(page).to_have_title("OpenLines")

    # A client writes in a conversation not open on screen: an unread conversation counts.
    # Newest first: the second was accepted first; the first one is open now.
    await expect(page.get_by_test_id("message").first).to_contain_text("first here")
    await set_hidden(page, True)
    ack = await second.call("message:send", {"text": "Are you there?", "client_msg_id": "m-2"})
    assert ack["ok"], ack
    await expect(page).to_have_title("(1) OpenLines")
    await page.wait_for_function("() => window.__notes.length === 2")
    assert (await notes(page))[1] == {"title": "New message", "body": "Are you there?"}
    await set_hidden(page, False)
    await expect(page).to_have_title("(1) OpenLines")
    await page.get_by_test_id("conversation-item").filter(has_text="Are you there?").click()
    await expect(page).to_have_title("OpenLines")

    # Switched off (and still off after a reload): no ring, though the title still counts.
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "false")
    await page.reload()
    await expect(page.get_by_test_id("sound-switch")).to_have_attribute("aria-checked", "false")
    # A new page knows what the hub counts: both clients' messages are unanswered.
    await expect(page).to_have_title("(2) OpenLines")
    third, _ = await visitor_says(base_url, world.key, "Hello, third here")
    await expect(page).to_have_title("(3) OpenLines")
    assert await rings(page) == 0
    for visitor in (first, second, third):
        await visitor.close()
    await context.close()


async def test_notifications_are_asked_for_on_a_click_only(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, operators=1)
    page = await watched(browser, base_url, world.operators[0])
    allow = page.get_by_test_id("notify-allow")
    await expect(allow).to_be_visible()
    await expect(allow).to_have_accessible_name("Allow notifications")
    assert await page.evaluate("window.__asked") == 0
    await allow.click()
    await page.wait_for_function("() => window.__asked === 1")
    # Headless Chromium answers without asking anyone; a refusal is not asked again.
    permission = await page.evaluate("Notification.permission")
    if permission != "default":
        await expect(allow).to_have_count(0)
    await page.context.close()
