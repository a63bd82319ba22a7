"""Real mail servers for the e-mail channel's tests: Dovecot (IMAP) with a throw-away config
and Maildirs, and an in-process aiosmtpd server that delivers into those Maildirs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
import warnings
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

MAIL_UID = 65534
PASSWORD = "secret"
USERS = ("support", "client", "other")
DOMAINS = {"support": "example.com", "client": "example.org", "other": "example.net"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dovecot:
    """One Dovecot instance under ``root`` on a free port; ``stop``/``start`` simulate the
    server going away and coming back (same port, same mail)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.mail = root / "mail"
        self.conf = root / "dovecot" / "dovecot.conf"
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        etc = self.conf.parent
        for sub in ("run", "state"):
            (etc / sub).mkdir(parents=True, exist_ok=True)
        (etc / "passwd").write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}\n" for user in USERS))
        for user in USERS:
            for sub in ("tmp", "new", "cur"):
                (self.mail / user / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        _chown_tree(self.mail)
        self.conf.write_text(
            f"""base_dir = {etc}/run
state_dir = {etc}/state
instance_name = openlines-test-{uuid.uuid4().hex[:8]}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {etc}/dovecot.log
info_log_path = {etc}/dovecot.log
mail_location = maildir:{self.mail}/%u/Maildir
mail_uid = {MAIL_UID}
mail_gid = {MAIL_UID}
first_valid_uid = 1
first_valid_gid = 1
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {etc}/passwd
}}
userdb {{
  driver = static
  args = home={self.mail}/%u
}}
# Wrong logins are refused at once: tests try several, and Dovecot waited 2 s before each
# refusal and, through its brute-force penalty, before every later login from 127.0.0.1
# (4, 8, up to 15 s).
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        )

    def start(self) -> Dovecot:
        self._process = subprocess.Popen(
            ["dovecot", "-c", str(self.conf), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return self
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.conf.parent / "dovecot.log"
                raise RuntimeError(
                    f"dovecot did not start: {log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None
        # Its imap children may linger a moment; the port must be free to start again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def deliver(self, user: str, raw: bytes) -> Path:
        """Drop one mail into ``user``'s Maildir as an MDA does: tmp/, then rename to new/."""
        maildir = self.mail / user / "Maildir"
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.openlines-test"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(tmp, MAIL_UID, MAIL_UID)
        target = maildir / "new" / name
        tmp.rename(target)
        return target

    def mailbox(self, user: str) -> list[EmailMessage]:
        """Every mail in ``user``'s Maildir, oldest first."""
        found = []
        for sub in ("new", "cur"):
            found.extend((self.mail / user / "Maildir" / sub).iterdir())
        messages = []
        for path in sorted(found, key=lambda p: p.name):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            messages.append(message)
        return messages

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The channel config of the support mailbox on these servers."""
        return {
            "imap_host": "127.0.0.1",
            "imap_port": self.port,
            "imap_tls": False,
            "smtp_host": "127.0.0.1",
            "smtp_port": 0,
            "smtp_tls": False,
            "username": "support",
            "password": PASSWORD,
            "address": "support@example.com",
            **overrides,
        }


def _chown_tree(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, MAIL_UID, MAIL_UID)


class _Deliver:
    """aiosmtpd handler: a tiny MDA that files each recipient's copy into their Maildir."""

    def __init__(self, dovecot: Dovecot) -> None:
        self._dovecot = dovecot
        self.received: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        content = envelope.original_content or b""
        for recipient in envelope.rcpt_tos:
            user = recipient.split("@")[0].split("+")[0].lower()
            if user in USERS:
                self._dovecot.deliver(user, content)
        return "250 Message accepted for delivery"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() in USERS
        and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok)


class Smtp:
    """An aiosmtpd server on the running loop (AUTH required, no TLS)."""

    def __init__(self, dovecot: Dovecot) -> None:
        self.handler = _Deliver(dovecot)
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Smtp:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():
            # "AUTH without TLS" is the point here: a local test server.
            warnings.simplefilter("ignore")
            return SMTP(
                self.handler,
                hostname="mail.test",
                authenticator=_authenticate,
                auth_required=True,
                auth_require_tls=False,
            )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def have_dovecot() -> bool:
    return shutil.which("dovecot") is not None
