"""The authorization matrix (issue #13): for every REST route and Socket.IO event, what each
role gets when it acts on each kind of record it may be related to.

One ``Row`` per route or event (two where a body changes the rule, e.g. hidden messages); its
``grid`` is a literal table: the records acted on (``SUBJECTS``) across, the roles down, an
outcome in each cell. ``tests/security/test_authz_matrix.py`` turns every cell into a test,
against one world holding every subject; ``docs/api.md`` ("Who may do what") is ``markdown()``
of this module (``python -m tests.security.authz_table`` prints it). The table states the
intended rule; where today's code disagrees, the cell is in ``KNOWN_FAILING`` (an expected
failure that must fail: fixing the code makes the suite ask for the entry to go).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any


class Role(StrEnum):
    """Who calls. The operator works in line A; the supervisor supervises line A."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"
    VISITOR = "visitor"  # the widget visitor of line A (visitor token, /widget socket)
    ANONYMOUS = "anonymous"  # no credentials at all


class Relation(StrEnum):
    """How the caller relates to the record a cell acts on."""

    OWN = "own"  # assigned to me, my record, my upload, the record of my conversation
    MY_LINE = "my line"  # a record of a line I work in or supervise, not mine
    OTHER_LINE = "other line"  # a record of a line I am not in
    OWN_AND_OTHER_LINE = "own + other line"  # a CRM record of my conversation and line B's
    LINKED = "linked"  # (managers) a conversation linked to a CRM record
    NONE = "none"  # no relation at all (e.g. a CRM record with no conversation)
    ANY = "any"  # the route concerns no record, or the role sees every record


class Kind(StrEnum):
    """What kind of record a subject is: decides the path fields it fills in."""

    NOTHING = "nothing"
    CONVERSATION = "conversation"
    CRM = "crm"
    LINE = "line"
    CHANNEL = "channel"
    USER = "user"
    ANSWER = "answer"
    FILE = "file"
    PIPELINE = "pipeline"
    WEBHOOK = "webhook"
    FORM = "form"
    BOT = "bot"
    CSAT = "csat"
    HOOK = "hook"
    LOGIN = "login"
    WIDGET = "widget"


@dataclass(frozen=True)
class SubjectInfo:
    kind: Kind
    label: str  # what the docs call it
    description: str
    relations: Mapping[Role, Relation] = field(default_factory=dict)

    def relation(self, role: Role) -> Relation:
        return self.relations.get(role, Relation.ANY)


_OP, _SUP, _MGR = Role.OPERATOR, Role.SUPERVISOR, Role.MANAGER


def _rel(operator: Relation, supervisor: Relation, manager: Relation) -> dict[Role, Relation]:
    return {_OP: operator, _SUP: supervisor, _MGR: manager}


class Subject(Enum):
    """The records of the world every cell acts on (``SUBJECTS`` says what each one is)."""

    NOTHING = "nothing"
    # conversations
    MINE = "mine"
    QUEUE = "queue"
    COLLEAGUE = "colleague's"
    CLOSED = "closed"
    B_ACTIVE = "B active"
    B_QUEUE = "B queue"
    JOINED = "joined"
    SHARED_A = "shared A"
    SHARED_B = "shared B"
    QUEUE_LINKED = "linked queue"
    # CRM records
    CONTACT_A = "contact A"
    CONTACT_LINE = "contact line"
    CONTACT_B = "contact B"
    CONTACT_NONE = "contact none"
    CONTACT_SHARED = "contact shared"
    CONTACT_QUEUE = "contact queue"
    DEAL_A = "deal A"
    LEAD_NONE = "lead none"
    # lines and channels
    LINE_A = "line A"
    LINE_B = "line B"
    LINE_EMPTY = "empty line"
    CHANNEL_A = "channel A"
    CHANNEL_B = "channel B"
    # users and the console's quick answers
    SELF = "self"
    OTHER_USER = "other user"
    ANSWER_MINE = "my answer"
    ANSWER_OTHER = "colleague's answer"
    ANSWER_LINE_A = "line A answer"
    ANSWER_LINE_B = "line B answer"
    # attachments
    FILE_VISITOR = "visitor's file"
    FILE_WHISPER = "whispered file"
    FILE_COLLEAGUE = "colleague's file"
    FILE_B = "B file"
    FILE_UNSENT = "unsent file"
    # CRM configuration, webhooks, signed links, platform secrets, passwords
    PIPELINE = "pipeline"
    WEBHOOK = "webhook"
    FORM = "form"
    BOT = "bot"
    CSAT_LINK = "rating link"
    CSAT_FORGED = "forged link"
    SECRET_RIGHT = "signed"
    SECRET_WRONG = "wrong key"
    SECRET_PLAIN = "plain secret"
    SECRET_REPLAYED = "replayed"
    PASSWORD_RIGHT = "right password"
    PASSWORD_WRONG = "wrong password"
    # the widget
    WIDGET_OWN = "own visitor"
    WIDGET_TOKEN = "own token"
    WIDGET_SIGNED_OUT = "signed out"
    WIDGET_NEW = "new visitor"
    WIDGET_FOREIGN_TOKEN = "foreign token"
    WIDGET_UNKNOWN = "unknown key"
    WIDGET_RATING = "asked to rate"

    @property
    def info(self) -> SubjectInfo:
        return SUBJECTS[self]


R = Relation
SUBJECTS: dict[Subject, SubjectInfo] = {
    Subject.NOTHING: SubjectInfo(Kind.NOTHING, "no record", "the route concerns no record"),
    Subject.MINE: SubjectInfo(
        Kind.CONVERSATION,
        "mine",
        "line A, active, assigned to the operator; the widget visitor's, linked to contact A",
        _rel(R.OWN, R.MY_LINE, R.LINKED),
    ),
    Subject.QUEUE: SubjectInfo(
        Kind.CONVERSATION, "queue", "line A, queued", _rel(R.MY_LINE, R.MY_LINE, R.NONE)
    ),
    Subject.COLLEAGUE: SubjectInfo(
        Kind.CONVERSATION,
        "colleague's",
        "line A, active, assigned to another operator of A; linked to contact line",
        _rel(R.MY_LINE, R.MY_LINE, R.LINKED),
    ),
    Subject.CLOSED: SubjectInfo(
        Kind.CONVERSATION,
        "closed",
        "line A, closed, was the operator's",
        _rel(R.OWN, R.MY_LINE, R.NONE),
    ),
    Subject.B_ACTIVE: SubjectInfo(
        Kind.CONVERSATION,
        "B active",
        "line B, active, assigned to B's operator; linked to contact B",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.LINKED),
    ),
    Subject.B_QUEUE: SubjectInfo(
        Kind.CONVERSATION, "B queue", "line B, queued", _rel(R.OTHER_LINE, R.OTHER_LINE, R.NONE)
    ),
    Subject.JOINED: SubjectInfo(
        Kind.CONVERSATION,
        "joined",
        "line A, active, a colleague's; the caller takes part (invited, or joined hidden)",
        _rel(R.OWN, R.OWN, R.NONE),
    ),
    Subject.SHARED_A: SubjectInfo(
        Kind.CONVERSATION,
        "shared A",
        "line A, active, the operator's; linked to contact shared (only in CRM cells)",
        _rel(R.OWN, R.MY_LINE, R.LINKED),
    ),
    Subject.SHARED_B: SubjectInfo(
        Kind.CONVERSATION,
        "shared B",
        "line B, active, B's operator's, newer than shared A; linked to contact shared",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.LINKED),
    ),
    Subject.QUEUE_LINKED: SubjectInfo(
        Kind.CONVERSATION,
        "linked queue",
        "line A, queued; linked to contact queue (only in CRM cells)",
        _rel(R.MY_LINE, R.MY_LINE, R.LINKED),
    ),
    Subject.CONTACT_A: SubjectInfo(
        Kind.CRM, "contact A", "a contact linked to *mine*", _rel(R.OWN, R.MY_LINE, R.ANY)
    ),
    Subject.CONTACT_LINE: SubjectInfo(
        Kind.CRM,
        "contact line",
        "a contact linked to *colleague's*",
        _rel(R.MY_LINE, R.MY_LINE, R.ANY),
    ),
    Subject.CONTACT_B: SubjectInfo(
        Kind.CRM,
        "contact B",
        "a contact linked to *B active*",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.ANY),
    ),
    Subject.CONTACT_NONE: SubjectInfo(
        Kind.CRM, "contact none", "a contact with no conversation", _rel(R.NONE, R.NONE, R.ANY)
    ),
    Subject.CONTACT_SHARED: SubjectInfo(
        Kind.CRM,
        "contact shared",
        "one person who wrote to both lines: linked to *shared A* and (newer) *shared B*",
        _rel(R.OWN_AND_OTHER_LINE, R.OWN_AND_OTHER_LINE, R.ANY),
    ),
    Subject.CONTACT_QUEUE: SubjectInfo(
        Kind.CRM,
        "contact queue",
        "a contact linked to *linked queue*, which waits in line A's queue",
        _rel(R.MY_LINE, R.MY_LINE, R.ANY),
    ),
    Subject.DEAL_A: SubjectInfo(
        Kind.CRM, "deal A", "a deal started from *mine*", _rel(R.OWN, R.MY_LINE, R.ANY)
    ),
    Subject.LEAD_NONE: SubjectInfo(
        Kind.CRM, "lead none", "a lead with no conversation", _rel(R.NONE, R.NONE, R.ANY)
    ),
    Subject.LINE_A: SubjectInfo(Kind.LINE, "line A", "line A", _rel(R.MY_LINE, R.MY_LINE, R.ANY)),
    Subject.LINE_B: SubjectInfo(
        Kind.LINE, "line B", "line B", _rel(R.OTHER_LINE, R.OTHER_LINE, R.ANY)
    ),
    Subject.LINE_EMPTY: SubjectInfo(
        Kind.LINE,
        "empty line",
        "a line with nobody and no conversation",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.ANY),
    ),
    Subject.CHANNEL_A: SubjectInfo(
        Kind.CHANNEL, "channel A", "an API channel of line A", _rel(R.MY_LINE, R.MY_LINE, R.ANY)
    ),
    Subject.CHANNEL_B: SubjectInfo(
        Kind.CHANNEL,
        "channel B",
        "an API channel of line B",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.ANY),
    ),
    Subject.SELF: SubjectInfo(
        Kind.USER, "self", "the caller's own account", _rel(R.OWN, R.OWN, R.OWN)
    ),
    Subject.OTHER_USER: SubjectInfo(
        Kind.USER, "other user", "another operator of line A", _rel(R.MY_LINE, R.MY_LINE, R.NONE)
    ),
    Subject.ANSWER_MINE: SubjectInfo(
        Kind.ANSWER, "my answer", "the caller's personal quick answer", _rel(R.OWN, R.OWN, R.OWN)
    ),
    Subject.ANSWER_OTHER: SubjectInfo(
        Kind.ANSWER,
        "colleague's answer",
        "another operator's personal quick answer",
        _rel(R.NONE, R.NONE, R.NONE),
    ),
    Subject.ANSWER_LINE_A: SubjectInfo(
        Kind.ANSWER,
        "line A answer",
        "a quick answer shared with line A",
        _rel(R.MY_LINE, R.MY_LINE, R.ANY),
    ),
    Subject.ANSWER_LINE_B: SubjectInfo(
        Kind.ANSWER,
        "line B answer",
        "a quick answer shared with line B",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.ANY),
    ),
    Subject.FILE_VISITOR: SubjectInfo(
        Kind.FILE,
        "visitor's file",
        "the visitor's upload, sent in *mine*",
        _rel(R.OWN, R.MY_LINE, R.LINKED),
    ),
    Subject.FILE_WHISPER: SubjectInfo(
        Kind.FILE,
        "whispered file",
        "the supervisor's upload, in a hidden message of *mine*",
        _rel(R.OWN, R.OWN, R.LINKED),
    ),
    Subject.FILE_COLLEAGUE: SubjectInfo(
        Kind.FILE,
        "colleague's file",
        "another operator's upload, sent in *colleague's*",
        _rel(R.MY_LINE, R.MY_LINE, R.LINKED),
    ),
    Subject.FILE_B: SubjectInfo(
        Kind.FILE,
        "B file",
        "B's operator's upload, sent in *B active*",
        _rel(R.OTHER_LINE, R.OTHER_LINE, R.LINKED),
    ),
    Subject.FILE_UNSENT: SubjectInfo(
        Kind.FILE,
        "unsent file",
        "another operator's upload, not sent anywhere",
        _rel(R.NONE, R.NONE, R.NONE),
    ),
    Subject.PIPELINE: SubjectInfo(Kind.PIPELINE, "pipeline", "a deal pipeline"),
    Subject.WEBHOOK: SubjectInfo(Kind.WEBHOOK, "webhook", "an outgoing CRM webhook"),
    Subject.FORM: SubjectInfo(Kind.FORM, "form", "a form staff send into conversations"),
    Subject.BOT: SubjectInfo(Kind.BOT, "bot", "a bot that answers first"),
    Subject.CSAT_LINK: SubjectInfo(
        Kind.CSAT, "rating link", "the signed rating link of a closed conversation"
    ),
    Subject.CSAT_FORGED: SubjectInfo(Kind.CSAT, "forged link", "that link with a bad signature"),
    Subject.SECRET_RIGHT: SubjectInfo(
        Kind.HOOK, "signed", "a request signed with the channel's secret (timestamp and body)"
    ),
    Subject.SECRET_WRONG: SubjectInfo(Kind.HOOK, "wrong key", "a request signed with another key"),
    Subject.SECRET_PLAIN: SubjectInfo(
        Kind.HOOK,
        "plain secret",
        "the channel's secret itself in `X-OpenLines-Secret`, unsigned (no longer enough)",
    ),
    Subject.SECRET_REPLAYED: SubjectInfo(
        Kind.HOOK, "replayed", "a signed request sent again after it was taken"
    ),
    Subject.PASSWORD_RIGHT: SubjectInfo(
        Kind.LOGIN,
        "right password",
        "the password of an account only these cells sign in with",
    ),
    Subject.PASSWORD_WRONG: SubjectInfo(
        Kind.LOGIN,
        "wrong password",
        "not that password (wrong ones lock the account out for a while: no other cell's)",
    ),
    Subject.WIDGET_OWN: SubjectInfo(
        Kind.WIDGET,
        "own visitor",
        "the visitor of *mine*, signed in on the site (their signed identity, their token)",
    ),
    Subject.WIDGET_TOKEN: SubjectInfo(
        Kind.WIDGET,
        "own token",
        "an anonymous visitor of line A's widget with the visitor token it was given",
    ),
    Subject.WIDGET_SIGNED_OUT: SubjectInfo(
        Kind.WIDGET,
        "signed out",
        "the token of *mine*'s visitor without their identity (they signed out of the site)",
    ),
    Subject.WIDGET_NEW: SubjectInfo(Kind.WIDGET, "new visitor", "a visitor with no conversation"),
    Subject.WIDGET_FOREIGN_TOKEN: SubjectInfo(
        Kind.WIDGET,
        "foreign token",
        "line A's widget with a visitor token issued by line B's widget",
    ),
    Subject.WIDGET_UNKNOWN: SubjectInfo(
        Kind.WIDGET, "unknown key", "a widget key that is no one's"
    ),
    Subject.WIDGET_RATING: SubjectInfo(
        Kind.WIDGET, "asked to rate", "a visitor whose conversation was closed with a rating asked"
    ),
}


class Outcome(StrEnum):
    """What a cell expects. REST: the status; Socket.IO: the ack (``ok``) or the status the ack's
    error code stands for (a refused connect counts as 401)."""

    OK = "ok"  # 2xx / ack ok
    LISTED = "listed"  # a listing answers 200 and includes the subject
    UNLISTED = "unlisted"  # a listing answers 200 and leaves the subject out
    UNAUTHORIZED = "401"
    FORBIDDEN = "403"
    NOT_FOUND = "404"  # refused where the contract hides that the record exists
    CONFLICT = "409"  # refused by the record's state (closed, taken, still in use, ...)

    @property
    def allowed(self) -> bool:
        return self in (Outcome.OK, Outcome.LISTED, Outcome.UNLISTED)

    @property
    def status(self) -> int | None:
        return None if self.allowed else int(self.value)


class Effect(StrEnum):
    """What the operation does to the world, which decides where its cells run."""

    READ = "read"  # changes nothing
    BENIGN = "benign"  # allowed cells add records or rewrite values as they were: world ones
    FRESH = "fresh"  # allowed cells change their subject for good: each gets a fresh copy


class Check(StrEnum):
    """What an allowed cell checks besides its status (see the test module)."""

    NONE = "none"
    LISTING = "listing"  # LISTED / UNLISTED: is the subject in the answer?
    NO_SECRETS = "no secrets"  # no channel or webhook secret in the answer
    TIMELINE = "timeline"  # lists only conversations (and their activities) the caller sees
    WRITES_VISIBLE = "writes visible"  # writes only into a conversation the caller sees
    TOKEN_REVOKED = "token revoked"  # the signed-out token no longer works
    FILE_BYTES = "file bytes"  # the download is the uploaded file
    # The own identity or token resumes the visitor; a foreign or signed-out one is a stranger.
    WIDGET_SESSION = "widget session"
    WIDGET_OWN = "widget own"  # the visitor's event acts on (or reads) their own chat only


@dataclass(frozen=True)
class Rest:
    method: str
    route: str  # as ``app.router`` names it (the canonical path)
    body: Mapping[str, Any] | None = None  # "{field}" strings are filled in from the subject
    query: str = ""
    # The body goes as raw JSON signed with the subject's "secret", as the api channel's
    # platform signs it (X-OpenLines-Timestamp + X-OpenLines-Signature).
    signed: bool = False
    variant: str = ""  # tells two rows of one route apart

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def id(self) -> str:
        return f"{self.key} [{self.variant}]" if self.variant else self.key


@dataclass(frozen=True)
class Emit:
    namespace: str
    event: str
    payload: Mapping[str, Any] | None = None
    variant: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace} {self.event}"

    @property
    def id(self) -> str:
        return f"{self.key} [{self.variant}]" if self.variant else self.key


Grid = dict[tuple[Role, Subject], Outcome]


@dataclass(frozen=True)
class Row:
    section: str
    op: Rest | Emit
    grid: Grid
    effect: Effect = Effect.READ
    check: Check = Check.NONE
    # Where a refused cell's "nothing changed" is read (as the admin); "{field}" from the subject.
    probe: str | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return self.op.id


def grid(text: str, *, roles: tuple[Role, ...] | None = None) -> Grid:
    """A grid from a literal table: a header of ``Subject`` names, then one line per role
    (``Role`` values) of outcomes (``Outcome`` values; ``-`` for no cell). ``roles`` keeps only
    those lines (socket events have no anonymous callers: they cannot connect)."""
    lines = [line.split() for line in text.strip().splitlines() if line.strip()]
    subjects = [Subject[name] for name in lines[0]]
    cells: Grid = {}
    for role_name, *values in lines[1:]:
        role = Role(role_name)
        if len(values) != len(subjects):
            raise ValueError(f"{role_name}: {len(values)} outcomes for {len(subjects)} subjects")
        if roles is not None and role not in roles:
            continue
        for subject, value in zip(subjects, values, strict=True):
            if value != "-":
                cells[(role, subject)] = Outcome(value)
    return cells


STAFF = (Role.OPERATOR, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN)
# Socket events: the same cells as REST minus anonymous callers (refused at connect).
SOCKET_ROLES = STAFF

# A form's fields in the matrix's bodies (one text field).
FORM_FIELDS = [{"key": "name", "label": {"en": "Name"}, "type": "text"}]
# A bot's nodes in the matrix's bodies (a greeting that hands over).
BOT_NODES = [
    {
        "id": "start",
        "text": {"en": "Hello"},
        "choices": [{"label": {"en": "A person"}, "action": {"type": "operator"}}],
    }
]

# --- the rules, each written once --------------------------------------------------------

ANYONE_SIGNED_IN = grid("""
            NOTHING
operator    ok
supervisor  ok
manager     ok
admin       ok
anonymous   401
""")
ADMIN_ONLY = grid("""
            NOTHING
operator    403
supervisor  403
manager     403
admin       ok
anonymous   401
""")
PUBLIC = grid("""
            NOTHING
anonymous   ok
""")

# hub/access.py: admins all; supervisors their lines; operators their own and their line's
# queue (not colleagues' chats); managers conversations linked to a CRM record. 404 otherwise.
SEE = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    ok   ok    404       ok     404      404
supervisor  ok   ok    ok        ok     404      404
manager     ok   404   ok        404    ok       404
admin       ok   ok    ok        ok     ok       ok
anonymous   401  401   401       401    401      401
""")
LISTS = grid("""
            MINE   QUEUE    COLLEAGUE CLOSED   B_ACTIVE B_QUEUE
operator    listed listed   unlisted  listed   unlisted unlisted
supervisor  listed listed   listed    listed   unlisted unlisted
manager     listed unlisted listed    unlisted listed   unlisted
admin       listed listed   listed    listed   listed   listed
anonymous   401    401      401       401      401      401
""")
# Writing to the client: only who is visibly in the conversation (accept or join first).
WRITE_PUBLIC = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    ok   403   404       409    404      404
supervisor  403  403   403       409    404      404
manager     403  404   403       404    403      404
admin       403  403   403       409    403      403
anonymous   401  401   401       401    401      401
""")
# Whispers: who takes part, and whoever oversees the line.
WRITE_HIDDEN = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    ok   403   404       409    404      404
supervisor  ok   ok    ok        409    404      404
manager     403  404   403       404    403      404
admin       ok   ok    ok        409    ok       ok
anonymous   401  401   401       401    401      401
""")
# Taking a conversation: members of its line, while it waits (then 409: it is taken).
ACCEPT = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    409  ok    409       409    404      404
supervisor  409  ok    409       409    404      404
manager     403  404   403       404    403      404
admin       409  ok    409       409    409      ok
anonymous   401  401   401       401    401      401
""")
# Close, transfer, invite: the assignee, or whoever oversees the line.
ASSIGNEE_OR_OVERSEER = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    ok   403   404       409    404      404
supervisor  ok   ok    ok        409    404      404
manager     403  404   403       404    403      404
admin       ok   ok    ok        409    ok       ok
anonymous   401  401   401       401    401      401
""")
# Return to the queue and pin: as above, on an assigned conversation only.
ASSIGNED_ONLY = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    ok   403   404       409    404      404
supervisor  ok   409   ok        409    404      404
manager     403  404   403       404    403      404
admin       ok   409   ok        409    ok       409
anonymous   401  401   401       401    401      401
""")
# Joining (hidden by default): the line's supervisors and admins.
JOIN = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    403  403   404       409    404      404
supervisor  ok   ok    ok        409    404      404
manager     403  404   403       404    403      404
admin       ok   ok    ok        409    ok       ok
anonymous   401  401   401       401    401      401
""")
# Taking over: the line's supervisors and admins, from the operator who has it (one nobody
# has yet: 409).
TAKE_OVER = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    403  403   404       409    404      404
supervisor  ok   409   ok        409    404      404
manager     403  404   403       404    403      404
admin       ok   409   ok        409    ok       409
anonymous   401  401   401       401    401      401
""")
# Cancelling a transfer: none of these has one waiting, so whoever sees it hears 409 (the
# sender's own cancel is in tests/hub/test_transfer_cancel.py).
CANCEL_TRANSFER = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    409  409   404       409    404      404
supervisor  409  409   409       409    404      404
manager     409  404   409       404    409      404
admin       409  409   409       409    409      409
anonymous   401  401   401       401    401      401
""")
# Leaving: who takes part without being the assignee (others: 409, nothing to leave).
LEAVE = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE JOINED
operator    409  409   404       409    404      404     ok
supervisor  409  409   409       409    404      404     ok
manager     409  404   409       404    409      404     -
admin       409  409   409       409    409      409     ok
anonymous   401  401   401       401    401      401     401
""")
# A deal from a conversation: who sees it, except supervisors (they read the CRM only).
DEAL = grid("""
            MINE QUEUE COLLEAGUE CLOSED B_ACTIVE B_QUEUE
operator    ok   ok    404       ok     404      404
supervisor  403  403   403       403    404      404
manager     ok   404   ok        404    ok       404
admin       ok   ok    ok        ok     ok       ok
anonymous   401  401   401       401    401      401
""")

# Lines: admins write, members (and managers, who read all) read; 404 to strangers.
LINE_READ = grid("""
            LINE_A LINE_B
operator    ok     404
supervisor  ok     404
manager     ok     ok
admin       ok     ok
anonymous   401    401
""")
LINE_LISTS = grid("""
            LINE_A LINE_B
operator    listed unlisted
supervisor  listed unlisted
manager     listed listed
admin       listed listed
anonymous   401    401
""")
LINE_WRITE = grid("""
            LINE_A LINE_B
operator    403    404
supervisor  403    404
manager     403    403
admin       ok     ok
anonymous   401    401
""")
LINE_ADMIN = grid("""
            LINE_A LINE_B
operator    403    403
supervisor  403    403
manager     403    403
admin       ok     ok
anonymous   401    401
""")
LINE_DELETE = grid("""
            LINE_EMPTY LINE_A
operator    403        403
supervisor  403        403
manager     403        403
admin       ok         409
anonymous   401        401
""")
CHANNEL_READ = grid("""
            CHANNEL_A CHANNEL_B
operator    ok        404
supervisor  ok        404
manager     ok        ok
admin       ok        ok
anonymous   401       401
""")
CHANNEL_ADMIN = grid("""
            CHANNEL_A CHANNEL_B
operator    403       403
supervisor  403       403
manager     403       403
admin       ok        ok
anonymous   401       401
""")
BOARD = grid("""
            LINE_A LINE_B
operator    403    404
supervisor  ok     404
manager     403    403
admin       ok     ok
anonymous   401    401
""")

USERS_READ = grid("""
            NOTHING
operator    403
supervisor  ok
manager     403
admin       ok
anonymous   401
""")
USER_READ = grid("""
            SELF OTHER_USER
operator    403  403
supervisor  ok   ok
manager     403  403
admin       ok   ok
anonymous   401  401
""")
USER_WRITE = grid("""
            SELF OTHER_USER
operator    403  403
supervisor  403  403
manager     403  403
admin       ok   ok
anonymous   401  401
""")
STAFF_NAMES = grid("""
            NOTHING
operator    403
supervisor  ok
manager     ok
admin       ok
anonymous   401
""")

# CRM (crm_bridge/access.py): managers and admins edit all, supervisors read all, operators
# read and edit the records of conversations they may see (their own and their line's queue);
# 403 otherwise. A list shows what its reader may read.
CRM_READ = grid("""
            CONTACT_A CONTACT_QUEUE CONTACT_LINE CONTACT_B CONTACT_NONE CONTACT_SHARED DEAL_A
operator    ok        ok            403          403       403          ok             ok
supervisor  ok        ok            ok           ok        ok           ok             ok
manager     ok        ok            ok           ok        ok           ok             ok
admin       ok        ok            ok           ok        ok           ok             ok
anonymous   401       401           401          401       401          401            401
""")
CRM_LISTS = grid("""
            CONTACT_A CONTACT_QUEUE CONTACT_LINE CONTACT_B CONTACT_NONE CONTACT_SHARED
operator    listed    listed        unlisted     unlisted  unlisted     listed
supervisor  listed    listed        listed       listed    listed       listed
manager     listed    listed        listed       listed    listed       listed
admin       listed    listed        listed       listed    listed       listed
anonymous   401       401           401          401       401          401
""")
CRM_EDIT = grid("""
            CONTACT_A CONTACT_QUEUE CONTACT_LINE CONTACT_B CONTACT_NONE CONTACT_SHARED
operator    ok        ok            403          403       403          ok
supervisor  403       403           403          403       403          403
manager     ok        ok            ok           ok        ok           ok
admin       ok        ok            ok           ok        ok           ok
anonymous   401       401           401          401       401          401
""")
# Writing to a contact continues a conversation (none to continue: 409). Managers and admins
# may write to any client; an operator only where they could write in the conversation itself
# (their own: a queued one is accepted first).
CRM_WRITE_TO = grid("""
            CONTACT_A CONTACT_QUEUE CONTACT_LINE CONTACT_B CONTACT_NONE CONTACT_SHARED
operator    ok        403           403          403       403          ok
supervisor  403       403           403          403       403          403
manager     ok        ok            ok           ok        409          ok
admin       ok        ok            ok           ok        409          ok
anonymous   401       401           401          401       401          401
""")
CRM_EDITORS = grid("""
            NOTHING
operator    403
supervisor  403
manager     ok
admin       ok
anonymous   401
""")
CONVERT = grid("""
            LEAD_NONE
operator    403
supervisor  403
manager     ok
admin       ok
anonymous   401
""")
PIPELINE_READ = grid("""
            PIPELINE
operator    ok
supervisor  ok
manager     ok
admin       ok
anonymous   401
""")
PIPELINE_WRITE = grid("""
            PIPELINE
operator    403
supervisor  403
manager     403
admin       ok
anonymous   401
""")
FORM_READ = grid("""
            FORM
operator    ok
supervisor  ok
manager     ok
admin       ok
anonymous   401
""")
FORM_WRITE = grid("""
            FORM
operator    403
supervisor  403
manager     403
admin       ok
anonymous   401
""")
BOT_READ = grid("""
            BOT
operator    ok
supervisor  ok
manager     ok
admin       ok
anonymous   401
""")
BOT_WRITE = grid("""
            BOT
operator    403
supervisor  403
manager     403
admin       ok
anonymous   401
""")
WEBHOOK_DELETE = grid("""
            WEBHOOK
operator    403
supervisor  403
manager     403
admin       ok
anonymous   401
""")

# Quick answers: personal ones are their owner's; a line's are read by its members and
# written by its supervisors and admins.
ANSWERS_LIST = grid("""
            ANSWER_MINE ANSWER_OTHER ANSWER_LINE_A ANSWER_LINE_B
operator    listed      unlisted     listed        unlisted
supervisor  listed      unlisted     listed        unlisted
manager     listed      unlisted     listed        listed
admin       listed      unlisted     listed        listed
anonymous   401         401          401           401
""")
ANSWER_CREATE = grid("""
            NOTHING LINE_A LINE_B
operator    ok      403    404
supervisor  ok      ok     404
manager     ok      403    403
admin       ok      ok     ok
anonymous   401     401    401
""")
ANSWER_DELETE = grid("""
            ANSWER_MINE ANSWER_OTHER ANSWER_LINE_A ANSWER_LINE_B
operator    ok          404          403           404
supervisor  ok          404          ok            404
manager     ok          404          403           403
admin       ok          404          ok            ok
anonymous   401         401          401           401
""")

# Files: staff read files of conversations they may see (and their own uploads); a visitor
# reads their own uploads and the public files of their own conversation; 404 otherwise.
FILES = grid("""
            FILE_VISITOR FILE_WHISPER FILE_COLLEAGUE FILE_B FILE_UNSENT
operator    ok           ok           404            404    404
supervisor  ok           ok           ok             404    404
manager     ok           ok           ok             ok     404
admin       ok           ok           ok             ok     ok
visitor     ok           404          404            404    404
anonymous   401          401          401            401    401
""")
UPLOAD = grid("""
            NOTHING
operator    ok
supervisor  ok
manager     ok
admin       ok
visitor     ok
anonymous   401
""")

OPERATOR_CONNECT = grid("""
            NOTHING
operator    ok
supervisor  ok
manager     ok
admin       ok
visitor     401
anonymous   401
""")
# Connecting always works with a widget's key; who the visitor turns out to be is the check.
WIDGET_CONNECT = grid("""
            WIDGET_OWN WIDGET_TOKEN WIDGET_SIGNED_OUT WIDGET_FOREIGN_TOKEN WIDGET_UNKNOWN
visitor     ok         ok           ok                ok                   401
""")
WIDGET_EVENT = grid("""
            WIDGET_OWN WIDGET_NEW
visitor     ok         ok
""")

# Only the visitor's own conversation, and only while a rating is awaited (else 409).
WIDGET_CSAT = grid("""
            WIDGET_RATING WIDGET_OWN WIDGET_NEW
visitor     ok            409        409
""")

LOGIN = grid("""
            PASSWORD_RIGHT PASSWORD_WRONG
anonymous   ok             401
""")
WEBHOOK_IN = grid("""
            SECRET_RIGHT SECRET_WRONG SECRET_PLAIN SECRET_REPLAYED
anonymous   ok           401          401          401
""")
CSAT = grid("""
            CSAT_LINK CSAT_FORGED
anonymous   ok        403
""")


# Conversations only in CRM cells: who may see them is who may see these (by SEE).
SEEN_AS: dict[Subject, Subject] = {
    Subject.SHARED_A: Subject.MINE,
    Subject.SHARED_B: Subject.B_ACTIVE,
    # queued but linked: its line's staff see the queue, managers what is linked
    Subject.QUEUE_LINKED: Subject.MINE,
}


def _socket(cells: Grid) -> Grid:
    return {(role, subject): o for (role, subject), o in cells.items() if role in SOCKET_ROLES}


CONVERSATION = "/api/v1/conversations/{conversation_id}"
CONVERSATION_PROBE = CONVERSATION + "/messages?limit=200"
CRM_RECORD = "/api/v1/crm/{entity}/{record_id}"
OP = "/operator"
WIDGET = "/widget"
TEXT = {"text": "matrix says hi", "client_msg_id": "{unique}"}
WHISPER = {"text": "matrix whispers", "hidden": True, "client_msg_id": "{unique}"}

ROWS: list[Row] = [
    # --- sign-in ------------------------------------------------------------------------
    Row(
        "Sign-in",
        Rest("POST", "/api/v1/auth/login", {"email": "{email}", "password": "{password}"}),
        LOGIN,
    ),
    Row(
        "Sign-in",
        Rest("POST", "/api/v1/auth/logout"),
        ANYONE_SIGNED_IN,
        Effect.FRESH,
        Check.TOKEN_REVOKED,
        note="each allowed cell signs out a session of its own",
    ),
    Row("Sign-in", Rest("GET", "/api/v1/me"), ANYONE_SIGNED_IN),
    # --- users --------------------------------------------------------------------------
    Row(
        "Users",
        Rest("GET", "/api/v1/users"),
        USERS_READ,
        note="supervisors read users: the console names the staff of their lines",
    ),
    Row(
        "Users",
        Rest(
            "POST",
            "/api/v1/users",
            {
                "email": "matrix-{unique}@example.com",
                "password": "matrix password 1",
                "name": "Matrix {unique}",
                "role": "admin",
            },
        ),
        ADMIN_ONLY,
        Effect.BENIGN,
        probe="/api/v1/users",
    ),
    Row("Users", Rest("GET", "/api/v1/users/{user_id}"), USER_READ),
    Row(
        "Users",
        Rest("PATCH", "/api/v1/users/{user_id}", {"role": "admin"}),
        USER_WRITE,
        Effect.FRESH,
        probe="/api/v1/users/{user_id}",
        note="no one but an admin makes anyone an admin, themselves included",
    ),
    # --- lines and channels -------------------------------------------------------------
    Row(
        "Lines and channels",
        Rest("POST", "/api/v1/lines", {"name": "Matrix {unique}"}),
        ADMIN_ONLY,
        Effect.BENIGN,
        probe="/api/v1/lines",
    ),
    Row("Lines and channels", Rest("GET", "/api/v1/lines"), LINE_LISTS, check=Check.LISTING),
    Row("Lines and channels", Rest("GET", "/api/v1/lines/{line_id}"), LINE_READ),
    Row(
        "Lines and channels",
        Rest("PATCH", "/api/v1/lines/{line_id}", {"name": "{name}"}),
        LINE_WRITE,
        Effect.BENIGN,
        probe="/api/v1/lines/{line_id}",
    ),
    Row(
        "Lines and channels",
        Rest("DELETE", "/api/v1/lines/{line_id}"),
        LINE_DELETE,
        Effect.FRESH,
        probe="/api/v1/lines/{line_id}",
        note="a line with open conversations is not deleted (409)",
    ),
    Row(
        "Lines and channels",
        Rest("POST", "/api/v1/lines/{line_id}/channels", {"type": "api", "config": {}}),
        LINE_ADMIN,
        Effect.BENIGN,
        probe="/api/v1/lines/{line_id}/channels",
    ),
    Row("Lines and channels", Rest("GET", "/api/v1/channel-types"), ANYONE_SIGNED_IN),
    Row(
        "Lines and channels",
        Rest("GET", "/api/v1/lines/{line_id}/channels"),
        LINE_READ,
        check=Check.NO_SECRETS,
    ),
    Row(
        "Lines and channels",
        Rest("GET", "/api/v1/channels/{channel_id}"),
        CHANNEL_READ,
        check=Check.NO_SECRETS,
    ),
    Row(
        "Lines and channels",
        Rest("PATCH", "/api/v1/channels/{channel_id}", {"active": True}),
        CHANNEL_ADMIN,
        Effect.BENIGN,
        Check.NO_SECRETS,
        probe="/api/v1/channels/{channel_id}",
    ),
    Row(
        "Lines and channels",
        Rest("DELETE", "/api/v1/channels/{channel_id}"),
        CHANNEL_ADMIN,
        Effect.FRESH,
        probe="/api/v1/channels/{channel_id}",
    ),
    Row(
        "Lines and channels",
        Rest("POST", "/api/v1/channels/{channel_id}/rotate-secret"),
        CHANNEL_ADMIN,
        Effect.FRESH,
        probe="/api/v1/channels/{channel_id}",
        note="the answer shows the new secret, once",
    ),
    Row(
        "Lines and channels",
        Rest(
            "POST",
            "/hooks/{type}/{channel_id}",
            {
                "message_id": "{unique}",
                "chat_id": "{unique}",
                "sender": {"id": "{unique}", "name": "Matrix hook"},
                "text": "from the platform",
            },
            signed=True,
        ),
        WEBHOOK_IN,
        Effect.BENIGN,
        note="platform webhooks answer to the channel's secret, not to roles: the API channel's "
        "to a signature of timestamp and body, each taken once (Telegram and VK in their "
        "suites)",
    ),
    # --- conversations ------------------------------------------------------------------
    Row(
        "Conversations",
        Rest("GET", "/api/v1/conversations", query="q={client_name}"),
        LISTS,
        check=Check.LISTING,
    ),
    Row("Conversations", Rest("GET", CONVERSATION), SEE),
    Row("Conversations", Rest("GET", CONVERSATION + "/messages"), SEE),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/messages", TEXT, variant="public"),
        WRITE_PUBLIC,
        Effect.FRESH,
        probe=CONVERSATION_PROBE,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/messages", WHISPER, variant="hidden"),
        WRITE_HIDDEN,
        Effect.FRESH,
        probe=CONVERSATION_PROBE,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/accept"),
        ACCEPT,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/close"),
        ASSIGNEE_OR_OVERSEER,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/transfer", {"to_line_id": "{other_line_id}"}),
        ASSIGNEE_OR_OVERSEER,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/invite", {"user_id": "{other_operator_id}"}),
        ASSIGNEE_OR_OVERSEER,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/join", {"hidden": True}),
        JOIN,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/transfer/cancel"),
        CANCEL_TRANSFER,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/take-over"),
        TAKE_OVER,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/leave"),
        LEAVE,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/return"),
        ASSIGNED_ONLY,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/pin"),
        ASSIGNED_ONLY,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/unpin"),
        ASSIGNEE_OR_OVERSEER,
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "Conversations",
        Rest("POST", CONVERSATION + "/deal", {"title": "Matrix deal"}),
        DEAL,
        Effect.FRESH,
        probe=CONVERSATION,
        note="supervisors read CRM data and start no deals",
    ),
    Row(
        "Conversations",
        Rest("GET", "/api/v1/console/conversations/{conversation_id}/history"),
        SEE,
    ),
    Row(
        "Conversations",
        Rest("GET", "/api/v1/console/clients/{client_id}"),
        SEE,
        note="a client is shown to who may see one of their conversations, with those only",
    ),
    # --- CRM ------------------------------------------------------------------------------
    Row(
        "CRM",
        Rest("GET", "/api/v1/crm/{entity}", query="q={name}"),
        CRM_LISTS,
        check=Check.LISTING,
    ),
    Row(
        "CRM",
        Rest("POST", "/api/v1/crm/{entity}", {"name": "Matrix {unique}"}),
        CRM_EDITORS,
        Effect.BENIGN,
        probe="/api/v1/crm/contacts?q=Matrix",
    ),
    Row("CRM", Rest("GET", CRM_RECORD), CRM_READ),
    Row(
        "CRM",
        Rest("PATCH", CRM_RECORD, {"name": "{name}"}),
        CRM_EDIT,
        Effect.BENIGN,
        probe=CRM_RECORD,
    ),
    Row(
        "CRM",
        Rest("GET", CRM_RECORD + "/timeline"),
        CRM_READ,
        check=Check.TIMELINE,
        note="lists the record's conversations (with their last message) the caller may see",
    ),
    Row(
        "CRM",
        Rest("POST", CRM_RECORD + "/notes", {"text": "matrix note"}),
        CRM_EDIT,
        Effect.BENIGN,
        probe=CRM_RECORD + "/timeline",
    ),
    Row(
        "CRM",
        Rest("POST", "/api/v1/crm/contacts/{record_id}/messages", {"text": "matrix message"}),
        CRM_WRITE_TO,
        Effect.FRESH,
        Check.WRITES_VISIBLE,
        probe=CRM_RECORD + "/timeline",
        note="writes only into a conversation the caller may see; an operator only into one "
        "they are in (a queued one is accepted first)",
    ),
    Row(
        "CRM",
        Rest("POST", "/api/v1/crm/leads/{record_id}/convert", {"contact": True}),
        CONVERT,
        Effect.FRESH,
        probe=CRM_RECORD,
    ),
    Row("CRM", Rest("GET", "/api/v1/crm/pipelines"), ANYONE_SIGNED_IN),
    Row(
        "CRM",
        Rest(
            "POST",
            "/api/v1/crm/pipelines",
            {"name": "Matrix {unique}", "stages": [{"name": "New"}]},
        ),
        ADMIN_ONLY,
        Effect.BENIGN,
        probe="/api/v1/crm/pipelines",
    ),
    Row("CRM", Rest("GET", "/api/v1/crm/pipelines/{pipeline_id}"), PIPELINE_READ),
    Row(
        "CRM",
        Rest("PATCH", "/api/v1/crm/pipelines/{pipeline_id}", {"name": "Matrix {unique}"}),
        PIPELINE_WRITE,
        Effect.FRESH,
        probe="/api/v1/crm/pipelines/{pipeline_id}",
    ),
    Row(
        "CRM",
        Rest("DELETE", "/api/v1/crm/pipelines/{pipeline_id}"),
        PIPELINE_WRITE,
        Effect.FRESH,
        probe="/api/v1/crm/pipelines",
        note="refused (409) for the default pipeline and for one that still has deals",
    ),
    # --- forms (issue 17) -------------------------------------------------------------------
    Row("Forms", Rest("GET", "/api/v1/forms"), ANYONE_SIGNED_IN),
    Row(
        "Forms",
        Rest("POST", "/api/v1/forms", {"name": "Matrix {unique}", "fields": FORM_FIELDS}),
        ADMIN_ONLY,
        Effect.BENIGN,
        probe="/api/v1/forms",
    ),
    Row("Forms", Rest("GET", "/api/v1/forms/{form_id}"), FORM_READ),
    Row(
        "Forms",
        Rest("PATCH", "/api/v1/forms/{form_id}", {"name": "Matrix {unique}"}),
        FORM_WRITE,
        Effect.FRESH,
        probe="/api/v1/forms/{form_id}",
    ),
    Row(
        "Forms",
        Rest("DELETE", "/api/v1/forms/{form_id}"),
        FORM_WRITE,
        Effect.FRESH,
        probe="/api/v1/forms",
    ),
    # --- bots (issue 17) --------------------------------------------------------------------
    Row("Bots", Rest("GET", "/api/v1/bots"), ANYONE_SIGNED_IN),
    Row(
        "Bots",
        Rest("POST", "/api/v1/bots", {"name": "Matrix {unique}", "nodes": BOT_NODES}),
        ADMIN_ONLY,
        Effect.BENIGN,
        probe="/api/v1/bots",
    ),
    Row("Bots", Rest("GET", "/api/v1/bots/{bot_id}"), BOT_READ),
    Row(
        "Bots",
        Rest("PATCH", "/api/v1/bots/{bot_id}", {"name": "Matrix {unique}"}),
        BOT_WRITE,
        Effect.FRESH,
        probe="/api/v1/bots/{bot_id}",
    ),
    Row(
        "Bots",
        Rest("DELETE", "/api/v1/bots/{bot_id}"),
        BOT_WRITE,
        Effect.FRESH,
        probe="/api/v1/bots",
    ),
    Row("CRM", Rest("GET", "/api/v1/webhooks"), ADMIN_ONLY, check=Check.NO_SECRETS),
    Row(
        "CRM",
        Rest(
            "POST",
            "/api/v1/webhooks",
            {"url": "http://127.0.0.1:9/matrix-{unique}", "events": ["deal.stage_changed"]},
        ),
        ADMIN_ONLY,
        Effect.BENIGN,
        probe="/api/v1/webhooks",
    ),
    Row(
        "CRM",
        Rest("PATCH", "/api/v1/webhooks/{webhook_id}", {"active": False}),
        WEBHOOK_DELETE,
        Effect.FRESH,
        Check.NO_SECRETS,
        probe="/api/v1/webhooks",
    ),
    Row(
        "CRM",
        Rest("DELETE", "/api/v1/webhooks/{webhook_id}"),
        WEBHOOK_DELETE,
        Effect.FRESH,
        probe="/api/v1/webhooks",
    ),
    # --- the console ------------------------------------------------------------------------
    Row("Console", Rest("GET", "/api/v1/console/lines/{line_id}/members"), LINE_READ),
    Row("Console", Rest("GET", "/api/v1/console/lines/{line_id}/board"), BOARD),
    Row(
        "Console",
        Rest("GET", "/api/v1/console/quick-answers"),
        ANSWERS_LIST,
        check=Check.LISTING,
    ),
    Row(
        "Console",
        Rest(
            "POST",
            "/api/v1/console/quick-answers",
            {"title": "Matrix {unique}", "text": "matrix answer", "line_id": "{line_id?}"},
        ),
        ANSWER_CREATE,
        Effect.BENIGN,
        probe="/api/v1/console/quick-answers",
        note="no record: a personal answer; a line: shared with it",
    ),
    Row(
        "Console",
        Rest("PATCH", "/api/v1/console/quick-answers/{answer_id}", {"text": "matrix edit"}),
        ANSWER_DELETE,
        Effect.FRESH,
        probe="/api/v1/console/quick-answers",
        note="who may edit an answer is who may delete it",
    ),
    Row(
        "Console",
        Rest("DELETE", "/api/v1/console/quick-answers/{answer_id}"),
        ANSWER_DELETE,
        Effect.FRESH,
        probe="/api/v1/console/quick-answers",
        note="someone else's personal answer is 404 to everyone, admins included",
    ),
    Row("Console", Rest("GET", "/api/v1/console/staff"), STAFF_NAMES),
    Row("Console", Rest("GET", "/api/v1/console/transfer-lines"), ANYONE_SIGNED_IN),
    # --- files and the widget's REST side -------------------------------------------------
    Row(
        "Files",
        Rest("POST", "/api/v1/widget/uploads"),
        UPLOAD,
        Effect.BENIGN,
        note="visitors with their visitor token, staff with their bearer token",
    ),
    Row("Files", Rest("GET", "/api/v1/files/{file_id}"), FILES, check=Check.FILE_BYTES),
    # --- operations and signed links --------------------------------------------------------
    Row("Operations", Rest("GET", "/healthz"), PUBLIC),
    Row(
        "Operations",
        Rest("GET", "/metrics"),
        PUBLIC,
        note="open unless METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set "
        "(tests/hub/test_hardening.py)",
    ),
    Row("Operations", Rest("GET", "/api/v1/openapi.json"), PUBLIC),
    Row(
        "Operations",
        Rest("GET", "/csat/{token}", query="rating=5"),
        CSAT,
        Effect.FRESH,
        note="the signed link is the permission",
    ),
    # --- Socket.IO /operator: the same rules as REST ------------------------------------------
    Row("/operator", Emit(OP, "connect"), OPERATOR_CONNECT),
    Row("/operator", Emit(OP, "status:set", {"status": "away"}), _socket(ANYONE_SIGNED_IN)),
    Row(
        "/operator",
        Emit(OP, "message:send", {"conversation_id": "{conversation_id}", **TEXT}, "public"),
        _socket(WRITE_PUBLIC),
        Effect.FRESH,
        probe=CONVERSATION_PROBE,
    ),
    Row(
        "/operator",
        Emit(OP, "message:send", {"conversation_id": "{conversation_id}", **WHISPER}, "hidden"),
        _socket(WRITE_HIDDEN),
        Effect.FRESH,
        probe=CONVERSATION_PROBE,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:accept", {"id": "{conversation_id}"}),
        _socket(ACCEPT),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:close", {"id": "{conversation_id}"}),
        _socket(ASSIGNEE_OR_OVERSEER),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(
            OP,
            "conversation:transfer",
            {"id": "{conversation_id}", "to_line_id": "{other_line_id}"},
        ),
        _socket(ASSIGNEE_OR_OVERSEER),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(
            OP,
            "conversation:invite",
            {"id": "{conversation_id}", "user_id": "{other_operator_id}"},
        ),
        _socket(ASSIGNEE_OR_OVERSEER),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:join", {"id": "{conversation_id}", "hidden": True}),
        _socket(JOIN),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:transfer_cancel", {"id": "{conversation_id}"}),
        _socket(CANCEL_TRANSFER),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:take_over", {"id": "{conversation_id}"}),
        _socket(TAKE_OVER),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:leave", {"id": "{conversation_id}"}),
        _socket(LEAVE),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:return", {"id": "{conversation_id}"}),
        _socket(ASSIGNED_ONLY),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:pin", {"id": "{conversation_id}", "pinned": True}, "pin"),
        _socket(ASSIGNED_ONLY),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "conversation:pin", {"id": "{conversation_id}", "pinned": False}, "unpin"),
        _socket(ASSIGNEE_OR_OVERSEER),
        Effect.FRESH,
        probe=CONVERSATION,
    ),
    Row(
        "/operator",
        Emit(OP, "typing", {"conversation_id": "{conversation_id}", "on": True}),
        _socket(SEE),
    ),
    # --- Socket.IO /widget: a visitor acts on their own chat only ----------------------------
    Row(
        "/widget",
        Emit(WIDGET, "connect"),
        WIDGET_CONNECT,
        check=Check.WIDGET_SESSION,
        note="a visitor is resumed by their token on the widget that issued it, a signed-in "
        "one only with their signed identity; anyone else is a new visitor",
    ),
    Row(
        "/widget",
        Emit(WIDGET, "message:send", {"text": "matrix visitor", "client_msg_id": "{unique}"}),
        WIDGET_EVENT,
        Effect.BENIGN,
        Check.WIDGET_OWN,
    ),
    Row(
        "/widget",
        Emit(WIDGET, "history", {}),
        WIDGET_EVENT,
        check=Check.WIDGET_OWN,
        note="public messages of the visitor's own conversation only",
    ),
    Row(
        "/widget", Emit(WIDGET, "prechat", {"name": "{client_name}"}), WIDGET_EVENT, Effect.BENIGN
    ),
    Row("/widget", Emit(WIDGET, "typing", {"on": True}), WIDGET_EVENT),
    Row(
        "/widget",
        Emit(WIDGET, "csat:submit", {"rating": 5}),
        WIDGET_CSAT,
        Effect.FRESH,
        note="rates the visitor's own last conversation; the payload names none",
    ),
]

# Cells where today's code disagrees with the table; each runs as xfail(strict=True), so the
# fix makes it pass, fails the suite, and asks for its entry here to be removed. None today.
KNOWN_FAILING: dict[tuple[str, Role, Subject], str] = {}

# Routes of the app that are no API: served files and pages, and Socket.IO's own transport
# (its events are rows of their own).
NOT_API_ROUTES: dict[str, str] = {
    "GET /socket.io/": "the Socket.IO transport; its events have rows",
    "POST /socket.io/": "the Socket.IO transport; its events have rows",
    "GET /": "the console's HTML page (no data; the console's API calls have rows)",
    "GET /console/app.js": "the console bundle, a static file",
    "GET /widget/loader.js": "the widget loader, a static file",
    "GET /widget/widget.js": "the widget bundle, a static file",
    "GET /demo": "the demo page embedding the widget (no data)",
}
# Socket.IO events no client emits.
NOT_CLIENT_EVENTS: dict[str, str] = {
    "/operator disconnect": "fired by the transport when a socket goes",
    "/widget disconnect": "fired by the transport when a socket goes",
}


def cells() -> list[tuple[Row, Role, Subject]]:
    return [(row, role, subject) for row in ROWS for (role, subject) in row.grid]


# --- the docs --------------------------------------------------------------------------------

_ROLE_COLUMNS = (
    Role.OPERATOR,
    Role.SUPERVISOR,
    Role.MANAGER,
    Role.ADMIN,
    Role.VISITOR,
    Role.ANONYMOUS,
)


_MARKS = {Outcome.OK: "✓", Outcome.LISTED: "listed", Outcome.UNLISTED: "not listed"}


def _cell_text(row: Row, role: Role) -> str:
    """One role's cells of a row: the outcome alone when it is the same for every record,
    else each outcome with the records it applies to."""
    by_outcome: dict[Outcome, list[Subject]] = {}
    for (r, subject), outcome in row.grid.items():
        if r == role:
            by_outcome.setdefault(outcome, []).append(subject)
    if len(by_outcome) == 1:
        (outcome,) = by_outcome
        if outcome not in (Outcome.LISTED, Outcome.UNLISTED):
            return _MARKS.get(outcome, outcome.value)
    return "; ".join(
        f"{_MARKS.get(outcome, outcome.value)}: {', '.join(s.info.label for s in subjects)}"
        for outcome, subjects in by_outcome.items()
    )


def markdown() -> str:
    """The "Who may do what" section of docs/api.md."""
    out = [
        "## Who may do what",
        "",
        "Generated from `tests/security/authz_table.py` (`python -m tests.security.authz_table`);",
        "`tests/security/test_authz_matrix.py` runs every cell against one world and fails when",
        "a route or event of the app has no row here. The operator works in line A, the",
        "supervisor supervises line A; ✓ is a 2xx answer (an `ok` ack), a number the refusal",
        "(a socket ack's error code stands for it; a refused connect counts as 401). 404 where",
        "the contract hides that a record exists. A refused call changes nothing.",
        "",
        "The records the cells act on (*relation* of operator / supervisor / manager). A contact",
        "is linked to a conversation as the CRM links people: its client is a widget visitor",
        "whom the site signed in with the contact's e-mail (identity verification); the other",
        "conversations come from clients of an API channel.",
        "",
    ]
    for subject, info in SUBJECTS.items():
        if subject is Subject.NOTHING:
            continue
        relations = [info.relation(r).value for r in (_OP, _SUP, _MGR)]
        told = "" if set(relations) == {Relation.ANY} else f" (*{' / '.join(relations)}*)"
        out.append(f"- **{info.label}**: {info.description}{told}")
    section = None
    header = " | ".join(r.value for r in _ROLE_COLUMNS)
    for row in ROWS:
        if row.section != section:
            section = row.section
            out += ["", f"### {section}", "", f"| route or event | {header} |", "|---" * 7 + "|"]
        name = row.op.id.replace("|", "\\|")
        values = " | ".join(_cell_text(row, r) for r in _ROLE_COLUMNS)
        out.append(f"| `{name}`{' — ' + row.note if row.note else ''} | {values} |")
    if KNOWN_FAILING:
        out += ["", "Known to disagree today (expected failures until fixed):", ""]
    else:
        out += ["", "No cell is known to disagree with the application today."]
    for (op_id, role, subject), reason in KNOWN_FAILING.items():
        out.append(f"- `{op_id}`, {role.value}, {subject.info.label}: {reason}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
