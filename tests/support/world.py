"""A ready-made line: operators, a widget channel, and helpers to start a conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.clients import Api, SocketClient, new_msg_id, visitor_socket


@dataclass
class LineWorld:
    admin: Api
    line: dict[str, Any]
    widget: dict[str, Any]
    operators: list[Api] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.widget["key"])


async def make_line(admin: Api, operators: int = 1, **line_fields: Any) -> LineWorld:
    staff = [await admin.create_user("operator") for _ in range(operators)]
    line = await admin.create_line(
        operators=[api.user["id"] for api in staff if api.user], **line_fields
    )
    widget = await admin.create_channel(line["id"], "widget", {"title": "Help"})
    return LineWorld(admin=admin, line=line, widget=widget, operators=staff)


async def visitor_says(base_url: str, key: str, text: str) -> tuple[SocketClient, dict[str, Any]]:
    """Connect a new visitor and send one message; returns the client and the stored message."""
    visitor = await visitor_socket(base_url, key)
    ack = await visitor.call("message:send", {"text": text, "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    return visitor, ack["message"]
