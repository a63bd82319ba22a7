"""The e-mail channel's one map from what the IMAP and SMTP libraries raise to the hub's error
tree: a refusal (``NO``/``BAD``, an SMTP 5xx) is ``ChannelRejected``, everything else (the
server unreachable, timing out, answering something that is not IMAP or SMTP) ``ChannelError``.
Connecting, receiving and sending all use it."""

from __future__ import annotations

import asyncio

import aiosmtplib
from aioimaplib import AioImapException

from hub.errors import ChannelError, ChannelRejected


class ImapError(Exception):
    """The IMAP server said NO or BAD, or went away."""


# What talking IMAP (aioimaplib) or SMTP (aiosmtplib) may raise when the server fails.
IMAP_FAILURES = (ImapError, AioImapException, OSError, TimeoutError, asyncio.IncompleteReadError)
SMTP_FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)


def _words(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def imap_error(server: str, exc: BaseException) -> ChannelError:
    """``server`` names it for people: ``IMAP server host:port``."""
    if isinstance(exc, ImapError):
        return ChannelRejected(f"{server}: {exc}")
    return ChannelError(f"{server} unreachable: {_words(exc)}")


def smtp_error(server: str, exc: BaseException) -> ChannelError:
    """``server`` names it for people: ``SMTP server host:port``."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return ChannelRejected(f"{server}: address refused: {exc}", unreachable=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return ChannelRejected(f"{server} refused: {exc.code} {exc.message}")
        # 4xx (try later), or -1: an answer that is not SMTP
        return ChannelError(f"{server} failed: {exc.code} {exc.message}")
    return ChannelError(f"{server} unreachable: {_words(exc)}")
