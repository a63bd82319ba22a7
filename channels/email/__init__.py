"""The e-mail channel: a support mailbox becomes a channel of a line. Mail comes in over
IMAP (IDLE, by UID, one receiver per mailbox in the cluster), each mail thread is one chat,
and operators' replies go out over SMTP as replies that mail clients thread correctly.

Threading, what is ignored and the config are described in docs/api.md ("E-mail")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from aiohttp import web

from channels.email import smtp
from channels.email.config import EmailConfig
from channels.email.failures import IMAP_FAILURES, SMTP_FAILURES, imap_error, smtp_error
from channels.email.imap import Receiver, close, open_mailbox
from channels.email.smtp import OutgoingFile, Reply
from channels.email.threads import Threads
from hub.channels import ChannelDeps, ChannelKindDefaults, ChannelSink, words
from hub.errors import ChannelError, ChannelRejected, NotFound, ValidationFailed
from hub.models import AuthorType, ChannelRecord, Outbound, Receipt, utcnow
from hub.netguard import ensure_public_host

__all__ = ["EmailConfig", "EmailKind"]

CSAT_RATINGS = (1, 2, 3, 4, 5)


class EmailChannel:
    """Sends one channel's outgoing messages as replies in their mail threads."""

    def __init__(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        self._channel = channel
        self._config = EmailConfig.model_validate(channel.config)
        self._deps = deps
        self._threads = Threads(deps.db, channel.id)

    async def send(self, outbound: Outbound) -> Receipt:
        thread = await self._threads.thread(outbound.chat_id)
        if thread is None:
            raise ChannelRejected(f"no mail thread {outbound.chat_id!r} to answer in")
        domain = self._config.address.split("@", 1)[1]
        # Derived from our message id, so a retried send keeps its Message-ID.
        message_id = f"<{outbound.message_id}.{thread.chat_id}@{domain}>"
        # Known before it leaves, so a quick answer to it already threads.
        await self._threads.record_outbound(thread.chat_id, message_id)
        automatic = outbound.author.type == AuthorType.SYSTEM or (
            outbound.purpose == "csat_request"
        )
        reply = Reply(
            from_name=await self._from_name(outbound),
            to=thread.client_address,
            token=thread.chat_id,
            subject=thread.subject,
            text=outbound.text,
            message_id=message_id,
            in_reply_to=thread.last_client_message_id,
            references=[r for r in thread.references if r != message_id],
            automatic=automatic,
            links=self._csat_links(outbound) if outbound.purpose == "csat_request" else [],
            files=[await self._file(a.id, a.name, a.mime) for a in outbound.attachments],
        )
        try:
            await smtp.send(smtp.compose(reply, self._config), self._config)
        except SMTP_FAILURES as exc:
            server = f"SMTP server {self._config.smtp_host}:{self._config.smtp_port}"
            raise smtp_error(server, exc) from exc
        return Receipt(platform_message_id=message_id)

    async def _from_name(self, outbound: Outbound) -> str:
        known = self._deps.line_name
        line_name = (await known(self._channel.line_id) if known else None) or self._config.address
        if outbound.author.type == AuthorType.OPERATOR and outbound.author.name:
            return f"{outbound.author.name} via {line_name}"
        return line_name

    def _csat_links(self, outbound: Outbound) -> list[tuple[str, str]]:
        link = self._deps.csat_link
        if link is None:
            raise ChannelError("no CSAT link builder to make rating links with")
        return [(str(n), link(outbound.conversation_id, n)) for n in CSAT_RATINGS]

    async def _file(self, file_id: str, name: str, mime: str) -> OutgoingFile:
        if self._deps.files is None:
            raise ChannelError("no file store to read attachments from")
        return OutgoingFile(name=name, mime=mime, data=await self._deps.files.read(file_id))


class EmailKind(ChannelKindDefaults[EmailConfig]):
    name: ClassVar[str] = "email"
    title: ClassVar[Mapping[str, str]] = words("Электронная почта", "E-mail")
    config_model: ClassVar[type[EmailConfig]] = EmailConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"password"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset()
    live_queue_position: ClassVar[bool] = False
    live_csat: ClassVar[bool] = False

    async def connect(
        self,
        config: EmailConfig,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        allow_private = deps.settings.allow_private_urls
        await ensure_public_host(config.imap_host, config.imap_port, allow_private=allow_private)
        await ensure_public_host(config.smtp_host, config.smtp_port, allow_private=allow_private)
        imap_server = f"IMAP server {config.imap_host}:{config.imap_port}"
        smtp_server = f"SMTP server {config.smtp_host}:{config.smtp_port}"
        try:
            imap, uidvalidity, uidnext = await open_mailbox(config)
        except IMAP_FAILURES as exc:
            error = imap_error(imap_server, exc)
            refused = isinstance(error, ChannelRejected)
            raise ValidationFailed(
                error.message, code="imap_refused" if refused else "imap_unreachable"
            ) from exc
        await close(imap)
        try:
            await smtp.check_login(config)
        except SMTP_FAILURES as exc:
            error = smtp_error(smtp_server, exc)
            refused = isinstance(error, ChannelRejected)
            raise ValidationFailed(
                error.message, code="smtp_refused" if refused else "smtp_unreachable"
            ) from exc
        threads = Threads(deps.db, channel_id)
        await threads.ensure_indexes()
        old_key = EmailConfig.model_validate(previous).mailbox_key() if previous else None
        if old_key != config.mailbox_key():
            # Mail already in the mailbox is not imported, unless fetch_since_days asks.
            since = (
                utcnow() - timedelta(days=config.fetch_since_days)
                if config.fetch_since_days
                else None
            )
            await threads.start_mailbox(config.mailbox_key(), uidvalidity, uidnext - 1, since)
        return config.model_dump(mode="json")

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        return {}

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        raise NotFound("e-mail channels receive over IMAP, not webhooks", code="no_webhook")

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return True

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        threads = Threads(deps.db, channel.id)
        await threads.ensure_indexes()
        config = EmailConfig.model_validate(channel.config)
        await Receiver(channel.id, config, threads, sink).run()

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> EmailChannel:
        return EmailChannel(channel, deps)
