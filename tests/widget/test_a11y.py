"""Issue 15, point 14, the widget: its close button has a name in the visitor's language, the
open panel is a named dialog, and Escape (or the close button) closes it with the focus back on
the launcher, so a keyboard user is never left inside a hidden panel. axe-core finds nothing
serious in the states the console's walk of /demo does not reach (an operator's answer, the
rating card)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.axe import violations
from tests.support.clients import Api, operator_socket
from tests.widget.conftest import SiteFactory
from tests.widget.support import accept_next, open_widget, reply, send_from_page, widget_world


async def test_close_is_named_and_escape_closes_back_to_the_launcher(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    for locale, close_name in (("en-US", "Close"), ("ru-RU", "Закрыть")):
        context = await browser.new_context(locale=locale)
        page = await context.new_page()
        await page.goto(site)
        launcher = page.get_by_test_id("ol-launcher")
        panel = page.get_by_test_id("ol-panel")
        await launcher.click()
        await expect(panel).to_be_visible()
        await expect(page.get_by_role("dialog", name="Shop help")).to_be_visible()
        close = page.get_by_role("button", name=close_name, exact=True)
        await expect(close).to_have_attribute("data-testid", "ol-close")

        # Escape where the visitor types closes the panel; the launcher has the focus.
        await expect(page.get_by_test_id("ol-input")).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(panel).to_be_hidden()
        await expect(launcher).to_be_focused()

        # The keyboard opens it again; the close button, pressed with the keyboard, closes it.
        await page.keyboard.press("Enter")
        await expect(panel).to_be_visible()
        await close.focus()
        await page.keyboard.press("Enter")
        await expect(panel).to_be_hidden()
        await expect(launcher).to_be_focused()
        await context.close()


# The test's customer page is not ours to judge: only the widget is scanned.
WIDGET = "#openlines-widget"


async def test_a_conversation_with_an_operator_then_its_rating_card_pass_axe(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    """The states of the open widget /demo does not reach without an operator: their answer,
    the closed conversation and the rating card (stars, comment, "New conversation")."""
    world = await widget_world(admin, line={"csat": {"enabled": True}})
    site = await customer_site(base_url, world.key)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    taken = frozenset[str]()
    for locale in ("en-US", "ru-RU"):
        context = await browser.new_context(locale=locale)
        page = await open_widget(context, site)
        await send_from_page(page, "Where is my order?")
        conversation_id = await accept_next(operator, taken)
        taken |= {conversation_id}
        await reply(operator, conversation_id, "It arrives tomorrow")
        answer = page.get_by_test_id("ol-message").filter(has_text="tomorrow")
        await expect(answer).to_be_visible()
        assert await violations(page, WIDGET) == [], locale
        ack = await operator.call("conversation:close", {"id": conversation_id})
        assert ack["ok"], ack
        await expect(page.get_by_test_id("ol-csat-star")).to_have_count(5)
        assert await violations(page, WIDGET) == [], locale
        await context.close()
    await operator.close()
