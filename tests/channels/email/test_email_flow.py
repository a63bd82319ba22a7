"""The e-mail channel against real servers: Dovecot over IMAP IDLE in, aiosmtpd out.

Acceptance 1 (ingest through IDLE, offer, threaded reply, the answer joins), 4 (robots and
blocklisted senders create nothing; our automatic texts carry Auto-Submitted), 5 (CSAT links),
6 (wrong credentials; the IMAP server going away and coming back)."""

from __future__ import annotations

import logging
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from hub.appkeys import HUB
from hub.models import utcnow
from tests.channels.email.mailserver import Dovecot, Smtp
from tests.support.clients import Api, operator_socket
from tests.support.waiting import eventually


def client_mail(
    text: str,
    *,
    subject: str = "Printer on fire",
    sender: str = "Carla Client <client@example.org>",
    to: str = "support@example.com",
    headers: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    message = EmailMessage()
    message_id = f"<{uuid.uuid4().hex}@example.org>"
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    return message.as_bytes(), message_id


async def conversations(admin: Api, channel_id: str) -> list[dict[str, Any]]:
    body = await admin.get("/api/v1/conversations?limit=200")
    return [c for c in body["conversations"] if c["channel"]["id"] == channel_id]


async def texts(api: Api, conversation_id: str) -> list[str]:
    body = await api.get(f"/api/v1/conversations/{conversation_id}/messages")
    return [m["text"] for m in body["messages"] if m["direction"] == "in"]


def replies_to(dovecot: Dovecot, message_id: str) -> list[EmailMessage]:
    return [m for m in dovecot.mailbox("client") if m.get("In-Reply-To") == message_id]


async def email_line(admin: Api, dovecot: Dovecot, smtp: Smtp, **line: Any) -> tuple[Any, ...]:
    operator = await admin.create_user(name="Olga")
    world = await admin.create_line(operators=[operator.user["id"]], **line)  # type: ignore[index]
    channel = await admin.create_channel(
        world["id"], "email", dovecot.config(smtp_port=smtp.port, blocklist=["@spam.test"])
    )
    return operator, world, channel


async def test_mail_in_reply_out_answer_joins(
    base_url: str, admin: Api, dovecot: Dovecot, smtp: Smtp
) -> None:
    operator, line, channel = await email_line(
        admin, dovecot, smtp, messages={"welcome": "We got your mail."}
    )
    assert "password" not in channel["config"] and channel["secrets_set"] == ["password"]
    socket = await operator_socket(base_url, operator.token)
    try:
        raw, first_id = client_mail("My printer is on fire.\n\n-- \nCarla, Accounting")
        # The receiver may still be logging in: the mail lands and must be picked up anyway.
        dropped = time.monotonic()
        dovecot.deliver("support", raw)
        offer = await socket.events.wait("conversation:offered", timeout_s=10)
        conversation = offer["conversation"]
        # Through IDLE, not a poll: well within 3 s of the drop.
        if time.monotonic() - dropped > 3:
            # The first drop may race the receiver's first login; a second must be quick.
            raw2, _ = client_mail("still burning", subject="Other matter")
            dropped = time.monotonic()
            dovecot.deliver("support", raw2)
            await eventually(
                lambda: conversations(admin, channel["id"]), lambda cs: len(cs) == 2, timeout_s=3
            )
        assert time.monotonic() - dropped <= 3
        cid = conversation["id"]
        assert conversation["client"]["email"] == "client@example.org"
        assert conversation["client"]["name"] == "Carla Client"
        assert await texts(admin, cid) == ["My printer is on fire."]  # signature cut
        # ...and the mail as it came, for staff: the MIME source, signature and all.
        (first,) = (await admin.get(f"/api/v1/conversations/{cid}/messages"))["messages"][:1]
        original = first["original"]
        assert original["mime"] == "message/rfc822" and original["name"] == "message.eml"
        status, source = await operator.call("GET", f"/api/v1/files/{original['id']}")
        assert status == 200
        assert first_id in source and "Carla, Accounting" in source
        outsider = await admin.create_user("operator")
        status, _ = await outsider.call("GET", f"/api/v1/files/{original['id']}")
        assert status == 404

        assert (await socket.call("conversation:accept", {"id": cid}))["ok"]
        await operator.post(
            f"/api/v1/conversations/{cid}/messages", {"text": "Please unplug it."}, expect=201
        )
        mails = await eventually(
            lambda: _async(replies_to(dovecot, first_id)),
            lambda ms: any("unplug" in m.get_body(("plain",)).get_content() for m in ms),
        )
        welcome = next(m for m in mails if "We got your mail" in m.get_body().get_content())
        assert welcome["Auto-Submitted"] == "auto-replied"
        reply = next(m for m in mails if "unplug" in m.get_body(("plain",)).get_content())
        assert reply["Auto-Submitted"] is None
        assert reply["Subject"] == "Re: Printer on fire"
        assert reply["In-Reply-To"] == first_id
        assert first_id in reply["References"].split()
        name, address = getaddresses([reply["From"]])[0]
        assert (name, address) == (f"Olga via {line['name']}", "support@example.com")
        reply_to = getaddresses([reply["Reply-To"]])[0][1]
        assert reply_to.startswith("support+") and reply_to.endswith("@example.com")
        assert reply.get_body(("html",)) is not None
        assert reply["Message-ID"] and reply["Message-ID"] != welcome["Message-ID"]

        # Gmail-style answer to our reply (In-Reply-To): same conversation.
        answer, _ = client_mail(
            "Done, thanks!\n\nOn Tue, 3 Jun 2025 at 10:00, Olga <support@example.com> wrote:\n"
            "> Please unplug it.\n",
            subject="Re: Printer on fire",
            headers={"In-Reply-To": reply["Message-ID"], "References": reply["Message-ID"]},
        )
        dovecot.deliver("support", answer)
        await eventually(lambda: texts(admin, cid), lambda t: "Done, thanks!" in t)
        # An answer without threading headers, to the token address: same conversation.
        bare, _ = client_mail("One more thing.", subject="whatever", to=reply_to)
        dovecot.deliver("support", bare)
        await eventually(lambda: texts(admin, cid), lambda t: "One more thing." in t)
        assert len([c for c in await conversations(admin, channel["id"]) if c["id"] == cid]) == 1
    finally:
        await socket.close()


async def test_robots_and_blocklist_create_nothing(
    base_url: str, admin: Api, dovecot: Dovecot, smtp: Smtp
) -> None:
    _, _, channel = await email_line(admin, dovecot, smtp)
    robots = [
        client_mail("I am out of office", headers={"Auto-Submitted": "auto-replied"})[0],
        client_mail("OOF", headers={"X-Auto-Response-Suppress": "All"})[0],
        client_mail("newsletter", headers={"Precedence": "bulk"})[0],
        client_mail("bounce", sender="MAILER-DAEMON@example.org")[0],
        client_mail("return path", headers={"Return-Path": "<>"})[0],
        client_mail("spam", sender="seller@spam.test")[0],
        _dsn(),
    ]
    for raw in robots:
        dovecot.deliver("support", raw)
    # A person's mail after them: once it is in, the robots before it were all looked at.
    dovecot.deliver("support", client_mail("a real person")[0])
    found = await eventually(
        lambda: conversations(admin, channel["id"]), lambda cs: len(cs) >= 1, timeout_s=10
    )
    assert len(found) == 1
    assert await texts(admin, found[0]["id"]) == ["a real person"]


def _dsn() -> bytes:
    return (
        b"From: Mail Delivery System <bounces@example.org>\n"
        b"To: support@example.com\nSubject: Undelivered Mail\n"
        b"Message-ID: <dsn-" + uuid.uuid4().hex.encode() + b"@example.org>\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nCould not deliver.\n"
        b"--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--b--\n"
    )


async def test_csat_links_rate_and_forged_token_is_refused(
    base_url: str, admin: Api, dovecot: Dovecot, smtp: Smtp
) -> None:
    operator, _, channel = await email_line(admin, dovecot, smtp, csat={"enabled": True})
    raw, first_id = client_mail("rate me", subject=f"csat {uuid.uuid4().hex[:6]}")
    dovecot.deliver("support", raw)
    (conversation,) = await eventually(
        lambda: conversations(admin, channel["id"]), lambda cs: len(cs) == 1
    )
    cid = conversation["id"]
    await operator.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    await operator.post(f"/api/v1/conversations/{cid}/close", expect=200)
    mails = await eventually(
        lambda: _async(replies_to(dovecot, first_id)),
        lambda ms: any("/csat/" in m.get_body(("plain",)).get_content() for m in ms),
    )
    prompt = next(m for m in mails if "/csat/" in m.get_body(("plain",)).get_content())
    assert prompt["Auto-Submitted"] == "auto-replied"
    text = prompt.get_body(("plain",)).get_content()
    links = [line.split(": ", 1)[1] for line in text.splitlines() if "/csat/" in line]
    assert [urlsplit(link).query for link in links] == [f"rating={n}" for n in range(1, 6)]
    path = urlsplit(links[3])
    forged = path.path[:-4] + "AAAA"
    status, _ = await admin.call("GET", f"{forged}?rating=1")
    assert status == 403
    status, _ = await admin.call("GET", f"{path.path}?{path.query}")
    assert status == 200
    rated = await admin.get(f"/api/v1/conversations/{cid}")
    assert rated["csat"]["rating"] == 4


async def test_wrong_credentials_are_refused_naming_the_server(
    admin: Api, dovecot: Dovecot, smtp: Smtp
) -> None:
    line = await admin.create_line()
    path = f"/api/v1/lines/{line['id']}/channels"
    bad_imap = dovecot.config(smtp_port=smtp.port, password="wrong")
    status, body = await admin.call("POST", path, {"type": "email", "config": bad_imap})
    assert status == 422
    assert f"IMAP server 127.0.0.1:{dovecot.port}" in body["error"]["message"]
    assert "AUTHENTICATIONFAILED" in body["error"]["message"].upper().replace(" ", "")
    # IMAP fine, SMTP refuses: the SMTP server is named. Neither stored a channel.
    status, body = await admin.call(
        "POST",
        path,
        {"type": "email", "config": {**dovecot.config(smtp_port=smtp.port), "username": "x"}},
    )
    assert status == 422
    assert "IMAP server" in body["error"]["message"]
    bad_smtp = dovecot.config(smtp_port=smtp.port)
    bad_smtp_server = {**bad_smtp, "smtp_port": _closed_port()}
    status, body = await admin.call("POST", path, {"type": "email", "config": bad_smtp_server})
    assert status == 422 and "SMTP server 127.0.0.1:" in body["error"]["message"]
    assert (await admin.get(f"/api/v1/lines/{line['id']}/channels"))["channels"] == []


def _closed_port() -> int:
    from tests.channels.email.mailserver import free_port

    return free_port()


@pytest.mark.serial  # its receiver's reconnect back-off races a bounded wait
async def test_imap_server_going_away_and_back_loses_nothing(
    base_url: str, admin: Api, dovecot: Dovecot, smtp: Smtp
) -> None:
    _, _, channel = await email_line(admin, dovecot, smtp)
    dovecot.deliver("support", client_mail("before the outage", subject="outage 1")[0])
    await eventually(lambda: conversations(admin, channel["id"]), lambda cs: len(cs) == 1)
    dovecot.stop()
    try:
        dovecot.deliver("support", client_mail("during the outage", subject="outage 2")[0])
    finally:
        dovecot.start()
    dovecot.deliver("support", client_mail("after the outage", subject="outage 3")[0])

    async def all_texts() -> list[str]:
        # A conversation is stored a moment before its first message: wait for the messages.
        found = await conversations(admin, channel["id"])
        return sorted([t for c in found for t in await texts(admin, c["id"])])

    got = await eventually(all_texts, lambda ts: len(ts) >= 3, timeout_s=20)
    assert got == ["after the outage", "before the outage", "during the outage"]


def _deeply_nested(levels: int) -> bytes:
    """A mail of ``levels`` nested multiparts: Python's e-mail package recurses into it until
    it gives up (RecursionError), so it cannot be read at all."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (n, n) for n in range(levels)
    )
    closing = b"".join(b"--b%d--\n" % n for n in reversed(range(levels)))
    head = b"From: client@example.org\nTo: support@example.com\nSubject: deep\nMIME-Version: 1.0\n"
    return head + opening + b"Content-Type: text/plain\n\nburied\n" + closing


async def test_malformed_mail_is_skipped_and_the_receiver_goes_on(
    admin: Api, dovecot: Dovecot, smtp: Smtp, hub_app: web.Application, caplog: Any
) -> None:
    """Mail Python's e-mail package cannot read used to fail the IMAP session, which then
    reconnected and fetched the same mail again, for ever: nothing after it arrived."""
    caplog.set_level(logging.INFO, logger="openlines")
    _, _, channel = await email_line(admin, dovecot, smtp)
    odd_charset = (
        b"From: Carla Client <client@example.org>\nTo: support@example.com\nSubject: charset\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\n\nodd charset\n"
    )
    broken_id = (
        b"From: Carla Client <client@example.org>\nTo: support@example.com\nSubject: id\n"
        b"Message-ID: <<<>>>\n\nbroken id\n"
    )
    for raw in (odd_charset, broken_id, _deeply_nested(1000)):
        dovecot.deliver("support", raw)
    dovecot.deliver("support", client_mail("after them")[0])

    async def all_texts() -> list[str]:
        found = await conversations(admin, channel["id"])
        return sorted([t for c in found for t in await texts(admin, c["id"])])

    got = await eventually(all_texts, lambda ts: "after them" in ts, timeout_s=20)
    # What can be read is kept; what cannot is skipped with one line.
    assert got == ["after them", "broken id", "odd charset"]
    skipped = [r for r in caplog.records if "mail skipped" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].levelno == logging.WARNING
    assert "RecursionError" in skipped[0].getMessage()
    assert [r for r in caplog.records if r.exc_info] == []
    assert not [r for r in caplog.records if "imap session" in r.getMessage()]
    # The From address of a mail is the client's, proven by the mail itself.
    client = await hub_app[HUB].store.db["clients"].find_one({"email": "client@example.org"})
    assert client is not None and client["email_verified"] is True


async def _async(value: Any) -> Any:
    return value
