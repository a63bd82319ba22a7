"""``GET /api/v1/openapi.json``: the hub's whole HTTP surface, described from the app's router.

The router gives the paths, methods and summaries (the handlers' docstrings); the pydantic
models that validate the bodies give their JSON Schemas; ``OPERATIONS`` says what neither can:
the query parameters, the success answer and every status an operation can give, so that
schema fuzzing (tests/security) can hold the hub to them. A route missing from ``OPERATIONS``
is left out of the document, and the test that compares it with the router fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub import __version__
from hub.http import json_response
from hub.models import ConversationStatus, Role

routes = web.RouteTableDef()
OPENAPI = web.AppKey("openapi", dict)

JSON = "application/json"
HTML = "text/html"
JAVASCRIPT = "text/javascript"
TEXT = "text/plain"
MULTIPART = "multipart/form-data"
ANY_MEDIA = "*/*"

# Methods that are not operations of their own: aiohttp answers HEAD like the GET beside it.
IMPLIED_METHODS = frozenset({"HEAD", "*"})

_STATUS_TEXT = {
    101: "switching to WebSocket",
    200: "success",
    201: "created",
    204: "done, no body",
    400: "malformed request (not JSON, not multipart, a bad webhook payload)",
    401: "no valid credentials",
    403: "the caller's role or membership does not allow this",
    404: "no such resource, or one the caller may not see",
    408: "the request body did not arrive in time",
    409: "conflicts with the resource's current state",
    413: "the body is too large",
    415: "wrong content type (of the body or of an uploaded file)",
    422: "the body or a query parameter does not validate",
    429: "too many attempts; see Retry-After",
    502: "the messaging platform refused or could not be reached",
    503: "a dependency is down",
}


class Auth(StrEnum):
    """Who may call an operation (and so which credentials the document asks for)."""

    NONE = "none"
    STAFF = "staff"  # a staff bearer token
    FILE = "file"  # a visitor token (?token= or X-Visitor-Token), a staff token or the cookie
    UPLOAD = "upload"  # a visitor token (X-Visitor-Token) or a staff token
    METRICS = "metrics"  # METRICS_TOKEN, when one is set


class Body(StrEnum):
    """A request body that is not one of the validating pydantic models."""

    MULTIPART_FILE = "multipart_file"  # one file in the multipart field ``file``
    PLATFORM_JSON = "platform_json"  # whatever the platform posts; the channel kind parses it


@dataclass(frozen=True)
class Operation:
    """What the router and the body models do not say about one operation."""

    ok: tuple[int, ...] = (200,)
    # The success answer: a JSON Schema for ``media`` (``None``: any body of that type).
    result: dict[str, Any] | None = None
    media: str | None = JSON  # the success content type; ``None``: no body (204)
    # Statuses beyond those every operation like it can give (see ``_common_errors``).
    errors: tuple[int, ...] = ()
    query: tuple[dict[str, Any], ...] = ()
    headers: tuple[dict[str, Any], ...] = ()
    auth: Auth = Auth.STAFF
    body: Body | None = None
    # Error answers that are not the JSON error body: (status, content type, JSON Schema).
    other_errors: tuple[tuple[int, str, dict[str, Any]], ...] = ()


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object that has (at least) these properties."""
    return {"type": "object", "required": sorted(properties), "properties": properties}


def _list_of(key: str, item: str, *, cursor: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {key: {"type": "array", "items": _ref(item)}}
    if cursor:
        properties["next_cursor"] = {"type": ["string", "null"]}
    return _object(properties)


STRING: dict[str, Any] = {"type": "string"}
STRINGS: dict[str, Any] = {"type": "array", "items": STRING}
OPTIONAL_STRING: dict[str, Any] = {"type": ["string", "null"]}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}

# What the answers carry: the fields clients rely on (API.md), not every field there is.
RESULT_SCHEMAS: dict[str, Any] = {
    "Error": ERROR_SCHEMA,
    "User": _object(
        {
            "id": STRING,
            "email": STRING,
            "name": STRING,
            "role": {"enum": [r.value for r in Role]},
            "active": {"type": "boolean"},
        }
    ),
    "Line": _object(
        {
            "id": STRING,
            "name": STRING,
            "operators": STRINGS,
            "supervisors": STRINGS,
            "distribution": STRING,
            # Archived: takes no new conversations (its channels are off); false restores it.
            "archived": {"type": "boolean"},
        }
    ),
    "Channel": _object(
        {
            "id": STRING,
            "type": STRING,
            "line_id": STRING,
            "config": {"type": "object"},
            "secrets_set": STRINGS,
        }
    ),
    "ChannelType": _object(
        {
            "type": STRING,
            "title": _object({"ru": STRING, "en": STRING}),
            "schema": {"type": "object"},
        }
    ),
    "Conversation": _object(
        {
            "id": STRING,
            "line_id": STRING,
            "channel": {"type": "object"},
            "client": {"type": "object"},
            "status": {"enum": [s.value for s in ConversationStatus]},
            "assignee_id": OPTIONAL_STRING,
            "participants": {"type": "array"},
        }
    ),
    "Message": _object(
        {
            "id": STRING,
            "conversation_id": STRING,
            "seq": {"type": "integer"},
            "direction": STRING,
            "author": {"type": "object"},
            "text": STRING,
            "hidden": {"type": "boolean"},
            "attachments": {"type": "array"},
            # A system note's code and params (docs/i18n.md); text is its English rendering.
            "system": {
                "type": ["object", "null"],
                "properties": {"code": STRING, "params": {"type": "object"}},
            },
        }
    ),
    "Attachment": _object(
        {"id": STRING, "name": STRING, "mime": STRING, "size": {"type": "integer"}}
    ),
    "Record": _object({"id": STRING}),
    "Health": _object(
        {"status": {"enum": ["ok", "error"]}, "mongo": STRING, "redis": STRING},
    ),
}

OK_RESULT = _object({"ok": {"const": True}})


def _int(name: str, low: int, high: int, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "integer", "minimum": low, "maximum": high},
    }


def _text(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", **schema},
    }


LIMIT_200 = _int("limit", 1, 200, "how many to return")
CURSOR = _text("cursor", "next_cursor of the previous page")
LINE_ID = _text("line_id", "only this line's")
Q = _text("q", "search words")
RESPONSIBLE = _text("responsible_id", "a user id, or `me`")

VISITOR_TOKEN = {
    "name": "X-Visitor-Token",
    "in": "header",
    "description": "the widget visitor's token (from the `session` event)",
    "schema": STRING,
}
ORIGIN = {
    "name": "Origin",
    "in": "header",
    "description": "the page's origin, checked against the widget's allowed origins",
    "schema": STRING,
}
BUNDLE_VERSION = _text("v", "the bundle's content hash: cached for a year when current")

# Accept, close, transfer, ...: the caller must be allowed to act, and the state must fit.
_CONVERSATION_ACTION = Operation(result=_ref("Conversation"), errors=(403, 409))

# Each CRM entity: its list key and the filters its list takes.
_CRM_LISTS: dict[str, tuple[dict[str, Any], ...]] = {
    "leads": (
        _text("status", "the lead's status"),
        _text("source", "where the lead came from"),
        RESPONSIBLE,
    ),
    "contacts": (RESPONSIBLE, _text("company_id", "the contact's company")),
    "companies": (RESPONSIBLE,),
    "deals": (
        _text("pipeline_id", "the deal's pipeline"),
        _text("stage", "a stage id of the pipeline"),
        _text("contact_id", "the deal's contact"),
        _text("company_id", "the deal's company"),
        RESPONSIBLE,
    ),
}


def _crm_operations() -> dict[tuple[str, str], Operation]:
    table: dict[tuple[str, str], Operation] = {}
    for entity, filters in _CRM_LISTS.items():
        base = f"/api/v1/crm/{entity}"
        record = f"{base}/{{record_id}}"
        table[("GET", base)] = Operation(
            result=_list_of(entity, "Record", cursor=True),
            query=(*filters, Q, _int("limit", 1, 500, "how many to return"), CURSOR),
        )
        # Managers, operators and admins write CRM records; supervisors only read them.
        table[("POST", base)] = Operation(ok=(201,), result=_ref("Record"), errors=(403,))
        table[("GET", record)] = Operation(result=_ref("Record"), errors=(403,))
        table[("PATCH", record)] = Operation(result=_ref("Record"), errors=(403, 409))
        table[("GET", f"{record}/timeline")] = Operation(result={"type": "object"}, errors=(403,))
        table[("POST", f"{record}/notes")] = Operation(
            ok=(201,), result=_ref("Record"), errors=(403,)
        )
    return table


# Every operation of the hub. Paths are as documented: a path parameter the route restricts to
# a few words (``{entity:leads|contacts|...}``) is documented once per word.
OPERATIONS: dict[tuple[str, str], Operation] = {
    # --- auth and users
    ("POST", "/api/v1/auth/login"): Operation(
        result=_object({"token": STRING, "user": _ref("User")}),
        errors=(401, 429),
        auth=Auth.NONE,
    ),
    ("POST", "/api/v1/auth/logout"): Operation(result=OK_RESULT),
    ("GET", "/api/v1/me"): Operation(result=_ref("User")),
    ("GET", "/api/v1/users"): Operation(result=_list_of("users", "User"), errors=(403,)),
    ("POST", "/api/v1/users"): Operation(ok=(201,), result=_ref("User"), errors=(403, 409)),
    ("GET", "/api/v1/users/{user_id}"): Operation(result=_ref("User"), errors=(403,)),
    ("PATCH", "/api/v1/users/{user_id}"): Operation(result=_ref("User"), errors=(403, 409)),
    # --- lines and channels
    ("POST", "/api/v1/lines"): Operation(ok=(201,), result=_ref("Line"), errors=(403,)),
    ("GET", "/api/v1/lines"): Operation(result=_list_of("lines", "Line")),
    ("GET", "/api/v1/lines/{line_id}"): Operation(result=_ref("Line")),
    ("PATCH", "/api/v1/lines/{line_id}"): Operation(result=_ref("Line"), errors=(403,)),
    ("DELETE", "/api/v1/lines/{line_id}"): Operation(ok=(204,), media=None, errors=(403, 409)),
    ("POST", "/api/v1/lines/{line_id}/channels"): Operation(
        ok=(201,), result=_ref("Channel"), errors=(403, 502)
    ),
    ("GET", "/api/v1/lines/{line_id}/channels"): Operation(result=_list_of("channels", "Channel")),
    ("GET", "/api/v1/channel-types"): Operation(result=_list_of("channel_types", "ChannelType")),
    ("GET", "/api/v1/channels/{channel_id}"): Operation(result=_ref("Channel")),
    ("PATCH", "/api/v1/channels/{channel_id}"): Operation(
        result=_ref("Channel"), errors=(403, 409, 502)
    ),
    ("DELETE", "/api/v1/channels/{channel_id}"): Operation(
        ok=(204,), media=None, errors=(403, 502)
    ),
    # The channel, plus its new generated secrets (shown in this answer only).
    ("POST", "/api/v1/channels/{channel_id}/rotate-secret"): Operation(
        result=_ref("Channel"), errors=(403, 409, 422)
    ),
    ("POST", "/hooks/{type}/{channel_id}"): Operation(
        media=ANY_MEDIA,  # what the platform wants back: JSON, or VK's plain `ok`
        errors=(400, 401, 403, 408, 413, 415, 422),
        auth=Auth.NONE,
        body=Body.PLATFORM_JSON,
    ),
    # --- conversations
    ("GET", "/api/v1/conversations"): Operation(
        result=_list_of("conversations", "Conversation", cursor=True),
        errors=(422,),
        query=(
            _text(
                "status",
                "only conversations in this state",
                enum=[s.value for s in ConversationStatus],
            ),
            LINE_ID,
            _text("assignee", "`me` or a user id"),
            _text(
                "sla",
                "`breached`: only those whose response-time clock ran out",
                enum=["breached"],
            ),
            Q,
            LIMIT_200,
            CURSOR,
        ),
    ),
    ("GET", "/api/v1/conversations/{conversation_id}"): Operation(result=_ref("Conversation")),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): Operation(
        result=_list_of("messages", "Message"),
        query=(
            _int("after", 0, 10**12, "messages after this seq"),
            _int("before", 1, 10**12, "messages before this seq"),
            LIMIT_200,
        ),
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): Operation(
        # 201 for a new message, 200 for the one a repeated client_msg_id already stored.
        ok=(200, 201),
        result=_ref("Message"),
        errors=(403, 409),
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/accept"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/close"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/invite"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/join"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/leave"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/take-over"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/transfer/cancel"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/return"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/pin"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/unpin"): _CONVERSATION_ACTION,
    ("POST", "/api/v1/conversations/{conversation_id}/deal"): Operation(
        ok=(201,), result=_ref("Record"), errors=(403, 409)
    ),
    # --- CRM
    **_crm_operations(),
    ("POST", "/api/v1/crm/leads/{record_id}/convert"): Operation(
        ok=(201,), result={"type": "object"}, errors=(403, 409)
    ),
    ("POST", "/api/v1/crm/contacts/{record_id}/messages"): Operation(
        ok=(201,),
        result=_object({"conversation": _ref("Conversation"), "message": _ref("Message")}),
        errors=(403, 409),
    ),
    ("GET", "/api/v1/crm/pipelines"): Operation(result=_list_of("pipelines", "Record")),
    ("POST", "/api/v1/crm/pipelines"): Operation(ok=(201,), result=_ref("Record"), errors=(403,)),
    ("GET", "/api/v1/crm/pipelines/{pipeline_id}"): Operation(result=_ref("Record")),
    ("PATCH", "/api/v1/crm/pipelines/{pipeline_id}"): Operation(
        result=_ref("Record"), errors=(403, 409)
    ),
    ("DELETE", "/api/v1/crm/pipelines/{pipeline_id}"): Operation(
        ok=(204,), media=None, errors=(403, 409)
    ),
    ("GET", "/api/v1/webhooks"): Operation(result=_list_of("webhooks", "Record"), errors=(403,)),
    ("POST", "/api/v1/webhooks"): Operation(ok=(201,), result=_ref("Record"), errors=(403,)),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): Operation(result=_ref("Record"), errors=(403,)),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Operation(ok=(204,), media=None, errors=(403,)),
    # --- widget files
    ("OPTIONS", "/api/v1/widget/uploads"): Operation(
        ok=(204,), media=None, headers=(ORIGIN,), auth=Auth.NONE
    ),
    ("POST", "/api/v1/widget/uploads"): Operation(
        ok=(201,),
        result=_ref("Attachment"),
        errors=(400, 403, 408, 413, 415, 422, 429),
        headers=(VISITOR_TOKEN, ORIGIN),
        auth=Auth.UPLOAD,
        body=Body.MULTIPART_FILE,
    ),
    ("GET", "/api/v1/files/{file_id}"): Operation(
        media=ANY_MEDIA,
        query=(_text("token", "a visitor token (for links without headers)"),),
        headers=(VISITOR_TOKEN,),
        auth=Auth.FILE,
    ),
    # --- the console's own endpoints
    ("GET", "/api/v1/console/conversations/{conversation_id}/history"): Operation(
        result=_object(
            {
                "messages": {"type": "array", "items": _ref("Message")},
                "last_seq": {"type": "integer"},
            }
        ),
        query=(_int("before", 1, 10**12, "messages before this seq"), LIMIT_200),
    ),
    ("GET", "/api/v1/console/lines/{line_id}/members"): Operation(
        result=_object({"members": {"type": "array"}})
    ),
    ("GET", "/api/v1/console/lines/{line_id}/board"): Operation(
        result=_object({"line_id": STRING, "waiting": {"type": "integer"}}), errors=(403,)
    ),
    # --- forms (hub/forms.py)
    ("GET", "/api/v1/forms"): Operation(result=_object({"forms": {"type": "array"}})),
    ("POST", "/api/v1/forms"): Operation(ok=(201,), result=_ref("Record"), errors=(403, 409)),
    ("GET", "/api/v1/forms/{form_id}"): Operation(result=_ref("Record")),
    ("PATCH", "/api/v1/forms/{form_id}"): Operation(result=_ref("Record"), errors=(403, 409)),
    ("DELETE", "/api/v1/forms/{form_id}"): Operation(ok=(204,), media=None, errors=(403,)),
    # --- bots (hub/bots.py)
    ("GET", "/api/v1/bots"): Operation(result=_object({"bots": {"type": "array"}})),
    ("POST", "/api/v1/bots"): Operation(ok=(201,), result=_ref("Record"), errors=(403, 409)),
    ("GET", "/api/v1/bots/{bot_id}"): Operation(result=_ref("Record")),
    ("PATCH", "/api/v1/bots/{bot_id}"): Operation(result=_ref("Record"), errors=(403, 409)),
    ("DELETE", "/api/v1/bots/{bot_id}"): Operation(ok=(204,), media=None, errors=(403,)),
    ("GET", "/api/v1/console/quick-answers"): Operation(
        result=_object({"quick_answers": {"type": "array"}}), query=(LINE_ID,)
    ),
    ("POST", "/api/v1/console/quick-answers"): Operation(
        ok=(201,), result=_ref("Record"), errors=(403, 404, 409)
    ),
    ("PATCH", "/api/v1/console/quick-answers/{answer_id}"): Operation(
        result=_ref("Record"), errors=(403, 409)
    ),
    ("DELETE", "/api/v1/console/quick-answers/{answer_id}"): Operation(
        ok=(204,), media=None, errors=(403,)
    ),
    ("GET", "/api/v1/console/staff"): Operation(
        result=_object({"staff": {"type": "array"}}), errors=(403,)
    ),
    ("GET", "/api/v1/console/transfer-lines"): Operation(
        result=_object({"lines": {"type": "array"}})
    ),
    ("GET", "/api/v1/console/clients/{client_id}"): Operation(
        result=_object({"client": {"type": "object"}, "conversations": {"type": "array"}})
    ),
    # --- pages and bundles
    ("GET", "/"): Operation(media=HTML, errors=(404,), auth=Auth.NONE),
    ("GET", "/console/app.js"): Operation(
        media=JAVASCRIPT, errors=(404,), query=(BUNDLE_VERSION,), auth=Auth.NONE
    ),
    ("GET", "/widget/loader.js"): Operation(media=JAVASCRIPT, errors=(404,), auth=Auth.NONE),
    ("GET", "/widget/widget.js"): Operation(
        media=JAVASCRIPT, errors=(404,), query=(BUNDLE_VERSION,), auth=Auth.NONE
    ),
    ("GET", "/demo"): Operation(
        media=HTML,
        errors=(404,),
        query=(_text("key", "the widget to embed (default: the demo's)"),),
        auth=Auth.NONE,
    ),
    ("GET", "/csat/{token}"): Operation(
        media=HTML,
        errors=(403, 422),
        query=(_int("rating", 1, 5, "the client's rating"),),
        auth=Auth.NONE,
    ),
    # --- operations
    ("GET", "/healthz"): Operation(
        result=_ref("Health"),
        query=(_text("verbose", "any value adds the process id and the failure counters"),),
        auth=Auth.NONE,
        other_errors=((503, JSON, _ref("Health")),),
    ),
    ("GET", "/metrics"): Operation(media=TEXT, auth=Auth.METRICS),
    ("GET", "/api/v1/openapi.json"): Operation(result={"type": "object"}, auth=Auth.NONE),
    # --- Socket.IO: Engine.IO's own transport (polling and the WebSocket upgrade)
    ("GET", "/socket.io/"): Operation(
        ok=(101, 200),
        media=TEXT,
        query=(
            _text("EIO", "the Engine.IO protocol version"),
            _text("transport", "polling or websocket", enum=["polling", "websocket"]),
            _text("sid", "the Engine.IO session"),
        ),
        auth=Auth.NONE,
        other_errors=((400, TEXT, {}),),
    ),
    ("POST", "/socket.io/"): Operation(
        media=TEXT,
        query=(_text("EIO", "the Engine.IO protocol version"), _text("sid", "the session")),
        auth=Auth.NONE,
        other_errors=((400, TEXT, {}),),
    ),
    ("OPTIONS", "/socket.io/"): Operation(media=None, auth=Auth.NONE),
}

_SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.NONE: [],
    Auth.STAFF: [{"bearer": []}],
    Auth.FILE: [{"bearer": []}, {"visitor": []}, {"visitorLink": []}, {"cookie": []}],
    Auth.UPLOAD: [{"bearer": []}, {"visitor": []}],
    Auth.METRICS: [{}, {"bearer": []}],
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "a staff token"},
    "visitor": {"type": "apiKey", "in": "header", "name": "X-Visitor-Token"},
    "visitorLink": {"type": "apiKey", "in": "query", "name": "token"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "openlines_token"},
}

_LITERAL_CHOICES = re.compile(r"^[\w-]+(?:\|[\w-]+)+$")


def documented_paths(resource: web.AbstractResource) -> list[tuple[str, str]]:
    """The paths under which a route is documented, each with the words spelled out in it: the
    route's template, with a parameter the route restricts to a few words
    (``{entity:leads|deals}``) spelled out once per word."""
    info = resource.get_info()
    template = str(info.get("formatter") or info.get("path") or resource.canonical)
    paths = [(template, "")]
    pattern = info.get("pattern")
    if pattern is None:
        return paths
    for name, choices in re.findall(r"\(\?P<(\w+)>([^()]*)\)", pattern.pattern):
        if _LITERAL_CHOICES.match(choices):
            paths = [
                (path.replace(f"{{{name}}}", word), f"{words}_{word}".lstrip("_"))
                for path, words in paths
                for word in choices.split("|")
            ]
    return paths


def _error_statuses(path: str, operation: Operation, has_model: bool) -> set[int]:
    """The JSON error statuses of an operation: its own, and those every operation like it can
    answer with."""
    statuses = set(operation.errors)
    if operation.auth != Auth.NONE:
        statuses.add(401)
    if "{" in path:
        statuses.add(404)
    if has_model:
        # hub.http.read_json, the body deadline and aiohttp's size limit.
        statuses.update((400, 408, 413, 415, 422))
    if any(p["schema"].get("type") == "integer" for p in operation.query):
        statuses.add(422)  # hub.api.common.int_param
    return statuses - {status for status, _, _ in operation.other_errors}


def _responses(operation: Operation, errors: set[int], method: str) -> dict[str, dict[str, Any]]:
    responses: dict[str, dict[str, Any]] = {}
    for status in operation.ok:
        response: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "success")}
        if operation.media is not None and status not in (101, 204) and method != "OPTIONS":
            schema = operation.result if operation.result is not None else {}
            response["content"] = {operation.media: {"schema": schema}}
        responses[str(status)] = response
    bodies = [(status, JSON, _ref("Error")) for status in errors]
    for status, media, schema in sorted([*bodies, *operation.other_errors], key=lambda b: b[0]):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "error"),
            "content": {media: {"schema": schema}},
        }
    return responses


def _request_body(
    method: str, operation: Operation, model: type[BaseModel] | None, schemas: dict[str, Any]
) -> dict[str, Any] | None:
    if model is not None:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        name = model.__name__
        if method == "PATCH" and schema.get("required"):
            # A PATCH changes any of the fields: none is required, whatever a create needs.
            schema = {key: value for key, value in schema.items() if key != "required"}
            name = f"Partial{name}"
        schemas[name] = schema
        return {"required": True, "content": {JSON: {"schema": _ref(name)}}}
    if operation.body == Body.MULTIPART_FILE:
        file_part = _object({"file": {"type": "string", "format": "binary"}})
        return {"required": True, "content": {MULTIPART: {"schema": file_part}}}
    if operation.body == Body.PLATFORM_JSON:
        return {"required": True, "content": {JSON: {"schema": {"type": "object"}}}}
    return None


def build_spec(
    table: Iterable[web.AbstractRoute], bodies: dict[tuple[str, str], type[BaseModel]]
) -> Any:
    """OpenAPI 3.1 of the router's ``table`` of routes; ``bodies`` names the model that
    validates each JSON body, by ``(method, documented path)``."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = dict(RESULT_SCHEMAS)
    used_ids: set[str] = set()
    for route in table:
        if route.resource is None or route.method in IMPLIED_METHODS:
            continue
        template = route.resource.canonical
        for path, words in documented_paths(route.resource):
            described = OPERATIONS.get((route.method, path))
            if described is None:
                continue  # undescribed: tests/security/test_schema_fuzz.py names it
            model = bodies.get((route.method, path)) or bodies.get((route.method, template))
            parameters = [
                {"name": p, "in": "path", "required": True, "schema": STRING}
                for p in re.findall(r"{(\w+)}", path)
            ]
            parameters += [*described.query, *described.headers]
            operation: dict[str, Any] = {
                "summary": _summary(route.handler),
                "operationId": _operation_id(route, words, used_ids),
                "tags": [path.split("/")[3] if path.startswith("/api/v1/") else "operations"],
                "responses": _responses(
                    described, _error_statuses(path, described, model is not None), route.method
                ),
                "security": _SECURITY[described.auth],
            }
            if parameters:
                operation["parameters"] = parameters
            body = _request_body(route.method, described, model, schemas)
            if body is not None:
                operation["requestBody"] = body
            paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenLines", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _summary(handler: Any) -> str:
    doc = getattr(handler, "__doc__", None) or getattr(handler, "__name__", "")
    return str(doc).strip().splitlines()[0] if str(doc).strip() else ""


def _operation_id(route: web.AbstractRoute, words: str, used: set[str]) -> str:
    """The handler's name, made unique by the words spelled out in the path or the method."""
    name = getattr(route.handler, "__name__", "operation")
    if words:
        name = f"{name}_{words}"
    if name in used:
        name = f"{name}_{route.method.lower()}"
    used.add(name)
    return name


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """This API, described as OpenAPI 3.1."""
    return json_response(request.app[OPENAPI])
