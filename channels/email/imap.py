"""The receiving side: one IMAP session per mailbox that fetches new mail by UID, waits in
IDLE (with a fallback poll), reconnects with back-off, and hands each mail to the hub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Callable
from datetime import datetime

from aioimaplib import IMAP4, Response

from channels.email.config import EmailConfig
from channels.email.failures import IMAP_FAILURES, ImapError
from channels.email.parse import NewMail, Parsed, parse
from channels.email.threads import Threads
from hub.channels import ChannelSink, keep_file, with_files

log = logging.getLogger("openlines.channels.email")

IMAP_TIMEOUT_S = 15.0
# IDLE is left and re-issued at least this often (RFC 2177: before 29 minutes); each time
# the mailbox is also searched, which is the fallback poll when a push got lost.
IDLE_RENEW_S = 120.0
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 60.0
FETCH_BATCH = 200

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = re.compile(rb"UIDNEXT (\d+)")


async def open_mailbox(
    config: EmailConfig, on_lost: Callable[[Exception | None], None] | None = None
) -> tuple[IMAP4, int, int]:
    """Log in and select INBOX: the session, UIDVALIDITY and UIDNEXT."""
    imap = IMAP4(
        host=config.imap_host,
        port=config.imap_port,
        timeout=IMAP_TIMEOUT_S,
        conn_lost_cb=on_lost,
        ssl_context=ssl.create_default_context() if config.imap_tls else None,
    )
    try:
        await imap.wait_hello_from_server()
        response = await imap.login(config.username, config.password)
        if response.result != "OK":
            raise ImapError(f"login refused: {_words(response)}")
        response = await imap.select("INBOX")
        if response.result != "OK":
            raise ImapError(f"SELECT INBOX refused: {_words(response)}")
    except BaseException:
        await close(imap)
        raise
    text = b" ".join(bytes(line) for line in response.lines)
    validity = _UIDVALIDITY.search(text)
    uidnext = _UIDNEXT.search(text)
    return imap, int(validity.group(1)) if validity else 0, int(uidnext.group(1)) if uidnext else 1


async def close(imap: IMAP4) -> None:
    """Log out politely if the server is still there; close the socket in any case."""
    with contextlib.suppress(Exception):
        if imap.get_state() in ("AUTH", "SELECTED"):
            await asyncio.wait_for(imap.logout(), 2)
    transport = getattr(imap.protocol, "transport", None)
    if transport is not None:
        transport.close()
    for task in list(imap.tasks):
        task.cancel()


def _words(response: Response) -> str:
    return " ".join(
        bytes(line).decode(errors="replace") for line in response.lines if line
    ).strip()


class Receiver:
    """Receives one mailbox for one channel until cancelled."""

    def __init__(
        self, channel_id: str, config: EmailConfig, threads: Threads, sink: ChannelSink
    ) -> None:
        self._channel_id = channel_id
        self._config = config
        self._threads = threads
        self._sink = sink

    async def run(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            connected = asyncio.Event()
            try:
                await self._session(connected)
            except IMAP_FAILURES as exc:
                log.warning(
                    "imap session ended channel=%s host=%s reason=%s",
                    self._channel_id,
                    self._config.imap_host,
                    str(exc) or type(exc).__name__,
                )
            except Exception as exc:  # the hub failing to store (the mail is fetched again)
                log.warning(
                    "imap session failed channel=%s reason=%s: %s",
                    self._channel_id,
                    type(exc).__name__,
                    exc,
                )
            if connected.is_set():
                delay = RECONNECT_MIN_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _session(self, connected: asyncio.Event) -> None:
        lost = asyncio.Event()
        imap, uidvalidity, uidnext = await open_mailbox(self._config, lambda _: lost.set())
        try:
            connected.set()
            key = self._config.mailbox_key()
            state = await self._threads.mailbox(key)
            if state is None:
                await self._threads.start_mailbox(key, uidvalidity, uidnext - 1, None)
                last_uid = uidnext - 1
            elif state.uidvalidity != uidvalidity:
                # The mailbox was rebuilt: old UIDs mean nothing. Look at everything again;
                # Message-IDs keep mail we already have from being stored twice.
                log.warning(
                    "UIDVALIDITY changed channel=%s old=%s new=%s",
                    self._channel_id,
                    state.uidvalidity,
                    uidvalidity,
                )
                await self._threads.start_mailbox(key, uidvalidity, 0, None)
                last_uid = 0
            else:
                last_uid = state.last_uid
                if state.import_since is not None:
                    await self._import(imap, uidvalidity, state.import_since, last_uid)
            while True:
                last_uid = await self._fetch_new(imap, uidvalidity, last_uid)
                await self._idle(imap, lost)
        finally:
            await close(imap)

    async def _import(
        self, imap: IMAP4, uidvalidity: int, since: datetime, up_to_uid: int
    ) -> None:
        response = await imap.uid_search(f"SINCE {since.strftime('%d-%b-%Y')}")
        _check(response, "UID SEARCH SINCE")
        for uid in sorted(u for u in _uids(response) if u <= up_to_uid):
            await self._take(imap, uidvalidity, uid)
        await self._threads.imported()

    async def _fetch_new(self, imap: IMAP4, uidvalidity: int, last_uid: int) -> int:
        response = await imap.uid_search(f"UID {last_uid + 1}:*")
        _check(response, "UID SEARCH")
        # "n:*" always matches the newest mail, even when it is older than n.
        for uid in sorted(u for u in _uids(response) if u > last_uid)[:FETCH_BATCH]:
            await self._take(imap, uidvalidity, uid)
            await self._threads.advance(uidvalidity, uid)
            last_uid = uid
        return last_uid

    async def _take(self, imap: IMAP4, uidvalidity: int, uid: int) -> None:
        response = await imap.uid("fetch", str(uid), "(BODY.PEEK[])")
        _check(response, "UID FETCH")
        raw = next((bytes(x) for x in response.lines if isinstance(x, bytearray)), None)
        if raw is None:
            return  # expunged meanwhile
        await self.ingest(raw, fallback_id=f"<uid-{uidvalidity}-{uid}@{self._channel_id}>")
        if self._config.mark_seen:
            _check(await imap.uid("store", str(uid), "+FLAGS", r"(\Seen)"), "UID STORE")

    async def ingest(self, raw: bytes, *, fallback_id: str) -> None:
        """One mail from the mailbox: parsed (``parse``, pure), then ignored, skipped
        (unreadable) or handed to the hub. Only the hub failing to store it raises (it comes
        again)."""
        try:
            parsed = parse(self._channel_id, raw, self._config, fallback_id=fallback_id)
        except Exception as exc:  # parse is pure: whatever it raises, this mail is unreadable
            log.warning(
                "mail skipped channel=%s id=%s bytes=%s reason=%s",
                self._channel_id,
                fallback_id,
                len(raw),
                type(exc).__name__,
            )
            return
        await self.handle(parsed, raw)

    async def handle(self, parsed: Parsed, raw: bytes) -> None:
        """Hand one parsed mail (``raw``, its source) to the hub: a new one in its thread,
        its files and its source kept."""
        if not isinstance(parsed, NewMail):
            log.info(
                "mail ignored channel=%s from=%s reason=%s",
                self._channel_id,
                parsed.sender_address,
                parsed.reason,
            )
            return
        chat_id, rule = await self._threads.resolve(parsed.threading, self._config)
        # Recorded before the hub stores it: a crash in between re-threads it the same way.
        await self._threads.record_inbound(chat_id, parsed.threading)
        kept = [await keep_file(self._sink, "attachment", f.name, f.data) for f in parsed.media]
        original = await self._sink.save_original("message.eml", raw, "message/rfc822")
        inbound = with_files(parsed.inbound, kept)
        await self._sink.ingest(
            inbound.model_copy(update={"chat_id": chat_id, "original": original})
        )
        log.info("mail stored channel=%s chat=%s threaded_by=%s", self._channel_id, chat_id, rule)

    async def _idle(self, imap: IMAP4, lost: asyncio.Event) -> None:
        """Wait in IDLE until the server announces something, the renewal time passes, or
        the connection drops (raised)."""
        if not imap.has_capability("IDLE"):
            await _until_lost(lost, IDLE_RENEW_S)
            return
        idle = await imap.idle_start(timeout=IDLE_RENEW_S)
        try:
            push = asyncio.ensure_future(imap.wait_server_push(timeout=IDLE_RENEW_S))
            gone = asyncio.ensure_future(lost.wait())
            try:
                await asyncio.wait({push, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (push, gone):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                        await task
            if lost.is_set():
                raise ImapError("connection lost")
        finally:
            if imap.has_pending_idle() and not lost.is_set():
                imap.idle_done()
                await asyncio.wait_for(idle, IMAP_TIMEOUT_S)
            else:
                idle.cancel()


async def _until_lost(lost: asyncio.Event, timeout_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(lost.wait(), timeout_s)
    if lost.is_set():
        raise ImapError("connection lost")


def _check(response: Response, what: str) -> None:
    if response.result != "OK":
        raise ImapError(f"{what} refused: {_words(response)}")


def _uids(response: Response) -> list[int]:
    found: list[int] = []
    for line in response.lines:
        text = bytes(line).decode(errors="replace")
        if text.upper().startswith("SEARCH"):
            text = text[6:]
        if text and all(part.isdigit() for part in text.split()):
            found.extend(int(part) for part in text.split())
    return found
