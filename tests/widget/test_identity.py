"""Identity verification (issue #13, finding 1): the site's backend signs the visitor's user id
with the widget channel's ``identity_secret``; a signed identity is the same client on every
device, and an e-mail identity is a verified address; wrong or missing signatures are refused;
what a visitor types into the pre-chat form stays a claim."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from playwright.async_api import Browser, expect

from hub.settings import Settings
from tests.support.clients import Api, SocketClient, new_msg_id, visitor_socket
from tests.widget.conftest import SiteFactory
from tests.widget.support import (
    only_conversation,
    open_widget,
    refusal,
    send_from_page,
    stored_docs,
    widget_world,
)


def signed(secret: str, identity: str) -> dict[str, str]:
    """What a site's backend puts into the widget's auth for a signed-in person."""
    digest = hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return {"identity": identity, "identity_hash": digest}


async def identified(base_url: str, key: str, secret: str, identity: str) -> SocketClient:
    client = SocketClient("/widget")
    await client.connect(base_url, {"key": key, **signed(secret, identity)})
    await client.events.wait("session")
    return client


async def client_doc(mongo_url: str, settings: Settings, client_id: str) -> dict[str, Any]:
    # Whether an address is verified is not shown by any endpoint (the CRM reads it).
    (doc,) = await stored_docs(mongo_url, settings.mongo_db, "clients", {"_id": client_id})
    return doc


async def test_the_identity_secret_is_shown_once_and_renewed_by_patch(
    base_url: str, admin: Api
) -> None:
    world = await widget_world(admin)
    created = world.widget
    secret = created["identity_secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    channel_path = f"/api/v1/channels/{created['id']}"
    shown = await admin.get(channel_path)
    assert "identity_secret" not in shown["config"] and "identity_secret" not in shown
    assert "identity_secret" in shown["secrets_set"]
    listing = await admin.get(f"/api/v1/lines/{world.line['id']}/channels")
    assert secret not in str(listing)
    # Other changes, and a null, keep it (the admin never sees it again to send it back).
    patched = await admin.patch(channel_path, {"config": {"title": "Renamed"}})
    assert secret not in str(patched)
    await admin.patch(channel_path, {"config": {"identity_secret": None}})
    visitor = await identified(base_url, world.key, secret, "user-42")
    await visitor.close()

    renewed = "n" * 40
    patched = await admin.patch(channel_path, {"config": {"identity_secret": renewed}})
    assert renewed not in str(patched)
    # The old secret signs nobody any more.
    refused = await refusal(base_url, {"key": world.key, **signed(secret, "user-42")})
    assert refused["code"] == "invalid_identity"
    visitor = await identified(base_url, world.key, renewed, "user-42")
    await visitor.close()


def _other(digit: str) -> str:
    return "1" if digit == "0" else "0"


async def test_a_wrong_or_missing_signature_is_refused(base_url: str, admin: Api) -> None:
    world = await widget_world(admin)
    secret = world.widget["identity_secret"]
    good = signed(secret, "anna@example.com")
    cases: list[dict[str, Any]] = [
        {"identity": "anna@example.com"},
        {**good, "identity": "boris@example.com"},
        # One hex digit changed (to another one: a hash that ends in "0" stays itself).
        {**good, "identity_hash": good["identity_hash"][:-1] + _other(good["identity_hash"][-1])},
        {"identity_hash": good["identity_hash"]},
        {**good, "identity_hash": "é" * 64},
        signed("not the channel's secret at all, 32+", "anna@example.com"),
    ]
    for auth in cases:
        refused = await refusal(base_url, {"key": world.key, **auth})
        assert refused["code"] == "invalid_identity", auth
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}")
    assert listing["conversations"] == []


async def test_a_verified_identity_is_one_client_on_every_device(
    base_url: str, admin: Api, mongo_url: str, settings: Settings
) -> None:
    world = await widget_world(admin)
    secret = world.widget["identity_secret"]
    laptop = await identified(base_url, world.key, secret, "Anna@Example.com")
    session = await laptop.events.wait("session")
    assert session["identified"] is True
    assert session["verified_email"] == "anna@example.com"
    ack = await laptop.call("message:send", {"text": "from my laptop", "client_msg_id": "m1"})
    assert ack["ok"], ack

    # Another device (no token, nothing stored): the same person, history and all; the site
    # may spell the address in other letter case there.
    phone = await identified(base_url, world.key, secret, "anna@example.com")
    on_phone = await phone.events.wait("session")
    assert on_phone["visitor_id"] == session["visitor_id"]
    assert on_phone["conversation_id"] == ack["message"]["conversation_id"]
    history = await phone.call("history", {})
    assert [m["text"] for m in history["messages"]] == ["from my laptop"]

    # What they type into the pre-chat form is a claim: it does not replace the proven address.
    prechat = await phone.call("prechat", {"name": "Anna", "email": "other@example.com"})
    assert prechat["ok"], prechat
    conversation = await only_conversation(admin, world.line["id"])
    assert conversation["client"]["email"] == "anna@example.com"
    doc = await client_doc(mongo_url, settings, conversation["client"]["id"])
    assert doc["email"] == "anna@example.com" and doc["email_verified"] is True
    assert doc["name"] == "Anna"

    # Signed out on that browser, its token no longer resumes the person.
    anonymous = await visitor_socket(base_url, world.key, on_phone["token"])
    stranger = await anonymous.events.wait("session")
    assert stranger["visitor_id"] != session["visitor_id"] and not stranger["identified"]
    assert (await anonymous.call("history", {}))["messages"] == []
    for client in (laptop, phone, anonymous):
        await client.close()


async def test_typed_addresses_stay_unverified_and_ids_are_not_emails(
    base_url: str, admin: Api, mongo_url: str, settings: Settings
) -> None:
    world = await widget_world(admin)
    visitor = await visitor_socket(base_url, world.key)
    ack = await visitor.call("prechat", {"email": "boris@example.com", "phone": "+7 900 1"})
    assert ack["ok"], ack
    doc = await client_doc(mongo_url, settings, ack["client"]["id"])
    assert doc["email"] == "boris@example.com" and doc["email_verified"] is False
    assert doc["phone_verified"] is False
    await visitor.close()

    # A user id identity is verified as a person, not as an e-mail address.
    member = await identified(base_url, world.key, world.widget["identity_secret"], "user-7")
    session = await member.events.wait("session")
    assert session["identified"] is True and session["verified_email"] is None
    ack = await member.call("message:send", {"text": "hi", "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    conversation = await admin.get(f"/api/v1/conversations/{ack['message']['conversation_id']}")
    assert conversation["client"]["email"] is None
    await member.close()


async def test_the_embed_passes_a_signed_identity(
    base_url: str,
    admin: Api,
    browser: Browser,
    customer_site: SiteFactory,
    mongo_url: str,
    settings: Settings,
) -> None:
    world = await widget_world(admin, prechat_fields=["name", "email"])
    auth = signed(world.widget["identity_secret"], "olga@example.com")
    site = await customer_site(
        base_url, world.key, identity=auth["identity"], identity_hash=auth["identity_hash"]
    )
    page = await open_widget(browser, site)
    # The site proved the address: the pre-chat asks only for the name.
    await expect(page.get_by_test_id("ol-prechat-name")).to_be_visible()
    await expect(page.get_by_test_id("ol-prechat-email")).to_have_count(0)
    await page.get_by_test_id("ol-prechat-name").fill("Olga")
    await page.get_by_test_id("ol-prechat-submit").click()
    await send_from_page(page, "Signed in and asking")
    await expect(page.get_by_test_id("ol-message")).to_contain_text("Sent")
    conversation = await only_conversation(admin, world.line["id"])
    assert conversation["client"]["email"] == "olga@example.com"
    doc = await client_doc(mongo_url, settings, conversation["client"]["id"])
    assert doc["email_verified"] is True and doc["name"] == "Olga"

    # A page whose hash is wrong gets no chat at all.
    forged = await customer_site(
        base_url, world.key, identity="boss@example.com", identity_hash=auth["identity_hash"]
    )
    refused = await open_widget(browser, forged, connected=False)
    await refused.locator("#openlines-widget[data-ol-state=refused]").wait_for(state="attached")
