"""Issue 15, point 14, the keyboard: Tab reaches every control of the inbox and an open
conversation (the composer's attach control too); the conversation list is one Tab stop whose
rows the arrow keys move between and Enter opens."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.operators_ui.conftest import sign_in
from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says
from tests.widget.support import accept_next, reply

# Marks every visible, enabled control of the page with data-kb=<n>; their names by number.
MARK_CONTROLS = """() => {
  const controls = [...document.querySelectorAll('button, input, select, textarea, a[href]')]
    .filter((el) => !el.disabled && !el.closest('[hidden]'))
    .filter((el) => {
      // A visually hidden input inside a visible label (the attach control) counts as visible.
      const box = (el.closest('label') || el).getBoundingClientRect();
      return box.width > 0 && box.height > 0;
    });
  return controls.map((el, n) => {
    el.dataset.kb = String(n);
    return el.dataset.testid || el.getAttribute('aria-label') || el.textContent.trim()
      || el.tagName;
  });
}"""
FOCUSED = "() => document.activeElement ? (document.activeElement.dataset.kb ?? null) : null"


async def tab_through(page: Page, presses: int) -> list[str]:
    """What Tab focuses, press by press, from the top of the page."""
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        seen.append(await page.evaluate(FOCUSED))
    return [n for n in seen if n is not None]


async def test_tab_reaches_every_control_and_arrows_move_between_rows(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    socket = await operator_socket(base_url, op.token or "")
    visitors, taken = [], frozenset[str]()
    for text in ("first client", "second client", "third client"):
        visitor, _ = await visitor_says(base_url, world.key, text)
        visitors.append(visitor)
        conversation_id = await accept_next(socket, taken)
        taken |= {conversation_id}
        await reply(socket, conversation_id, f"answer to the {text}")
    await socket.close()

    page = await sign_in(browser, base_url, op)
    rows = page.get_by_test_id("conversation-item")
    await expect(rows).to_have_count(3)
    # Newest first: third, second, first. Tab gets to the list's first row.
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await rows.first.evaluate("el => el === document.activeElement"):
            break
    await expect(rows.first).to_be_focused()
    # The rows are one Tab stop: the arrows move between them, Home and End jump.
    await page.keyboard.press("ArrowDown")
    await expect(rows.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(rows.nth(2)).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(rows.nth(2)).to_be_focused()
    await page.keyboard.press("Home")
    await expect(rows.first).to_be_focused()
    await page.keyboard.press("End")
    await page.keyboard.press("ArrowUp")
    await expect(rows.nth(1)).to_be_focused()
    assert [await row.get_attribute("tabindex") for row in await rows.all()] == ["-1", "0", "-1"]
    # Enter opens the focused row.
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("message").first).to_contain_text("second client")
    await expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    # Space opens another.
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press(" ")
    await expect(page.get_by_test_id("message").first).to_contain_text("third client")

    # Every control of the inbox and the open conversation is in the Tab order; of the rows,
    # only the open one (the others are reached with the arrows).
    await page.get_by_test_id("composer").fill("a draft")
    names = await page.evaluate(MARK_CONTROLS)
    assert "attach" in names and "send" in names
    reached = set(await tab_through(page, len(names) + 10))
    missed = [name for n, name in enumerate(names) if str(n) not in reached]
    assert not missed, f"Tab never reaches: {missed}"
    assert set(await rows.evaluate_all("els => els.map((e) => e.tabIndex)")) == {0, -1}
    assert await rows.evaluate_all("els => els.filter((e) => e.tabIndex === 0).length") == 1

    # The attach control, reached with Tab from the message box, opens the file chooser.
    await page.get_by_test_id("composer").focus()
    for _ in range(5):
        await page.keyboard.press("Tab")
        if await page.get_by_test_id("attach").evaluate("el => el === document.activeElement"):
            break
    await expect(page.get_by_test_id("attach")).to_be_focused()
    async with page.expect_file_chooser() as chooser:
        await page.keyboard.press("Enter")
    assert (await chooser.value).is_multiple()
    for visitor in visitors:
        await visitor.close()


async def test_a_deal_on_the_board_opens_with_the_keyboard(
    base_url: str, admin: Api, browser: Browser
) -> None:
    manager = await admin.create_user("manager")
    deal = await manager.post("/api/v1/crm/deals", {"title": "Big one"}, expect=201)
    page = await sign_in(browser, base_url, manager)
    await page.get_by_test_id("nav-crm").click()
    await page.get_by_test_id("crm-tab-deals").click()
    card = page.locator(f"[data-testid=deal-card][data-id='{deal['id']}']")
    await expect(card).to_have_attribute("role", "button")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await card.evaluate("el => el === document.activeElement"):
            break
    await expect(card).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("crm-card-title")).to_contain_text("Big one")
