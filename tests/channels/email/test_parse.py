"""Parsing real mail shapes (fixtures in tests/fixtures/email): HTML-only bodies, Gmail and
Outlook quoted replies, attachments and inline images, robots, subjects (acceptance 3), into
the port's words: a person's mail a ``NewMail``, the rest an ``IgnoredMail``."""

from __future__ import annotations

from pathlib import Path

from channels.email.config import EmailConfig
from channels.email.parse import (
    IgnoredMail,
    NewMail,
    Parsed,
    blocked,
    normalise_subject,
    parse,
    strip_reply,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"
CONFIG = EmailConfig(
    imap_host="imap.example.com",
    smtp_host="smtp.example.com",
    username="support",
    password="secret",
    address="support@example.com",
    blocklist=["@spam.test", "one@example.org"],
)
FALLBACK_ID = "<uid-7-42@ch1>"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parsed(raw: bytes) -> Parsed:
    return parse("ch1", raw, CONFIG, fallback_id=FALLBACK_ID)


def new_mail(raw: bytes) -> NewMail:
    mail = parsed(raw)
    assert isinstance(mail, NewMail), mail
    return mail


def ignored(raw: bytes) -> IgnoredMail:
    mail = parsed(raw)
    assert isinstance(mail, IgnoredMail), mail
    return mail


def test_html_only_mail_becomes_readable_text() -> None:
    mail = new_mail(fixture("html_only.eml"))
    assert mail.threading.subject == "Grüße"
    text = mail.inbound.text
    assert text == "Hello team,\n\nthe app crashes & freezes.\n\n- step one\n- step two"
    assert "alert" not in text and "color" not in text


def test_gmail_reply_keeps_only_the_new_text() -> None:
    mail = new_mail(fixture("gmail_reply.eml"))
    inbound = mail.inbound
    assert inbound.text == "Yes, the blue one please.\n\nThanks,\nGus"
    assert "Which colour" not in inbound.text  # the quoted history is cut
    assert inbound.channel_id == "ch1" and inbound.chat_id == ""  # the receiver threads it
    assert inbound.external_id == "<CAgmail123@mail.gmail.com>"
    sender = inbound.sender
    assert sender.external_id == sender.email == "gus@gmail.test"
    assert sender.name == "Gus Gmail" and sender.email_verified
    assert inbound.sent_at is None  # a Date header is the sender's claim: stored when received
    threading = mail.threading
    assert threading.message_id == "<CAgmail123@mail.gmail.com>"
    assert threading.sender_address == "gus@gmail.test"
    assert threading.to_addresses == ["support@example.com"]
    assert threading.in_reply_to == ["<ours-1@example.com>"]
    assert threading.references == ["<first@gmail.test>", "<ours-1@example.com>"]


def test_outlook_reply_keeps_only_the_new_text() -> None:
    mail = new_mail(fixture("outlook_reply.eml"))
    assert mail.inbound.text == "That works for me.\n\nOtto"
    assert mail.threading.in_reply_to == [] and mail.threading.references == []
    assert normalise_subject(mail.threading.subject) == "invoice question"


def test_attachments_and_inline_images() -> None:
    mail = new_mail(fixture("attachments.eml"))
    assert mail.inbound.text == "See the screenshot and the PDF."
    assert mail.inbound.attachments == []  # the receiver stores the files first
    files = {f.name: f for f in mail.media}
    assert set(files) == {"shot.png", "invoice.pdf"}
    assert files["shot.png"].inline and files["shot.png"].content_id == "shot1"
    assert files["shot.png"].data.startswith(b"\x89PNG")
    assert not files["invoice.pdf"].inline and files["invoice.pdf"].mime == "application/pdf"


def test_a_mail_without_text_is_its_subject_and_one_without_id_the_fallback() -> None:
    mail = new_mail(b"From: client@example.org\nSubject: Call me back\n\n")
    assert mail.inbound.text == "Call me back"
    assert mail.inbound.external_id == mail.threading.message_id == FALLBACK_ID


def test_robots_blocked_senders_and_our_own_mail_are_ignored() -> None:
    cases = {
        b"From: client@example.org\nAuto-Submitted: auto-replied\n\nout of office": (
            "Auto-Submitted: auto-replied"
        ),
        b"From: news@example.org\nList-Id: <news.example.org>\n\nnews": "mailing list",
        b"From: MAILER-DAEMON@example.org\n\nundeliverable": "bounce sender",
        b"From: Bad <bad@spam.test>\n\nbuy": "blocklist",
        b"From: one@example.org\n\nhi": "blocklist",
        b"From: Support <support@example.com>\n\nloop": "our own address",
    }
    for raw, reason in cases.items():
        mail = ignored(raw)
        assert mail.reason == reason, raw
        assert mail.sender_address and mail.sender_address in raw.decode().lower(), raw


def test_quote_shapes_and_signatures() -> None:
    assert strip_reply("ok\n\n> old\n> older\n") == "ok"
    # An answer interleaved below a quote is kept.
    assert strip_reply("> question?\nanswer\n") == "> question?\nanswer"
    assert strip_reply("thanks\n-----Original Message-----\nFrom: x") == "thanks"
    assert strip_reply("fine\n\nSent from my iPhone") == "fine"
    assert strip_reply("ок\n\n3 июня 2025 г., 10:00, Ольга пишет:\n> вопрос") == "ок"
    # A quote only: nothing new found, the text is kept rather than lost.
    assert strip_reply("> just a quote") == "> just a quote"


def test_subjects_and_blocklist() -> None:
    assert normalise_subject("Re: RE: Fwd:  AW: Order   42") == "order 42"
    assert normalise_subject("Re[2]: Order") == "order"
    assert blocked("Bad@Spam.test", ["@spam.test"])
    assert blocked("one@example.org", ["one@example.org"])
    assert not blocked("two@example.org", ["one@example.org", "@spam.test"])


def test_broken_headers_and_unknown_charsets_still_parse() -> None:
    # Python's e-mail package raises on both: IndexError on the Message-ID, LookupError on
    # the charset. Such a mail used to stop the mailbox's receiver for good.
    mail = new_mail(
        b"From: Carla <client@example.org>\nTo: support@example.com\nSubject: odd\n"
        b"Message-ID: <<<>>>\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
        b"hello \xe9\n"
    )
    assert mail.inbound.external_id == FALLBACK_ID  # the receiver's name, from its UID
    assert mail.inbound.sender.external_id == "client@example.org"
    assert mail.inbound.text == "hello \ufffd"
    multipart = new_mail(
        b"From: client@example.org\nContent-Type: multipart/mixed; boundary=zz\n\n"
        b"--zz\nContent-Type: text/html; charset=bogus\n\n<p>hi <b>there</b></p>\n"
        b"--zz\nContent-Type: application/pdf; name*=bogus''x.pdf\n"
        b"Content-Disposition: attachment; filename*=bogus''x.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--zz--\n"
    )
    assert multipart.inbound.text == "hi there"
    assert [f.data for f in multipart.media] == [b"%PDF-1.4\n"]


def test_a_from_that_is_no_address_gives_no_sender() -> None:
    for sender in (b'"unterminated <client@example.org>', b"nobody", b"<\xff@\xfe>", b"a@b@c"):
        assert ignored(b"From: " + sender + b"\n\nhi") == IgnoredMail("no sender"), sender
