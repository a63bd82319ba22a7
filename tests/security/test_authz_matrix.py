"""The authorization matrix as tests: one per cell of ``tests/security/authz_table.py``, all
against one world built once for the module (two lines and their staff, conversations in every
state, CRM records linked to each line and to none, files, a widget visitor). Refused cells
also check that nothing changed; allowed cells that change their record get a fresh copy of
it. Besides: every route and event of the app has a row, and docs/api.md shows the table."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer
from pymongo import MongoClient

from hub.app import SETTINGS, SIO, create_app
from hub.auth import VisitorTokens
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.security.authz_table import (
    BOT_NODES,
    FORM_FIELDS,
    KNOWN_FAILING,
    NOT_API_ROUTES,
    NOT_CLIENT_EVENTS,
    ROWS,
    SEE,
    SEEN_AS,
    SOCKET_ROLES,
    Check,
    Effect,
    Emit,
    Kind,
    Outcome,
    Rest,
    Role,
    Row,
    Subject,
    cells,
    markdown,
)
from tests.support.api_channel import post_api_message, signed_headers
from tests.support.clients import Api, SocketClient, new_msg_id, operator_socket, visitor_socket
from tests.support.waiting import eventually

# The tests that use the world run on its event loop.
in_world = pytest.mark.asyncio(loop_scope="module")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PASSWORD = "correct horse battery"  # what Api.create_user gives every user
# What authenticated the api channel's hook before requests were signed; no longer enough.
PLAIN_SECRET_HEADER = "X-OpenLines-Secret"
FILE_TEXT = "matrix file {}\n"
WHISPER_TEXT = "matrix whisper, staff only"
LINE_SETTINGS: dict[str, Any] = {
    # Nobody's capacity runs out however many conversations the cells hand out.
    "max_active_per_operator": 0,
    # Nothing writes into a conversation behind a cell's back (while it compares before and
    # after, or while it posts: concurrent posts to one conversation can collide on a seq).
    "no_answer_after_s": None,
    "messages": {"queued": None},
    "crm": {"create_lead": False},
}
# Limits of other suites' concern, wide open: the cells make many calls from one address.
GENEROUS_LIMITS: dict[str, Any] = {
    "widget_rate_messages": 10_000,
    "widget_rate_ip_messages": 10_000,
    "widget_rate_events": 10_000,
    "widget_sockets_per_ip": 10_000,
    "widget_connects_per_ip": 100_000,
    "upload_rate_files": 10_000,
}
# Ack error codes of refusals by a record's state (409 in REST).
CONFLICTS = (
    "conflict",
    "already_taken",
    "offered_to_other",
    "conversation_closed",
    "not_assigned",
    "assignee_leaving",
    "already_joined",
    "already_assigned",
    "cannot_invite",
    "same_line",
    "stale_state",
    "line_gone",
    "capacity_reached",
    "csat_not_awaited",
    "no_transfer",
    "line_archived",
)
# A socket ack's error code -> the HTTP statuses it stands for ("not_a_participant" is both a
# refusal to write, 403, and "nothing to leave", 409).
ACK_STATUS: dict[str, frozenset[int]] = {
    "unauthenticated": frozenset({401}),
    "invalid_token": frozenset({401}),
    "session_gone": frozenset({401}),
    "forbidden": frozenset({403}),
    "not_a_participant": frozenset({403, 409}),
    "not_found": frozenset({404}),
    **dict.fromkeys(CONFLICTS, frozenset({409})),
}

Fields = dict[str, Any]


def unique() -> str:
    return uuid.uuid4().hex[:10]


def identity_auth(identity_secret: str, identity: str) -> dict[str, str]:
    """What a site's backend hands its widget for a signed-in person (identity verification):
    the identity and its hex HMAC-SHA256 by the widget channel's ``identity_secret``."""
    digest = hmac.new(identity_secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return {"identity": identity, "identity_hash": digest}


class LineName(StrEnum):
    A = "a"
    B = "b"


class Staffer(StrEnum):
    """Who takes a conversation: the operator (the OPERATOR role), a colleague in line A, or
    line B's operator."""

    OPERATOR = "operator"
    COLLEAGUE = "colleague"
    OPERATOR_B = "operator B"


@dataclass(frozen=True)
class Spec:
    """How a conversation subject is made: its line, who took it, closed, linked to a contact."""

    line: LineName
    assignee: Staffer | None = None
    closed: bool = False
    linked: bool = False


A, B = LineName.A, LineName.B
SPECS: dict[Subject, Spec] = {
    Subject.MINE: Spec(A, Staffer.OPERATOR, linked=True),
    Subject.QUEUE: Spec(A),
    Subject.COLLEAGUE: Spec(A, Staffer.COLLEAGUE, linked=True),
    Subject.CLOSED: Spec(A, Staffer.OPERATOR, closed=True),
    Subject.B_ACTIVE: Spec(B, Staffer.OPERATOR_B, linked=True),
    Subject.B_QUEUE: Spec(B),
    Subject.JOINED: Spec(A, Staffer.COLLEAGUE),
    Subject.SHARED_A: Spec(A, Staffer.OPERATOR, linked=True),
    Subject.SHARED_B: Spec(B, Staffer.OPERATOR_B, linked=True),
    Subject.QUEUE_LINKED: Spec(A, linked=True),
}
# The conversation subjects each CRM record is linked to.
CONTACT_CONVERSATIONS: dict[Subject, list[Subject]] = {
    Subject.CONTACT_A: [Subject.MINE],
    Subject.CONTACT_LINE: [Subject.COLLEAGUE],
    Subject.CONTACT_B: [Subject.B_ACTIVE],
    Subject.CONTACT_NONE: [],
    Subject.CONTACT_SHARED: [Subject.SHARED_A, Subject.SHARED_B],
    Subject.CONTACT_QUEUE: [Subject.QUEUE_LINKED],
}


@dataclass
class Side:
    """One line of the world with its API channel (through which its unlinked clients write)
    and its widget (through which the signed-in people of linked conversations write)."""

    line: dict[str, Any]
    channel: dict[str, Any]
    widget: dict[str, Any]


@dataclass
class World:
    """Everything the cells act on and act as: the hub, its staff (signed in), both lines,
    the widget visitor, and each subject's fields (what its paths and bodies are filled with)."""

    app: web.Application
    base_url: str
    anon: Api
    staff: dict[Role, Api]
    colleague: Api
    operator_b: Api
    a: Side
    b: Side
    # The visitor of *mine* (connected in build_world, signed in as contact A's e-mail).
    visitor: SocketClient = field(default_factory=lambda: SocketClient("/widget"))
    visitor_token: str = ""
    visitor_id: str = ""
    subjects: dict[Subject, Fields] = field(default_factory=dict)
    per_role: dict[tuple[Subject, Role], Fields] = field(default_factory=dict)
    # conversation id -> the subject whose SEE cells say who may see it
    seen_as: dict[str, Subject] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    sockets: dict[Role, SocketClient] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file id -> its text

    @property
    def admin(self) -> Api:
        return self.staff[Role.ADMIN]

    def api(self, role: Role) -> Api:
        if role in self.staff:
            return self.staff[role]
        return self.anon

    def user_id(self, api: Api) -> str:
        assert api.user is not None
        return str(api.user["id"])

    def side(self, name: LineName) -> Side:
        return self.a if name is LineName.A else self.b

    def assignee(self, who: Staffer) -> Api:
        return {
            Staffer.OPERATOR: self.staff[Role.OPERATOR],
            Staffer.COLLEAGUE: self.colleague,
            Staffer.OPERATOR_B: self.operator_b,
        }[who]

    def csat_token(self, conversation_id: str) -> str:
        """The signed rating link's token, as the hub puts it into e-mails."""
        key = self.app[SETTINGS].resolved_secret_key()
        return VisitorTokens(key).issue("csat", conversation_id)

    async def socket(self, role: Role) -> SocketClient:
        if role not in self.sockets:
            token = self.staff[role].token or ""
            self.sockets[role] = await operator_socket(self.base_url, token, online=False)
        return self.sockets[role]

    def visible(self, role: Role, conversation_id: str) -> bool:
        """Whether ``role`` may see the conversation, by the table's SEE rule."""
        subject = self.seen_as.get(conversation_id)
        if subject is None:
            return False
        cell = SEE.get((role, SEEN_AS.get(subject, subject)))
        return cell is not None and cell.allowed

    # --- making records --------------------------------------------------------------------

    async def contact(self, label: str, *, email: bool = True) -> Fields:
        name = f"matrix-{label}-{unique()}"
        body: dict[str, Any] = {"name": name}
        if email:
            body["emails"] = [f"{name}@example.com"]
        contact = await self.admin.post("/api/v1/crm/contacts", body, expect=201)
        return {
            "id": contact["id"],
            "entity": "contacts",
            "record_id": contact["id"],
            "name": name,
            "email": body.get("emails", [None])[0],
            "conversations": [],
        }

    def signed_in(self, side: Side, identity: str) -> dict[str, str]:
        """The connect auth of a person the site vouches for on ``side``'s widget."""
        return {
            "key": side.widget["key"],
            **identity_auth(side.widget["identity_secret"], identity),
        }

    async def conversation(
        self, subject: Subject, *, linked: bool | None = None, contact: Fields | None = None
    ) -> Fields:
        """A client writes on the subject's line and the conversation is brought into the
        subject's state. A linked one (``linked``: to a new contact; or to ``contact``) is
        written by a widget visitor the site verified as the contact's e-mail, which the CRM
        links by that proven address; the others by a client of the line's API channel."""
        spec = SPECS[subject]
        side = self.side(spec.line)
        other = self.b if side is self.a else self.a
        own_contact = None
        if contact is None and (spec.linked if linked is None else linked):
            contact = own_contact = await self.contact(f"{subject.name.lower()}-contact")
        name = f"matrix-{subject.name.lower()}-{unique()}"
        if contact is None:
            conversation = await self.from_platform(side, name)
        else:
            conversation = await self.from_signed_in_visitor(side, name, contact)
        conversation_id = conversation["id"]
        if spec.assignee:
            assignee = self.assignee(spec.assignee)
            await assignee.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
            if spec.closed:
                await assignee.post(f"/api/v1/conversations/{conversation_id}/close", expect=200)
        self.seen_as[conversation_id] = subject
        fields = self._conversation_fields(
            conversation_id, conversation["client"]["id"], name, side, other
        )
        if own_contact is not None:
            own_contact["conversations"] = [conversation_id]
            fields["contact"] = own_contact
        return fields

    async def from_platform(self, side: Side, name: str) -> Fields:
        """A new client of ``side``'s API channel writes (a signed request): the conversation."""
        message = {
            "message_id": unique(),
            "chat_id": unique(),
            "sender": {"id": unique(), "name": name},
            "text": "hello",
        }
        status, body = await post_api_message(self.anon, side.channel, message)
        assert status == 200, body
        listing = await eventually(
            lambda: self.admin.get(f"/api/v1/conversations?q={name}"),
            lambda found: len(found["conversations"]) == 1,
        )
        conversation: Fields = listing["conversations"][0]
        return conversation

    async def from_signed_in_visitor(self, side: Side, name: str, contact: Fields) -> Fields:
        """The person of ``contact`` writes on ``side``'s widget, signed in on the site with
        the contact's e-mail: the conversation, once the CRM has linked it to the contact."""
        visitor = await SocketClient("/widget").connect(
            self.base_url, self.signed_in(side, contact["email"])
        )
        try:
            await visitor.events.wait("session")
            ack = await visitor.call("prechat", {"name": name})
            assert ack["ok"], ack
            ack = await visitor.call(
                "message:send", {"text": "hello", "client_msg_id": new_msg_id()}
            )
            assert ack["ok"], ack
        finally:
            await visitor.close()
        return await self.linked(ack["message"]["conversation_id"], contact)

    async def linked(self, conversation_id: str, contact: Fields) -> Fields:
        """The conversation once the CRM has linked it to ``contact`` (it does so on an event)."""
        conversation: Fields = await eventually(
            lambda: self.admin.get(f"/api/v1/conversations/{conversation_id}"),
            lambda c: c["crm"]["contact_id"] == contact["id"],
        )
        return conversation

    def _conversation_fields(
        self, conversation_id: str, client_id: str, name: str, side: Side, other: Side
    ) -> Fields:
        other_operator = self.operator_b if side is self.a else self.staff[Role.OPERATOR]
        return {
            "id": conversation_id,
            "conversation_id": conversation_id,
            "client_id": client_id,
            "client_name": name,
            "line_id": side.line["id"],
            "other_line_id": other.line["id"],
            "other_operator_id": self.user_id(other_operator),
        }

    async def take_part(self, conversation_id: str, role: Role) -> None:
        """``role`` takes part in the conversation: joins hidden, or is invited by the admin."""
        if role in (Role.SUPERVISOR, Role.ADMIN):
            await self.staff[role].post(
                f"/api/v1/conversations/{conversation_id}/join", {"hidden": True}, expect=200
            )
        else:
            await self.admin.post(
                f"/api/v1/conversations/{conversation_id}/invite",
                {"user_id": self.user_id(self.staff[role])},
                expect=200,
            )

    async def crm_record(self, subject: Subject) -> Fields:
        """A contact linked as the subject says (new conversations of its own), or a lead."""
        if subject is Subject.LEAD_NONE:
            title = f"matrix-lead-{unique()}"
            lead = await self.admin.post("/api/v1/crm/leads", {"title": title}, expect=201)
            return {"id": lead["id"], "entity": "leads", "record_id": lead["id"], "name": title}
        linked = CONTACT_CONVERSATIONS[subject]
        contact = await self.contact(subject.name.lower(), email=bool(linked))
        for conversation_subject in linked:
            conversation = await self.conversation(conversation_subject, contact=contact)
            contact["conversations"].append(conversation["id"])
        return contact

    async def answer(self, api: Api, line_id: str | None = None) -> Fields:
        body: dict[str, Any] = {"title": f"matrix-answer-{unique()}", "text": "an answer"}
        if line_id:
            body["line_id"] = line_id
        answer = await api.post("/api/v1/console/quick-answers", body, expect=201)
        return {"id": answer["id"], "answer_id": answer["id"], "keeper": api}

    async def upload(self, api: Api, headers: dict[str, str] | None = None) -> str:
        text = FILE_TEXT.format(unique())
        form = aiohttp.FormData()
        form.add_field("file", text.encode(), filename="note.txt", content_type="text/plain")
        status, body = await api.call("POST", "/api/v1/widget/uploads", data=form, headers=headers)
        assert status == 201, body
        self.files[body["id"]] = text
        return str(body["id"])

    async def post(self, api: Api, conversation_id: str, **message: Any) -> None:
        body = {"text": "with a file", "client_msg_id": new_msg_id(), **message}
        await api.post(f"/api/v1/conversations/{conversation_id}/messages", body, expect=201)

    async def closed_with_rating_asked(self) -> str:
        closed = await self.conversation(Subject.CLOSED)
        return self.csat_token(closed["id"])

    async def visitor_asked_to_rate(self) -> SocketClient:
        """A new widget visitor of line A whose conversation was closed, a rating asked."""
        visitor = await visitor_socket(self.base_url, self.a.widget["key"])
        ack = await visitor.call("message:send", {"text": "hi", "client_msg_id": new_msg_id()})
        assert ack["ok"], ack
        conversation_id = ack["message"]["conversation_id"]
        await self.admin.post(f"/api/v1/conversations/{conversation_id}/close", expect=200)
        await visitor.events.wait("csat:request")
        return visitor

    async def fresh(self, subject: Subject, role: Role) -> Fields:
        """A new copy of ``subject`` for an allowed cell that changes it for good."""
        kind = subject.info.kind
        if kind is Kind.CONVERSATION:
            fields = await self.conversation(subject, linked=role is Role.MANAGER)
            if subject is Subject.JOINED:
                await self.take_part(fields["id"], role)
            return fields
        if kind is Kind.CRM:
            return await self.crm_record(subject)
        if subject is Subject.NOTHING:
            # A session of its own for each sign-out.
            user = self.staff[role].user
            assert user is not None
            password = ADMIN_PASSWORD if role is Role.ADMIN else PASSWORD
            return {"as": await self.anon.login(user["email"], password)}
        if subject is Subject.LINE_EMPTY:
            line = await self.admin.create_line()
            return {"id": line["id"], "line_id": line["id"], "name": line["name"]}
        if kind is Kind.CHANNEL:
            side = self.a if subject is Subject.CHANNEL_A else self.b
            channel = await self.admin.create_channel(side.line["id"], "api", {})
            self.secrets.append(channel["secret"])
            return {"id": channel["id"], "channel_id": channel["id"]}
        if subject is Subject.OTHER_USER:
            account = await self.admin.create_user("operator")
            return {"id": self.user_id(account), "user_id": self.user_id(account)}
        if subject is Subject.ANSWER_MINE:
            return await self.answer(self.staff[role])
        if subject is Subject.ANSWER_LINE_A:
            return await self.answer(self.staff[Role.SUPERVISOR], self.a.line["id"])
        if subject is Subject.ANSWER_LINE_B:
            return await self.answer(self.admin, self.b.line["id"])
        if subject is Subject.PIPELINE:
            pipeline = await self.admin.post(
                "/api/v1/crm/pipelines",
                {"name": f"matrix-{unique()}", "stages": [{"name": "New"}]},
                expect=201,
            )
            return {"id": pipeline["id"], "pipeline_id": pipeline["id"]}
        if subject is Subject.WEBHOOK:
            return await self.webhook()
        if subject is Subject.FORM:
            return await self.form()
        if subject is Subject.BOT:
            return await self.bot()
        if subject is Subject.CSAT_LINK:
            return {"token": await self.closed_with_rating_asked()}
        if subject is Subject.WIDGET_RATING:
            return {"socket": await self.visitor_asked_to_rate()}
        return self.fields(subject, role)

    async def form(self) -> Fields:
        form = await self.admin.post(
            "/api/v1/forms", {"name": f"matrix-{unique()}", "fields": FORM_FIELDS}, expect=201
        )
        return {"id": form["id"], "form_id": form["id"]}

    async def bot(self) -> Fields:
        bot = await self.admin.post(
            "/api/v1/bots", {"name": f"matrix-{unique()}", "nodes": BOT_NODES}, expect=201
        )
        return {"id": bot["id"], "bot_id": bot["id"]}

    async def webhook(self) -> Fields:
        hook = await self.admin.post(
            "/api/v1/webhooks",
            {"url": f"http://127.0.0.1:9/matrix-{unique()}", "events": ["deal.stage_changed"]},
            expect=201,
        )
        self.secrets.append(hook["secret"])
        return {"id": hook["id"], "webhook_id": hook["id"]}

    def fields(self, subject: Subject, role: Role) -> Fields:
        found = self.per_role.get((subject, role)) or self.per_role.get((subject, Role.OPERATOR))
        return dict(found if found is not None else self.subjects[subject])


async def build_world(app: web.Application, base_url: str, http: aiohttp.ClientSession) -> World:
    anon = Api(base_url, http)
    admin = await anon.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    operator = await admin.create_user("operator")
    colleague = await admin.create_user("operator")
    operator_b = await admin.create_user("operator")
    supervisor = await admin.create_user("supervisor")
    manager = await admin.create_user("manager")
    signs_in = await admin.create_user("operator")

    def ids(*apis: Api) -> list[str]:
        return [str(api.user["id"]) for api in apis if api.user]

    line_a = await admin.create_line(
        operators=ids(operator, colleague),
        supervisors=ids(supervisor),
        csat={"enabled": True},
        **LINE_SETTINGS,
    )
    line_b = await admin.create_line(operators=ids(operator_b), **LINE_SETTINGS)
    sides = []
    for line in (line_a, line_b):
        channel = await admin.create_channel(line["id"], "api", {})
        widget = await admin.create_channel(line["id"], "widget", {"title": line["name"]})
        sides.append(Side(line, channel, widget))
    a, b = sides

    world = World(
        app=app,
        base_url=base_url,
        anon=anon,
        staff={
            Role.OPERATOR: operator,
            Role.SUPERVISOR: supervisor,
            Role.MANAGER: manager,
            Role.ADMIN: admin,
        },
        colleague=colleague,
        operator_b=operator_b,
        a=a,
        b=b,
    )
    world.secrets += [
        *(side.channel["secret"] for side in sides),
        *(side.widget["identity_secret"] for side in sides),
    ]
    # The widget visitor: signed in on the site as contact A's e-mail, so their conversation,
    # *mine*, is linked to contact A.
    contact_a = await world.contact("contact_a")
    mine_auth = world.signed_in(a, contact_a["email"])
    await world.visitor.connect(base_url, mine_auth)
    session = await world.visitor.events.wait("session")
    world.visitor_token, world.visitor_id = session["token"], session["visitor_id"]
    mine_name = f"matrix-mine-{unique()}"
    ack = await world.visitor.call("prechat", {"name": mine_name})
    assert ack["ok"], ack
    visitor_file = await world.upload(anon, {"X-Visitor-Token": world.visitor_token})
    ack = await world.visitor.call(
        "message:send",
        {
            "text": "hello from the visitor",
            "client_msg_id": new_msg_id(),
            "attachments": [visitor_file],
        },
    )
    assert ack["ok"], ack
    mine_id = ack["message"]["conversation_id"]
    mine = await world.linked(mine_id, contact_a)
    await operator.post(f"/api/v1/conversations/{mine_id}/accept", expect=200)
    whisper_file = await world.upload(supervisor)
    await world.post(
        supervisor, mine_id, text=WHISPER_TEXT, hidden=True, attachments=[whisper_file]
    )
    world.seen_as[mine_id] = Subject.MINE
    world.subjects[Subject.MINE] = world._conversation_fields(
        mine_id, mine["client"]["id"], mine_name, a, b
    )
    contact_a["conversations"] = [mine_id]
    world.subjects[Subject.CONTACT_A] = contact_a

    for subject in (
        Subject.QUEUE,
        Subject.COLLEAGUE,
        Subject.CLOSED,
        Subject.B_ACTIVE,
        Subject.B_QUEUE,
        Subject.JOINED,
    ):
        world.subjects[subject] = await world.conversation(subject)
    await world.take_part(world.subjects[Subject.JOINED]["id"], Role.OPERATOR)
    world.subjects[Subject.CONTACT_LINE] = world.subjects[Subject.COLLEAGUE].pop("contact")
    world.subjects[Subject.CONTACT_B] = world.subjects[Subject.B_ACTIVE].pop("contact")
    world.subjects[Subject.CONTACT_SHARED] = await world.crm_record(Subject.CONTACT_SHARED)
    world.subjects[Subject.CONTACT_QUEUE] = await world.crm_record(Subject.CONTACT_QUEUE)
    world.subjects[Subject.CONTACT_NONE] = await world.crm_record(Subject.CONTACT_NONE)
    world.subjects[Subject.LEAD_NONE] = await world.crm_record(Subject.LEAD_NONE)
    deal = await admin.post(
        f"/api/v1/conversations/{mine_id}/deal", {"title": "matrix deal A"}, expect=201
    )
    world.subjects[Subject.DEAL_A] = {
        "id": deal["id"],
        "entity": "deals",
        "record_id": deal["id"],
        "name": deal["title"],
        "conversations": [mine_id],
    }

    # Files: in *mine* (the visitor's, and a whisper), in *colleague's*, in *B active*, unsent.
    colleague_file = await world.upload(colleague)
    await world.post(
        colleague, world.subjects[Subject.COLLEAGUE]["id"], attachments=[colleague_file]
    )
    b_file = await world.upload(operator_b)
    await world.post(operator_b, world.subjects[Subject.B_ACTIVE]["id"], attachments=[b_file])
    for subject, file_id in (
        (Subject.FILE_VISITOR, visitor_file),
        (Subject.FILE_WHISPER, whisper_file),
        (Subject.FILE_COLLEAGUE, colleague_file),
        (Subject.FILE_B, b_file),
        (Subject.FILE_UNSENT, await world.upload(colleague)),
    ):
        world.subjects[subject] = {"id": file_id, "file_id": file_id}

    for subject, side in ((Subject.LINE_A, a), (Subject.LINE_B, b)):
        world.subjects[subject] = {
            "id": side.line["id"],
            "line_id": side.line["id"],
            "name": side.line["name"],
        }
    empty = await admin.create_line()
    world.subjects[Subject.LINE_EMPTY] = {
        "id": empty["id"],
        "line_id": empty["id"],
        "name": empty["name"],
    }
    for subject, side in ((Subject.CHANNEL_A, a), (Subject.CHANNEL_B, b)):
        world.subjects[subject] = {"id": side.channel["id"], "channel_id": side.channel["id"]}
    hook = {"type": "api", "channel_id": a.channel["id"], "secret": a.channel["secret"]}
    world.subjects[Subject.SECRET_RIGHT] = hook
    world.subjects[Subject.SECRET_WRONG] = {**hook, "secret": "not the secret of this channel"}
    world.subjects[Subject.SECRET_PLAIN] = {**hook, "plain": True}
    world.subjects[Subject.SECRET_REPLAYED] = {**hook, "replay": True}
    assert signs_in.user is not None
    world.subjects[Subject.PASSWORD_RIGHT] = {
        "email": signs_in.user["email"],
        "password": PASSWORD,
    }
    world.subjects[Subject.PASSWORD_WRONG] = {
        "email": signs_in.user["email"],
        "password": "not the password",
    }

    world.subjects[Subject.OTHER_USER] = {
        "id": world.user_id(colleague),
        "user_id": world.user_id(colleague),
    }
    for role, api in world.staff.items():
        world.per_role[(Subject.SELF, role)] = {
            "id": world.user_id(api),
            "user_id": world.user_id(api),
        }
        world.per_role[(Subject.ANSWER_MINE, role)] = await world.answer(api)
    world.subjects[Subject.ANSWER_OTHER] = await world.answer(colleague)
    world.subjects[Subject.ANSWER_LINE_A] = await world.answer(supervisor, a.line["id"])
    world.subjects[Subject.ANSWER_LINE_B] = await world.answer(admin, b.line["id"])

    world.subjects[Subject.PIPELINE] = {"id": "sales", "pipeline_id": "sales"}
    world.subjects[Subject.WEBHOOK] = await world.webhook()
    world.subjects[Subject.FORM] = await world.form()
    world.subjects[Subject.BOT] = await world.bot()
    world.subjects[Subject.CSAT_FORGED] = {
        "token": world.csat_token(world.subjects[Subject.CLOSED]["id"]) + "x"
    }
    world.subjects[Subject.NOTHING] = {"entity": "contacts"}

    # Anonymous visitors of line A's and of line B's widget, with the tokens they were given
    # (both tried on line A's widget).
    for subject, side in ((Subject.WIDGET_TOKEN, a), (Subject.WIDGET_FOREIGN_TOKEN, b)):
        stranger = await visitor_socket(base_url, side.widget["key"])
        stranger_session = await stranger.events.wait("session")
        await stranger.close()
        world.subjects[subject] = {
            "key": a.widget["key"],
            "token": stranger_session["token"],
            "visitor_id": stranger_session["visitor_id"],
        }
    world.subjects[Subject.WIDGET_OWN] = {
        **mine_auth,
        "token": world.visitor_token,
        "visitor_id": world.visitor_id,
        "conversation_id": mine_id,
        "client_name": mine_name,
    }
    world.subjects[Subject.WIDGET_SIGNED_OUT] = {
        "key": a.widget["key"],
        "token": world.visitor_token,
        "visitor_id": world.visitor_id,
    }
    world.subjects[Subject.WIDGET_NEW] = {"key": a.widget["key"], "client_name": "matrix-new"}
    world.subjects[Subject.WIDGET_UNKNOWN] = {"key": "no-such-widget-key"}
    return world


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    db_name = f"t_matrix_{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        mongo_url, db_name, tmp_path_factory.mktemp("matrix") / "data", **GENEROUS_LIMITS
    )
    app = await create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(shutdown_timeout=5)
    try:
        # No cookie jar: the login cookie would otherwise make "anonymous" calls someone's.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            built = await build_world(app, str(server.make_url("")).rstrip("/"), http)
            try:
                yield built
            finally:
                for socket in [built.visitor, *built.sockets.values()]:
                    await socket.close()
    finally:
        await server.close()
        mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
        mongo.drop_database(db_name)
        mongo.close()


# --- running one cell --------------------------------------------------------------------------


def fill(value: Any, fields: Fields) -> Any:
    """``value`` with its "{name}" strings filled in from ``fields`` ("{name?}": left out
    when the subject has no such field)."""
    if isinstance(value, dict):
        filled = {}
        for key, item in value.items():
            optional = isinstance(item, str) and re.fullmatch(r"\{(\w+)\?\}", item)
            if optional:
                if fields.get(optional.group(1)) is not None:
                    filled[key] = fields[optional.group(1)]
                continue
            filled[key] = fill(item, fields)
        return filled
    if isinstance(value, list):
        return [fill(item, fields) for item in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        return fields[whole.group(1)] if whole else value.format(**fields)
    return value


async def call_rest(world: World, op: Rest, role: Role, fields: Fields) -> tuple[int, Any]:
    api: Api = fields.get("as") or world.api(role)
    headers = {"X-Visitor-Token": world.visitor_token} if role is Role.VISITOR else {}
    path = op.route.format(**fields) + (f"?{op.query.format(**fields)}" if op.query else "")
    if op.signed:
        return await call_signed(api, path, fill(op.body, fields), fields)
    if op.route == "/api/v1/widget/uploads":
        form = aiohttp.FormData()
        form.add_field("file", b"matrix upload\n", filename="up.txt", content_type="text/plain")
        return await api.call(op.method, path, data=form, headers=headers)
    body = fill(op.body, fields) if op.body is not None else None
    if body is None and op.method in ("POST", "PATCH"):
        body = {}
    return await api.call(op.method, path, body, headers=headers)


async def call_signed(api: Api, path: str, body: Any, fields: Fields) -> tuple[int, Any]:
    """POST ``body`` signed with the subject's secret (``plain``: the secret itself in the old
    header instead; ``replay``: the same signed request a second time, the answer counting)."""
    raw = orjson.dumps(body)
    if fields.get("plain"):
        headers = {"Content-Type": "application/json", PLAIN_SECRET_HEADER: fields["secret"]}
    else:
        headers = signed_headers(fields["secret"], raw)
    if fields.get("replay"):
        status, answer = await api.call("POST", path, data=raw, headers=headers)
        assert status == 200, f"the first time it is taken: {status} {answer}"
    return await api.call("POST", path, data=raw, headers=headers)


async def call_socket(
    world: World, op: Emit, role: Role, fields: Fields
) -> tuple[frozenset[int], Any]:
    """The ack (or the connect's outcome) as statuses: 200, or what its error code means."""
    if op.event == "connect":
        return await connect(world, op, role, fields)
    temporary: SocketClient | None = fields.get("socket")
    if temporary is not None:
        client = temporary
    elif op.namespace == "/widget":
        if fields.get("token"):
            client = world.visitor
        else:
            temporary = client = await visitor_socket(world.base_url, fields["key"])
    else:
        client = await world.socket(role)
    try:
        ack = await client.call(op.event, fill(op.payload or {}, fields))
    finally:
        if temporary is not None:
            await temporary.close()
    if ack["ok"]:
        return frozenset({200}), ack
    code = ack["error"]["code"]
    assert code in ACK_STATUS, f"an ack error code the matrix does not know: {ack}"
    return ACK_STATUS[code], ack


async def connect(
    world: World, op: Emit, role: Role, fields: Fields
) -> tuple[frozenset[int], Any]:
    client = SocketClient(op.namespace)
    if op.namespace == "/operator":
        auth: dict[str, Any] = {}
        if role in world.staff:
            auth["token"] = world.staff[role].token
        elif role is Role.VISITOR:
            auth["token"] = world.visitor_token
    else:
        auth = {k: fields[k] for k in ("key", "token", "identity", "identity_hash") if k in fields}
    try:
        await client.connect(world.base_url, auth)
    except socketio.exceptions.ConnectionError as exc:
        return frozenset({401}), str(exc)
    try:
        if op.namespace == "/widget":
            return frozenset({200}), await client.events.wait("session")
        return frozenset({200}), None
    finally:
        await client.close()


async def snapshot(world: World, row: Row, fields: Fields) -> tuple[int, Any] | None:
    if row.probe is None or row.effect is Effect.READ:
        return None
    keeper: Api = fields.get("keeper") or world.admin
    return await keeper.call("GET", row.probe.format(**fields))


def cell_params() -> list[Any]:
    params = []
    for row, role, subject in cells():
        key = (row.id, role, subject)
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN_FAILING[key])]
            if key in KNOWN_FAILING
            else []
        )
        params.append(
            pytest.param(row, role, subject, marks=marks, id=f"{row.id}|{role}|{subject.value}")
        )
    return params


@in_world
@pytest.mark.parametrize(("row", "role", "subject"), cell_params())
async def test_cell(world: World, row: Row, role: Role, subject: Subject) -> None:
    outcome = row.grid[(role, subject)]
    fresh = outcome.allowed and row.effect is Effect.FRESH
    fields = await world.fresh(subject, role) if fresh else world.fields(subject, role)
    fields.setdefault("unique", unique())
    before = None if outcome.allowed else await snapshot(world, row, fields)
    if isinstance(row.op, Rest):
        status, body = await call_rest(world, row.op, role, fields)
        statuses = frozenset({status})
    else:
        statuses, body = await call_socket(world, row.op, role, fields)
    if outcome.allowed:
        assert statuses & set(range(200, 300)), f"expected {outcome}, got {statuses}: {body}"
        if isinstance(body, dict) and isinstance(body.get("secret"), str):
            world.secrets.append(body["secret"])  # shown once, at creation; never again
        await check(world, row, role, subject, outcome, fields, body)
    else:
        assert outcome.status in statuses, f"expected {outcome}, got {statuses}: {body}"
        if isinstance(row.op, Rest):
            assert {"code", "message"} <= set(body["error"]), body
        after = await snapshot(world, row, fields)
        assert after == before, "a refused call changed something"


# --- what allowed cells check besides their status --------------------------------------------


async def check(
    world: World,
    row: Row,
    role: Role,
    subject: Subject,
    outcome: Outcome,
    fields: Fields,
    body: Any,
) -> None:
    if row.check is Check.LISTING:
        listed = {
            item["id"] for value in body.values() if isinstance(value, list) for item in value
        }
        assert (fields["id"] in listed) == (outcome is Outcome.LISTED), body
    elif row.check is Check.NO_SECRETS:
        text = json.dumps(body)
        assert not [s for s in world.secrets if s in text], "a secret was echoed back"
    elif row.check is Check.TIMELINE:
        visible = {c for c in fields["conversations"] if world.visible(role, c)}
        listed = {c["id"] for c in body["conversations"]}
        assert listed == visible, f"lists {listed}, may see {visible}"
        named = {a["conversation_id"] for a in body["activities"] if a.get("conversation_id")}
        assert named <= visible, f"activities name conversations {named - visible}"
    elif row.check is Check.WRITES_VISIBLE:
        written = body["conversation"]["id"]
        assert written in fields["conversations"], body
        assert world.visible(role, written), "wrote into a conversation the caller may not see"
    elif row.check is Check.TOKEN_REVOKED:
        session: Api = fields["as"]
        status, _ = await session.call("GET", "/api/v1/me")
        assert status == 401
    elif row.check is Check.FILE_BYTES:
        assert body == world.files[fields["file_id"]]
    elif row.check is Check.WIDGET_SESSION:
        if subject in (Subject.WIDGET_OWN, Subject.WIDGET_TOKEN):
            assert body["visitor_id"] == fields["visitor_id"]
            assert body["conversation_id"] == fields.get("conversation_id")
        else:
            assert body["visitor_id"] != fields["visitor_id"], "resumed someone else"
            assert body["conversation_id"] is None and not body["identified"]
    elif row.check is Check.WIDGET_OWN:
        await check_widget_own(world, row, subject, fields, body)


async def check_widget_own(
    world: World, row: Row, subject: Subject, fields: Fields, ack: Any
) -> None:
    mine = world.subjects[Subject.MINE]["id"]
    assert isinstance(row.op, Emit)
    if row.op.event == "history":
        if subject is Subject.WIDGET_OWN:
            assert ack["conversation_id"] == mine
            assert ack["messages"] and not [m for m in ack["messages"] if m["hidden"]]
            assert WHISPER_TEXT not in json.dumps(ack)
        else:
            assert ack["messages"] == [] and ack["conversation_id"] is None
    else:
        landed = ack["message"]["conversation_id"]
        assert (landed == mine) == (subject is Subject.WIDGET_OWN), ack


# --- the table itself --------------------------------------------------------------------------


@in_world
async def test_every_route_and_event_has_a_row(world: World) -> None:
    """Adding a route or an event without deciding who may call it fails here."""
    rows = {row.op.key for row in ROWS}
    routes = {
        f"{route.method} {route.resource.canonical}"
        for route in world.app.router.routes()
        if route.method not in ("HEAD", "OPTIONS") and route.resource is not None
    }
    missing = sorted(routes - rows - set(NOT_API_ROUTES))
    assert missing == [], f"routes with no row in tests/security/authz_table.py: {missing}"
    handlers = world.app[SIO].handlers
    events = {f"{ns} {event}" for ns in ("/operator", "/widget") for event in handlers[ns]}
    missing = sorted(events - rows - set(NOT_CLIENT_EVENTS))
    assert missing == [], f"events with no row in tests/security/authz_table.py: {missing}"
    stale = sorted((rows - routes - events) | (set(NOT_API_ROUTES) - routes))
    assert stale == [], f"rows of routes or events the app no longer has: {stale}"


def test_known_failing_cells_are_cells_of_the_table() -> None:
    known = {(row.id, role, subject) for row, role, subject in cells()}
    assert set(KNOWN_FAILING) <= known


def test_socket_rows_have_no_anonymous_cells() -> None:
    for row in ROWS:
        if isinstance(row.op, Emit) and row.op.event != "connect":
            roles = {role for role, _ in row.grid}
            assert roles <= {*SOCKET_ROLES, Role.VISITOR}, row.id


def test_docs_show_the_table() -> None:
    """docs/api.md ends with ``markdown()`` (regenerate: python -m tests.security.authz_table)."""
    text = DOCS.read_text()
    assert text.endswith(markdown()), "docs/api.md's 'Who may do what' is not the table"
