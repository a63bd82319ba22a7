"""One case provider per channel kind: how the contract suite talks to each platform.

The contract (``test_contract.py``) states what every channel does the same way; a provider
says how, for its kind: how a client's message reaches the hub (webhook POST, socket emit,
mail filed into the IMAP mailbox), what the platform was asked to deliver (the local fakes of
the Bot API and the VK API, the webhook receiver, the SMTP server, the visitor's socket), and
how to make the platform refuse once for a rate limit. A platform behaviour a kind does not
have is declared absent, with the reason, in ``not_applicable``: the suite records it instead
of passing it by skipping. A new channel passes the contract by adding a provider here and its
payloads under ``tests/fixtures/<kind>/``.
"""

from __future__ import annotations

import enum
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar, Protocol

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.api import ApiMessage
from channels.api import parse as parse_api
from channels.telegram.parse import parse as parse_telegram
from channels.vk.client import RATE_LIMIT_PAUSE_S
from channels.vk.parse import parse as parse_vk
from hub.channels import Allow, Deny, Edit, Ignore, NewMessage, Rating
from hub.settings import Settings
from tests.channels.email.mailserver import Dovecot, Smtp
from tests.channels.email.test_email_flow import client_mail
from tests.channels.email.test_parse import parsed as parse_email_fixture
from tests.channels.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.channels.telegram.conftest import connect_bot, post_update, text_update
from tests.channels.vk.conftest import GROUP_ID, USER_ID, connect_community, post_event, text_event
from tests.channels.vk.conftest import TOKEN as VK_TOKEN
from tests.fakes.telegram import FakeBotApi
from tests.fakes.vk import FakeVkApi
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.api_channel import post_api_message
from tests.support.clients import Api, SocketClient, visitor_socket
from tests.support.platform import all_conversations
from widget.namespace import SendIn

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# The name under which a case records a behaviour its kind's platform lacks (with the reason).
NOT_APPLICABLE = "not_applicable"


class Behaviour(enum.StrEnum):
    """Platform behaviours a case needs; a provider without one says why in
    ``not_applicable``."""

    RATE_LIMIT = "rate_limit"
    REJECTS_BAD_PAYLOAD = "rejects_bad_payload"


@dataclass(frozen=True)
class ParseCase:
    """One payload of ``tests/fixtures/<kind>/`` and what its pure parse must yield: a value
    of type ``yields`` (for every platform adapter, a word of ``hub.channels``' shared
    vocabulary; for the widget, the hub's own socket, its event model) whose dotted attribute
    paths hold the ``expected`` values."""

    fixture: str
    yields: type
    expected: Mapping[str, Any]


@dataclass(frozen=True)
class Rejection:
    """How the hub answered a bad payload: ``status`` is the HTTP status (for a socket, the
    4xx its ack's error stands for); ``code`` the error code, when it gave one."""

    status: int
    code: str | None


class Provider(Protocol):
    """What the contract asks of one channel kind."""

    kind: ClassVar[str]
    parse_cases: ClassVar[tuple[ParseCase, ...]]
    not_applicable: ClassVar[Mapping[Behaviour, str]]

    @staticmethod
    def parse(raw: bytes) -> Any:
        """The kind's pure parse of one platform payload."""

    async def open(self) -> None:
        """Create a line without operators and this kind's channel on it."""

    @property
    def channel_id(self) -> str: ...

    @property
    def supervisor(self) -> Api:
        """A supervisor of the provider's line."""

    async def client_says(self, text: str, delivery: str) -> None:
        """One client message, as the platform delivers it; ``delivery`` identifies the
        delivery (the same ``delivery`` again is the platform delivering it twice)."""

    async def send_bad(self) -> Rejection:
        """A payload that is not the platform's; the hub's answer."""

    def rate_limit_next(self, text: str) -> float:
        """The platform refuses the next delivery of ``text`` for a rate limit; the delay (s)
        the hub must wait before trying again."""

    def attempts(self, text: str) -> list[float]:
        """``time.monotonic()`` of every attempt to deliver ``text`` to the platform."""

    def received(self) -> list[str]:
        """Every text the hub asked the platform to deliver (failed attempts included)."""

    async def close(self) -> None: ...


class BaseProvider:
    """What the providers share: the admin's client and the line they open."""

    kind: ClassVar[str]
    parse_cases: ClassVar[tuple[ParseCase, ...]] = ()
    not_applicable: ClassVar[Mapping[Behaviour, str]] = {}

    def __init__(self, admin: Api, base_url: str, settings: Settings) -> None:
        self.admin = admin
        self.base_url = base_url
        self.settings = settings
        self.channel: dict[str, Any] = {}
        self.supervisor: Api = admin

    @property
    def channel_id(self) -> str:
        return str(self.channel["id"])

    async def _line(self) -> str:
        """A line with no operators (the admin accepts) and a supervisor (who whispers)."""
        self.supervisor = await self.admin.create_user("supervisor")
        assert self.supervisor.user is not None
        line = await self.admin.create_line(operators=[], supervisors=[self.supervisor.user["id"]])
        return str(line["id"])

    async def close(self) -> None:
        return None


# --- api ------------------------------------------------------------------------------------


class _TimedReceiver(WebhookReceiver):
    """The webhook receiver, with the time of each call and a ``Retry-After`` on a 429."""

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.limited: dict[str, int] = {}  # text -> Retry-After of its next attempt
        self.at: dict[str, list[float]] = {}

    def _answer(self, text: str, attempt: int) -> int:
        return 429 if text in self.limited else 200

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.at.setdefault(body["text"], []).append(time.monotonic())
        retry_after = self.limited.get(body["text"])
        response = await super()._handle(request)
        if retry_after is not None:
            del self.limited[body["text"]]
            response.headers["Retry-After"] = str(retry_after)
        return response


class ApiProvider(BaseProvider):
    kind = "api"
    parse_cases: ClassVar[tuple[ParseCase, ...]] = (
        ParseCase(
            "text.json",
            NewMessage,
            {
                "inbound.chat_id": "ticket-42",
                "inbound.external_id": "crm-msg-1001",
                "inbound.text": "Hello, I need help with my order",
                "inbound.sender.external_id": "user-7",
                "inbound.sender.name": "Anna Petrova",
                "inbound.sent_at.year": 2026,
                "media": [],
            },
        ),
    )

    @staticmethod
    def parse(raw: bytes) -> Any:
        return parse_api("ch1", ApiMessage.model_validate_json(raw))

    async def open(self) -> None:
        self.receiver = _TimedReceiver()
        await self.receiver.start()
        self.channel = await self.admin.create_channel(
            await self._line(), "api", {"webhook_url": self.receiver.url}
        )

    async def client_says(self, text: str, delivery: str) -> None:
        message = {"message_id": delivery, "chat_id": "c1", "sender": {"id": "u1"}, "text": text}
        status, body = await post_api_message(self.admin, self.channel, message)
        assert status == 200, body

    async def send_bad(self) -> Rejection:
        status, body = await post_api_message(self.admin, self.channel, {"chat_id": "c1"})
        return Rejection(status, (body or {}).get("error", {}).get("code"))

    def rate_limit_next(self, text: str) -> float:
        self.receiver.limited[text] = 1  # Retry-After is whole seconds (RFC 9110)
        return 1.0

    def attempts(self, text: str) -> list[float]:
        return list(self.receiver.at.get(text, []))

    def received(self) -> list[str]:
        return [call["body"]["text"] for calls in self.receiver.calls.values() for call in calls]

    async def close(self) -> None:
        await self.receiver.close()


# --- telegram -------------------------------------------------------------------------------


class TelegramProvider(BaseProvider):
    kind = "telegram"
    parse_cases: ClassVar[tuple[ParseCase, ...]] = (
        ParseCase(
            "text.json",
            NewMessage,
            {
                "inbound.chat_id": "111222333",
                "inbound.external_id": "111222333:1",
                "inbound.text": "Hello, I need help with my order",
                "inbound.sender.name": "Anna Petrova",
                "inbound.sender.username": "anna_p",
            },
        ),
        ParseCase("start_payload.json", NewMessage, {"inbound.source": "promo_spring"}),
        ParseCase("photo.json", NewMessage, {"inbound.chat_id": "111222333"}),
        ParseCase(
            "edited_message.json",
            Edit,
            {"external_id": "111222333:1", "text": "Hello, I need help with order #42"},
        ),
        ParseCase("callback_csat.json", Rating, {"chat_id": "111222333", "rating": 4}),
        ParseCase("group_message.json", Ignore, {"chat_id": "-1001234567890"}),
    )

    @staticmethod
    def parse(raw: bytes) -> Any:
        return parse_telegram("ch1", json.loads(raw))

    async def open(self) -> None:
        self.fake = await FakeBotApi().start()
        self.fake.add_bot(TELEGRAM_TOKEN)
        self._ids: dict[str, int] = {}
        self.channel = await connect_bot(self.admin, self.fake, await self._line())

    async def client_says(self, text: str, delivery: str) -> None:
        number = self._ids.setdefault(delivery, len(self._ids) + 1)
        status = await post_update(self.admin, self.channel, text_update(text, number))
        assert status == 200, status

    async def send_bad(self) -> Rejection:
        hook = f"{self.base_url}/hooks/telegram/{self.channel_id}"
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.channel["webhook_secret"]}
        async with self.admin._session.post(hook, data=b"not json", headers=headers) as response:
            body = await response.json()
            return Rejection(response.status, body.get("error", {}).get("code"))

    def rate_limit_next(self, text: str) -> float:
        # Longer than the adapter's own pacing of a chat (one message a second), so that only
        # honouring ``retry_after`` makes the second attempt wait this long.
        self.fake.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, text=text
        )
        return 2.0

    def attempts(self, text: str) -> list[float]:
        return [c.at for c in self.fake.calls_of("sendMessage") if c.params.get("text") == text]

    def received(self) -> list[str]:
        return [
            str(value)
            for call in self.fake.calls
            for key, value in call.params.items()
            if key in ("text", "caption")
        ]

    async def close(self) -> None:
        await self.fake.close()


# --- vk -------------------------------------------------------------------------------------


class VkProvider(BaseProvider):
    kind = "vk"
    parse_cases: ClassVar[tuple[ParseCase, ...]] = (
        ParseCase(
            "text.json",
            NewMessage,
            {
                "inbound.chat_id": str(USER_ID),
                "inbound.text": "Здравствуйте, где мой заказ?",
                "inbound.sender.external_id": str(USER_ID),
            },
        ),
        ParseCase("photo.json", NewMessage, {"inbound.chat_id": str(USER_ID)}),
        ParseCase(
            "message_edit.json",
            Edit,
            {"external_id": f"{USER_ID}:1", "text": "Здравствуйте, где мой заказ №42?"},
        ),
        ParseCase("message_event_csat.json", Rating, {"chat_id": str(USER_ID), "rating": 5}),
        ParseCase("message_deny.json", Deny, {"chat_id": str(USER_ID)}),
        ParseCase("message_allow.json", Allow, {"chat_id": str(USER_ID)}),
        ParseCase("group_chat.json", Ignore, {"chat_id": None}),
    )

    @staticmethod
    def parse(raw: bytes) -> Any:
        return parse_vk("ch1", json.loads(raw))

    async def open(self) -> None:
        self.fake = await FakeVkApi().start()
        self.fake.add_community(VK_TOKEN, GROUP_ID)
        self.fake.add_user(USER_ID, "Анна", "Петрова")
        self._ids: dict[str, int] = {}
        self.channel = await connect_community(self.admin, self.fake, await self._line())

    async def client_says(self, text: str, delivery: str) -> None:
        number = self._ids.setdefault(delivery, len(self._ids) + 1)
        status, body = await post_event(self.admin, self.channel, text_event(text, number))
        assert status == 200 and body == "ok", (status, body)

    async def send_bad(self) -> Rejection:
        hook = f"{self.base_url}/hooks/vk/{self.channel_id}"
        async with self.admin._session.post(hook, data=b"not json") as response:
            body = await response.json()
            return Rejection(response.status, body.get("error", {}).get("code"))

    def rate_limit_next(self, text: str) -> float:
        self.fake.fail_next("messages.send", 6, "Too many requests per second", text=text)
        return RATE_LIMIT_PAUSE_S

    def attempts(self, text: str) -> list[float]:
        return [c.at for c in self.fake.calls_of("messages.send") if c.params["message"] == text]

    def received(self) -> list[str]:
        return [str(c.params["message"]) for c in self.fake.calls if "message" in c.params]

    async def close(self) -> None:
        await self.fake.close()


# --- widget ---------------------------------------------------------------------------------


class WidgetProvider(BaseProvider):
    kind = "widget"
    parse_cases: ClassVar[tuple[ParseCase, ...]] = (
        ParseCase(
            "text.json",
            SendIn,
            {"text": "  Hello, I need help with my order  ", "client_msg_id": "b5c0e1f2-tab-1"},
        ),
    )
    not_applicable: ClassVar[Mapping[Behaviour, str]] = {
        Behaviour.RATE_LIMIT: "the widget is the hub's own socket: no platform limits the "
        "hub's replies (visitors' own sends are limited, tests/widget cover that)",
    }

    @staticmethod
    def parse(raw: bytes) -> Any:
        return SendIn.model_validate_json(raw)

    async def open(self) -> None:
        self.channel = await self.admin.create_channel(
            await self._line(), "widget", {"title": "Help"}
        )
        self.visitor: SocketClient = await visitor_socket(self.base_url, self.channel["key"])

    async def client_says(self, text: str, delivery: str) -> None:
        ack = await self.visitor.call("message:send", {"text": text, "client_msg_id": delivery})
        assert ack["ok"], ack

    async def send_bad(self) -> Rejection:
        ack = await self.visitor.call("message:send", {"text": 5, "unknown": True})
        assert not ack["ok"], ack
        # A socket has no status line: a refused ack is the 4xx of a request.
        return Rejection(400, ack["error"]["code"])

    def rate_limit_next(self, text: str) -> float:
        raise NotImplementedError(self.not_applicable[Behaviour.RATE_LIMIT])

    def attempts(self, text: str) -> list[float]:
        raise NotImplementedError(self.not_applicable[Behaviour.RATE_LIMIT])

    def received(self) -> list[str]:
        return [
            event["message"]["text"]
            for event in self.visitor.events.all("message:new")
            if event["message"]["author"]["type"] != "visitor"
        ]

    async def close(self) -> None:
        await self.visitor.close()


# --- email ----------------------------------------------------------------------------------


class _LimitedDeliver:
    """The SMTP fake's handler, answering ``421`` once to a mail whose body holds a text."""

    def __init__(self, smtp: Smtp) -> None:
        self._inner = smtp.handler
        self.limited: set[str] = set()
        self.at: dict[str, list[float]] = {}
        self.texts: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        text = _mail_text(envelope.original_content or b"")
        self.texts.append(text)
        self.at.setdefault(text, []).append(time.monotonic())
        if text in self.limited:
            self.limited.discard(text)
            return "421 4.7.0 Too many messages, try again later"
        answer: str = await self._inner.handle_DATA(server, session, envelope)
        return answer


def _mail_text(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    return body.get_content().strip().split("\n")[0] if body is not None else ""


class EmailProvider(BaseProvider):
    kind = "email"
    parse_cases: ClassVar[tuple[ParseCase, ...]] = (
        ParseCase(
            "html_only.eml",
            NewMessage,
            {"threading.subject": "Grüße", "inbound.channel_id": "ch1"},
        ),
        ParseCase(
            "gmail_reply.eml",
            NewMessage,
            {
                "inbound.text": "Yes, the blue one please.\n\nThanks,\nGus",
                "inbound.sender.external_id": "gus@gmail.test",
                "inbound.sender.name": "Gus Gmail",
                "inbound.external_id": "<CAgmail123@mail.gmail.com>",
                "threading.in_reply_to": ["<ours-1@example.com>"],
            },
        ),
    )
    not_applicable: ClassVar[Mapping[Behaviour, str]] = {
        Behaviour.REJECTS_BAD_PAYLOAD: "mail is fetched over IMAP: there is no request the "
        "hub could answer with a 4xx (unparsable and robot mail is ignored, "
        "tests/channels/email cover that)",
    }

    def __init__(
        self, admin: Api, base_url: str, settings: Settings, dovecot: Dovecot, smtp: Smtp
    ) -> None:
        super().__init__(admin, base_url, settings)
        self.dovecot = dovecot
        self.smtp = smtp
        self._mails: dict[str, bytes] = {}
        # One subject: the client's mails thread into one conversation, as a chat's do.
        self._subject = f"Contract {uuid.uuid4().hex[:8]}"

    @staticmethod
    def parse(raw: bytes) -> Any:
        return parse_email_fixture(raw)

    async def open(self) -> None:
        self.deliver = _LimitedDeliver(self.smtp)
        self.smtp.handler = self.deliver  # type: ignore[assignment]
        self.channel = await self.admin.create_channel(
            await self._line(), "email", self.dovecot.config(smtp_port=self.smtp.port)
        )

    async def client_says(self, text: str, delivery: str) -> None:
        if delivery not in self._mails:
            self._mails[delivery], _ = client_mail(text, subject=self._subject)
        self.dovecot.deliver("support", self._mails[delivery])

    async def send_bad(self) -> Rejection:
        raise NotImplementedError(self.not_applicable[Behaviour.REJECTS_BAD_PAYLOAD])

    def rate_limit_next(self, text: str) -> float:
        """SMTP's 421 names no delay: the hub waits its own first back-off step."""
        self.deliver.limited.add(text)
        return self.settings.outbox_retry_base_s

    def attempts(self, text: str) -> list[float]:
        return list(self.deliver.at.get(text, []))

    def received(self) -> list[str]:
        return list(self.deliver.texts)


PROVIDERS: tuple[type[BaseProvider], ...] = (
    WidgetProvider,
    ApiProvider,
    TelegramProvider,
    VkProvider,
    EmailProvider,
)


async def conversations_of(provider: Provider, admin: Api) -> list[dict[str, Any]]:
    """The conversations of the provider's channel."""
    return [c for c in await all_conversations(admin) if c["channel"]["id"] == provider.channel_id]
