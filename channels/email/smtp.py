"""The sending side: an operator's message as a proper reply (threading headers, our own
Message-ID, Reply-To with the thread token, text and HTML, files) sent with aiosmtplib."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from channels.email.config import EmailConfig

SMTP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class OutgoingFile:
    name: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """Everything one outgoing mail says; ``compose`` turns it into a message."""

    from_name: str
    to: str
    token: str
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None
    references: list[str]
    # Automatic texts (welcome, after-hours, queue, CSAT) say so, so robots do not answer.
    automatic: bool
    # (label, URL) links shown under the text (the 1-5 rating links).
    links: list[tuple[str, str]]
    files: list[OutgoingFile]


def reply_subject(subject: str) -> str:
    subject = subject.strip() or "(no subject)"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def compose(reply: Reply, config: EmailConfig) -> EmailMessage:
    """Pure: the RFC 5322 message for ``reply``."""
    message = EmailMessage()
    message["From"] = formataddr((reply.from_name, config.address))
    message["To"] = reply.to
    message["Reply-To"] = config.reply_address(reply.token)
    message["Subject"] = reply_subject(reply.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = reply.message_id
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
    if reply.references:
        message["References"] = " ".join(reply.references)
    if reply.automatic:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    text = reply.text
    if reply.links:
        text += "\n\n" + "\n".join(f"{label}: {url}" for label, url in reply.links)
    message.set_content(text + "\n")
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
        for block in reply.text.split("\n\n")
        if block.strip()
    )
    links = " ".join(
        f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'
        for label, url in reply.links
    )
    body = paragraphs + (f"<p>{links}</p>" if links else "")
    message.add_alternative(f"<!doctype html><html><body>{body}</body></html>", subtype="html")
    for file in reply.files:
        maintype, _, subtype = file.mime.partition("/")
        message.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.name,
        )
    return message


def _client(config: EmailConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=config.smtp_host,
        port=config.smtp_port,
        use_tls=config.smtp_tls,
        start_tls=None if not config.smtp_tls else False,
        timeout=SMTP_TIMEOUT_S,
    )


async def check_login(config: EmailConfig) -> None:
    """Connect and log in (where the server offers AUTH); raises aiosmtplib errors."""
    smtp = _client(config)
    await smtp.connect()
    try:
        if smtp.supports_extension("auth"):
            await smtp.login(config.username, config.password)
    finally:
        with_quit = smtp.is_connected
        if with_quit:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()


async def send(message: EmailMessage, config: EmailConfig) -> None:
    smtp = _client(config)
    await smtp.connect()
    try:
        if smtp.supports_extension("auth"):
            await smtp.login(config.username, config.password)
        await smtp.send_message(message)
    finally:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()
