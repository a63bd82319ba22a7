"""Pure parsing of one raw e-mail into the port's vocabulary (``hub.channels``): a person's
mail is a ``NewMessage`` (the new text, quotes and signature cut; its files; what threads it),
a robot's, a blocked sender's or our own is an ``Ignore``. No I/O.

Mail is whatever anyone sent: a header Python's parser trips over is read raw, a body in a
charset nobody knows is decoded as UTF-8 with replacement characters. What still cannot be read
(a mail nested a thousand levels deep) raises; the receiver skips it."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, MIMEPart
from email.utils import getaddresses
from html.parser import HTMLParser

from channels.email.config import EmailConfig
from hub.channels import Ignore, NewMessage
from hub.models import Inbound, Sender

_MSGID = re.compile(r"<[^<>\s]+>")
# "Re:", "RE :", "Fwd:", "AW:", "SV:", "Ответ:", "[Ticket]" ... in front of a subject.
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|odp|tr|rv|ответ|отв|пересл)\s*(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)
# A mailbox address as it may stand in From: one @, nothing that takes part in address syntax.
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\\\"]+@[^@\s<>()\[\],;:\\\"]+")
_BULK_PRECEDENCE = {"bulk", "list", "junk"}
_ROBOT_LOCALPARTS = {"mailer-daemon", "postmaster"}


@dataclass(frozen=True)
class MailFile:
    """A file a mail carries (already in hand: nothing to fetch)."""

    name: str
    data: bytes
    mime: str
    # Referenced from the HTML by Content-ID, or shown in place.
    inline: bool
    content_id: str | None = None


@dataclass(frozen=True)
class Threading:
    """What places a mail in its thread (``Threads.resolve``) and threads later mail."""

    # The mail's Message-ID, or the receiver's name for a mail without one.
    message_id: str
    sender_address: str
    # To, Cc and Delivered-To: a reply token of ours names its thread.
    to_addresses: list[str]
    subject: str
    in_reply_to: list[str]
    references: list[str]


@dataclass(frozen=True, kw_only=True)
class NewMail(NewMessage[MailFile]):
    """A person's mail. Its chat is its thread, which only the channel's own collections know:
    ``inbound.chat_id`` is empty until the receiver resolves ``threading`` and fills it in."""

    threading: Threading


@dataclass(frozen=True)
class IgnoredMail(Ignore):
    """Mail not taken (a robot's, a blocked sender's, our own, one without a sender); who sent
    it, for the log."""

    sender_address: str = ""


# The port's vocabulary, as far as mail speaks it.
Parsed = NewMail | IgnoredMail
__all__ = ["IgnoredMail", "MailFile", "NewMail", "Parsed", "Threading", "parse"]


def parse(channel_id: str, raw: bytes, config: EmailConfig, *, fallback_id: str) -> Parsed:
    """One RFC 5322 message of ``config``'s mailbox -> what to do with it. ``fallback_id``
    names a mail that carries no Message-ID (the receiver's, from its place in the mailbox)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    senders = getaddresses(_headers(message, "From")[:1])
    name, address = senders[0] if senders else ("", "")
    address = address.strip().lower()
    if not _is_address(address):
        # No one to answer (or to call verified); nor a name to log.
        return IgnoredMail("no sender")
    reason = automatic_reason(message, address)
    if reason is None and blocked(address, config.blocklist):
        reason = "blocklist"
    if reason is None and address == config.address:
        reason = "our own address"
    if reason is not None:
        return IgnoredMail(reason, sender_address=address)
    subject = _header(message, "Subject").strip()
    message_id = _first_id(_header(message, "Message-ID")) or fallback_id
    return NewMail(
        inbound=Inbound(
            channel_id=channel_id,
            chat_id="",
            external_id=message_id,
            sender=Sender(
                external_id=address,
                name=name.strip() or None,
                email=address,
                # The mail came from that address: the client's own, not typed in a form.
                email_verified=True,
            ),
            text=strip_reply(_body_text(message)) or subject,
        ),
        media=_files(message),
        threading=Threading(
            message_id=message_id,
            sender_address=address,
            to_addresses=[
                a.strip().lower()
                for _, a in getaddresses(
                    [v for h in ("To", "Cc", "Delivered-To") for v in _headers(message, h)]
                )
                if a
            ],
            subject=subject,
            in_reply_to=_ids(_header(message, "In-Reply-To")),
            references=_ids(_header(message, "References")),
        ),
    )


def _is_address(address: str) -> bool:
    return (
        _ADDRESS.fullmatch(address) is not None
        and address.isprintable()
        and "\ufffd" not in address
        and not any("\udc80" <= c <= "\udcff" for c in address)  # undecodable bytes
    )


def _headers(message: EmailMessage, name: str) -> list[str]:
    """Every ``name`` header as text. Python's header parser raises on some broken ones
    (``Message-ID: <<<>>>`` is an IndexError); those are taken as they stand."""
    try:
        return [str(v) for v in message.get_all(name, [])]
    except Exception:  # the parser's failures are many and undocumented
        return [str(v) for k, v in message.raw_items() if k.lower() == name.lower()]


def _header(message: EmailMessage, name: str) -> str:
    values = _headers(message, name)
    return values[0] if values else ""


def automatic_reason(message: EmailMessage, sender: str) -> str | None:
    """Why this mail came from a robot (we must not answer robots), else None."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    if _header(message, "X-Auto-Response-Suppress"):
        return "X-Auto-Response-Suppress"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "mailing list"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return_path = _headers(message, "Return-Path")
    if return_path and return_path[0].strip() in ("<>", ""):
        return "Return-Path: <>"
    if sender.split("@")[0].lower() in _ROBOT_LOCALPARTS:
        return "bounce sender"
    return None


def normalise_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, case and extra spaces."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject).split()).casefold()


def blocked(address: str, blocklist: list[str]) -> bool:
    """Whether ``address`` is on the list, as itself or through its ``@domain``."""
    address = address.lower()
    domain = "@" + address.rsplit("@", 1)[-1]
    return any(entry.lower() in (address, domain) for entry in blocklist)


# --- bodies ---------------------------------------------------------------------------------


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None and not _is_attachment(part):
        return _normalise_newlines(_text_content(part))
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(_text_content(part))
    return ""


def _text_content(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except LookupError:  # a charset Python does not know: its bytes as UTF-8, marked where bad
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"}
    )
    _SKIP = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skipping = 0
        self._quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "blockquote":
            self._quote_depth += 1
            self.out.append("\n")
        elif tag in self._BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
            self.out.append("\n")
        elif tag in self._BLOCKS and tag != "li":  # the next <li> starts its own line
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if self._quote_depth and text.strip():
            # Quoted HTML keeps its quote marks, so the reply stripper sees it as a quote.
            text = "\n".join("> " + line for line in text.split("\n"))
        self.out.append(text)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: blocks become lines, scripts and styles vanish."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- quoted replies and signatures ----------------------------------------------------------

# Lines that start the quoted history in common clients.
_QUOTE_HEADERS = [
    # Gmail, Apple Mail, Thunderbird: "On Tue, 3 Jun 2025 at 10:00, Ann <a@b> wrote:"
    re.compile(
        r"^\s*(on|le|am|el|il|op|em)\b.{0,300}\b(wrote|écrit|schrieb|escribió|scritto|"
        r"schreef|escreveu)\s*:\s*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(
        r"^\s*\d{1,2}[./]\d{1,2}[./]\d{2,4}.{0,200}(пишет|написал|wrote)\s*:\s*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(r"^.{0,200}(пишет|написал(?:\(\w\))?)\s*:\s*$", re.IGNORECASE | re.DOTALL),
    # Outlook: "-----Original Message-----" and the "From: ... Sent: ..." block.
    re.compile(
        r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|исходное сообщение|"
        r"message d'origine)\s*-{2,}\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*\*?(from|von|de|от)\s*:\*?\s.+", re.IGNORECASE),
]
_OUTLOOK_FIELDS = re.compile(
    r"^\s*\*?(sent|date|to|subject|gesendet|an|betreff|отправлено|кому|тема)\s*:", re.IGNORECASE
)
_SIGNATURE = re.compile(
    r"^(-- ?|—|Sent from my \w+.*|Get Outlook for \w+.*|Отправлено \w .+)$", re.IGNORECASE
)


def strip_reply(text: str) -> str:
    """The new part of a reply: everything before the quoted history, without signature."""
    lines = _normalise_newlines(text).split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            # A block of quote marks ends the reply when only quotes/blank lines follow it,
            # so interleaved answers below a quote are kept.
            rest = [x for x in lines[index:] if x.strip()]
            if all(x.lstrip().startswith(">") for x in rest):
                cut = index
                break
            continue
        if _starts_quote(lines, index):
            cut = index
            break
    kept = lines[:cut]
    for index, line in enumerate(kept):
        if _SIGNATURE.match(line.strip()) and index > 0:
            kept = kept[:index]
            break
    result = "\n".join(kept).strip()
    return result or _normalise_newlines(text).strip()


def _starts_quote(lines: list[str], index: int) -> bool:
    line = lines[index]
    for pattern in _QUOTE_HEADERS[:3]:
        # Gmail wraps long attribution lines: try this line joined with the next one.
        joined = line + " " + (lines[index + 1] if index + 1 < len(lines) else "")
        if pattern.match(line) or (
            line.strip() and pattern.match(joined) and not pattern.match(lines[index + 1] or "")
        ):
            return True
    if _QUOTE_HEADERS[3].match(line):
        return True
    if _QUOTE_HEADERS[4].match(line) or _QUOTE_HEADERS[5].match(line):
        # An Outlook header block: "From:" followed within a few lines by Sent/To/Subject.
        following = [x for x in lines[index + 1 : index + 6] if x.strip()]
        return sum(1 for x in following if _OUTLOOK_FIELDS.match(x)) >= 2
    return False


# --- headers and files ----------------------------------------------------------------------


def _first_id(value: object) -> str | None:
    ids = _ids(value)
    return ids[0] if ids else None


def _ids(value: object) -> list[str]:
    if value is None:
        return []
    return _MSGID.findall(str(value))


def _is_attachment(part: MIMEPart) -> bool:
    return part.get_content_disposition() == "attachment"


def _files(message: EmailMessage) -> list[MailFile]:
    files: list[MailFile] = []
    body_parts = {
        id(p)
        for p in (
            message.get_body(preferencelist=("plain",)),
            message.get_body(preferencelist=("html",)),
        )
        if p is not None
    }
    for part in message.walk():
        if part.is_multipart() or id(part) in body_parts:
            continue
        if part.get_content_maintype() == "text" and not part.get_filename():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            continue
        content_id = part.get("Content-ID")
        name = part.get_filename() or _default_name(part.get_content_type(), len(files))
        files.append(
            MailFile(
                name=name,
                data=data,
                mime=part.get_content_type(),
                inline=content_id is not None or part.get_content_disposition() == "inline",
                content_id=str(content_id).strip("<> ") if content_id else None,
            )
        )
    return files


_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}


def _default_name(mime: str, index: int) -> str:
    return f"inline-{index + 1}{_EXTENSIONS.get(mime, '.bin')}"
