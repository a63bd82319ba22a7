"""Parsing real mail shapes (fixtures in tests/fixtures/email): HTML-only bodies, Gmail and
Outlook quoted replies, attachments and inline images, robots, subjects (acceptance 3)."""

from __future__ import annotations

from pathlib import Path

from channels.email.parse import blocked, normalise_subject, parse, strip_reply

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_html_only_mail_becomes_readable_text() -> None:
    mail = parse(fixture("html_only.eml"))
    assert mail.subject == "Grüße"
    assert mail.text == "Hello team,\n\nthe app crashes & freezes.\n\n- step one\n- step two"
    assert "alert" not in mail.full_text and "color" not in mail.full_text
    assert mail.automatic is None


def test_gmail_reply_keeps_only_the_new_text() -> None:
    mail = parse(fixture("gmail_reply.eml"))
    assert mail.text == "Yes, the blue one please.\n\nThanks,\nGus"
    assert "Which colour" in mail.full_text  # the original is kept whole
    assert mail.sender_address == "gus@gmail.test" and mail.sender_name == "Gus Gmail"
    assert mail.message_id == "<CAgmail123@mail.gmail.com>"
    assert mail.in_reply_to == ["<ours-1@example.com>"]
    assert mail.references == ["<first@gmail.test>", "<ours-1@example.com>"]


def test_outlook_reply_keeps_only_the_new_text() -> None:
    mail = parse(fixture("outlook_reply.eml"))
    assert mail.text == "That works for me.\n\nOtto"
    assert mail.in_reply_to == [] and mail.references == []  # threads by subject or token
    assert normalise_subject(mail.subject) == "invoice question"


def test_attachments_and_inline_images() -> None:
    mail = parse(fixture("attachments.eml"))
    assert mail.text == "See the screenshot and the PDF."
    files = {f.name: f for f in mail.files}
    assert set(files) == {"shot.png", "invoice.pdf"}
    assert files["shot.png"].inline and files["shot.png"].content_id == "shot1"
    assert files["shot.png"].data.startswith(b"\x89PNG")
    assert not files["invoice.pdf"].inline and files["invoice.pdf"].mime == "application/pdf"


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
    mail = parse(
        b"From: Carla <client@example.org>\nTo: support@example.com\nSubject: odd\n"
        b"Message-ID: <<<>>>\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
        b"hello \xe9\n"
    )
    assert mail.message_id is None  # the receiver names it by its UID instead
    assert mail.sender_address == "client@example.org"
    assert mail.text == "hello \ufffd"
    multipart = parse(
        b"From: client@example.org\nContent-Type: multipart/mixed; boundary=zz\n\n"
        b"--zz\nContent-Type: text/html; charset=bogus\n\n<p>hi <b>there</b></p>\n"
        b"--zz\nContent-Type: application/pdf; name*=bogus''x.pdf\n"
        b"Content-Disposition: attachment; filename*=bogus''x.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--zz--\n"
    )
    assert multipart.text == "hi there"
    assert [f.data for f in multipart.files] == [b"%PDF-1.4\n"]


def test_a_from_that_is_no_address_gives_no_sender() -> None:
    for sender in (b'"unterminated <client@example.org>', b"nobody", b"<\xff@\xfe>", b"a@b@c"):
        assert parse(b"From: " + sender + b"\n\nhi").sender_address == "", sender
