"""Bots that answer first (issue 17, point 5): a bot is a menu of nodes; the first node greets,
each node says its text (in Russian and English) and offers choices, and a choice leads to
another node or does something — answers, transfers to a line, hands the client to the queue,
sends a form, or closes. These are the models and the rules that hold inside one bot; what a
bot refers to outside itself (lines, forms) is checked by the API (hub/api/bots.py), and the
``bots`` collection is hub/storage/bots.py."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.forms import Texts
from hub.models import Doc, utcnow

MAX_NODES = 100
MAX_CHOICES = 10
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Answer(_Action):
    """The bot answers with ``text`` and the menu stays where it is."""

    type: Literal["answer"] = "answer"
    text: Texts


class Transfer(_Action):
    """The conversation moves to another line's queue (the bot's work is done)."""

    type: Literal["transfer"] = "transfer"
    line_id: str = Field(min_length=1, max_length=100)


class ToOperator(_Action):
    """The client is handed to the line's queue now, in the order they arrived."""

    type: Literal["operator"] = "operator"


class SendForm(_Action):
    type: Literal["form"] = "form"
    form_id: str = Field(min_length=1, max_length=100)


class Close(_Action):
    type: Literal["close"] = "close"


BotAction = Annotated[
    Answer | Transfer | ToOperator | SendForm | Close, Field(discriminator="type")
]


class Choice(BaseModel):
    """One button of a node: it leads to the node ``next`` or does ``action``, one of them."""

    model_config = ConfigDict(extra="forbid")

    label: Texts
    next: str | None = Field(default=None, min_length=1, max_length=40)
    action: BotAction | None = None

    @model_validator(mode="after")
    def _next_or_action(self) -> Self:
        if (self.next is None) == (self.action is None):
            raise ValueError("a choice leads to a node (next) or does an action, one of them")
        return self


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    text: Texts
    choices: list[Choice] = Field(default_factory=list, max_length=MAX_CHOICES)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("a node id is 1 to 40 latin letters, digits, _ or -")
        return value


class BotIn(BaseModel):
    """What an admin writes: the bot without its id and times. The first node greets."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    nodes: list[Node] = Field(min_length=1, max_length=MAX_NODES)

    @field_validator("nodes")
    @classmethod
    def _a_closed_menu(cls, nodes: list[Node]) -> list[Node]:
        ids = [node.id for node in nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("the nodes' ids must differ")
        known = set(ids)
        for node in nodes:
            for choice in node.choices:
                if choice.next is not None and choice.next not in known:
                    raise ValueError(f"node {node.id!r} leads to no node {choice.next!r}")
        return nodes

    def line_ids(self) -> set[str]:
        return {a.line_id for a in self._actions() if isinstance(a, Transfer)}

    def form_ids(self) -> set[str]:
        return {a.form_id for a in self._actions() if isinstance(a, SendForm)}

    def _actions(self) -> list[_Action]:
        return [c.action for n in self.nodes for c in n.choices if c.action is not None]


class Bot(Doc):
    name: str
    nodes: list[Node]
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = None
