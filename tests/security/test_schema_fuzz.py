"""Schema fuzzing of the REST API (issue 13): schemathesis drives every operation of
``/api/v1/openapi.json`` against a real hub served over HTTP, as nobody and signed in as each
role, and holds every answer to the document: no 5xx, only documented statuses, content types
and bodies, no invalid body accepted, authentication enforced where the document asks for it,
no ERROR in the hub's log. A second test keeps the document complete: every route of the app's
router must be described in it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from schemathesis.engine import events, from_schema

from hub.api.openapi import IMPLIED_METHODS, JSON, OPENAPI, OPERATIONS
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says

# The roles the run signs in as, one after the other (``None``: no token). The admin, who may
# delete and deactivate what the others' runs use, goes last.
ROLES: tuple[str | None, ...] = (None, "operator", "supervisor", "manager", "admin")

# Operations the fuzzer never calls, and why. They stay in the document.
NOT_FUZZED = {
    "POST /api/v1/auth/logout": "revokes the very token the run is signed in with",
    "GET /api/v1/openapi.json": "the document itself (schemathesis skips the URL it loads)",
    "GET /socket.io/": "Engine.IO's transport, not a REST resource; test_socket_fuzz.py fuzzes "
    "every event that travels over it",
    "POST /socket.io/": "Engine.IO's transport (see GET /socket.io/)",
    "OPTIONS /socket.io/": "Engine.IO's transport (see GET /socket.io/)",
}


@dataclass(frozen=True)
class KnownError:
    """A server error the suite found in code outside its owner's files: a 5xx of an
    operation matching ``operations`` whose logged exception matches ``error``."""

    operations: str  # a regex over "METHOD /documented/path"
    error: str  # a regex over "module.Type: message" of the exception the hub logged
    why: str


# Known server errors, each reported to the owner of the code; the checks a matching 5xx fails
# are let through. Remove an entry when its fix lands: the suite then holds the operation to
# the document again.
KNOWN_SERVER_ERRORS: tuple[KnownError, ...] = ()

# The run's bounds (CI runs it on two busy cores): a few generated cases per operation and
# role, and, for the admin, who reaches every operation's code, the coverage phase's
# deterministic cases too (boundaries, missing, extra and mistyped fields and parameters).
MAX_EXAMPLES = 3
COVERAGE_ROLES = frozenset({"admin"})
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
REQUEST_TIMEOUT_S = 30


@dataclass
class Finding:
    operation: str  # "METHOD /documented/path"
    check: str
    status: int | None
    message: str
    request: str  # the case as curl (credentials filtered)
    sent: tuple[str, str]  # (method, decoded path) as sent, to find what the hub logged

    def __str__(self) -> str:
        return f"{self.operation} [{self.status}] {self.check}: {self.message}\n    {self.request}"


@dataclass
class FuzzReport:
    findings: list[Finding] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


# --- the data and the callers ----------------------------------------------------------------


@dataclass
class Seeded:
    ids: dict[str, list[str]]  # real ids by the name of the parameter that takes them
    tokens: dict[str | None, str | None]  # by role


async def seed(base_url: str, admin: Api) -> Seeded:
    """A little of everything, so that ids in paths sometimes name real records (a line with a
    widget and an api channel, a visitor's conversation, a file, CRM records, a quick answer),
    and a token of each role, staff of the line where the role has a place in one."""
    world = await make_line(admin)
    line_id = world.line["id"]
    operator = world.operators[0]
    supervisor = await admin.create_user("supervisor")
    manager = await admin.create_user("manager")
    bystander = await admin.create_user("operator")
    assert operator.user and supervisor.user and bystander.user
    await admin.patch(f"/api/v1/lines/{line_id}", {"supervisors": [supervisor.user["id"]]})
    api_channel = await admin.create_channel(line_id, "api", {})
    visitor, message = await visitor_says(base_url, world.key, "hello from the fuzz seed")
    await visitor.close()
    conversation = await admin.get(f"/api/v1/conversations/{message['conversation_id']}")
    records = [
        await admin.post(f"/api/v1/crm/{entity}", body, expect=201)
        for entity, body in (
            ("leads", {"title": "Seeded lead"}),
            ("contacts", {"name": "Seeded contact"}),
            ("companies", {"title": "Seeded company"}),
            ("deals", {"title": "Seeded deal"}),
        )
    ]
    pipelines = (await admin.get("/api/v1/crm/pipelines"))["pipelines"]
    answer = await admin.post(
        "/api/v1/console/quick-answers", {"title": "Seeded", "text": "Hello!"}, expect=201
    )
    form = aiohttp.FormData()
    form.add_field("file", b"seeded file\n", filename="seed.txt", content_type="text/plain")
    status, upload = await admin.call("POST", "/api/v1/widget/uploads", data=form)
    assert status == 201, upload
    ids = {
        "line_id": [line_id],
        "channel_id": [world.widget["id"], api_channel["id"]],
        "type": ["widget", "api"],
        "conversation_id": [conversation["id"]],
        "client_id": [conversation["client"]["id"]],
        # Never a token holder's id: the fuzzer may deactivate whoever it names.
        "user_id": [bystander.user["id"]],
        "record_id": [r["id"] for r in records],
        "pipeline_id": [p["id"] for p in pipelines],
        "answer_id": [answer["id"]],
        "file_id": [upload["id"]],
    }
    tokens = {
        None: None,
        "operator": operator.token,
        "supervisor": supervisor.token,
        "manager": manager.token,
        "admin": admin.token,
    }
    return Seeded(ids=ids, tokens=tokens)


# --- the run ---------------------------------------------------------------------------------


def fuzz(
    base_url: str, token: str | None, ids: dict[str, list[str]], coverage: bool
) -> FuzzReport:
    """Run schemathesis over the hub's document with ``token`` (blocking: call it in a thread;
    the hub serves on the test's event loop meanwhile)."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": 13,
            "auth": {
                # Never sign up through POST /users on its own: the run's callers are given.
                "auto-signup": False,
                **({"openapi": {"bearer": {"bearer": token}}} if token else {}),
            },
            "request-timeout": REQUEST_TIMEOUT_S,
            "workers": 1,
            # Each run on its own: nothing learnt by an earlier run (in .schemathesis/) steers it.
            "cache": {"enabled": False},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "no-shrink": True,
                "deterministic": True,
                "database": "none",
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": coverage},
                "stateful": {"enabled": False},
            },
            # Half the time a parameter named like a seeded record takes a real id.
            "dictionaries": {name: {"values": values} for name, values in ids.items()},
            "parameters": {name: {"dictionary": name, "probability": 0.5} for name in ids},
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
    report = FuzzReport()
    for event in from_schema(schema.exclude(name=list(NOT_FUZZED))).execute():
        if isinstance(event, events.ScenarioFinished):
            report.operations.add(event.recorder.label)
            report.findings.extend(_findings(event.recorder))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            report.errors.append(repr(event)[:2000])
    return report


def _findings(recorder: Any) -> Iterator[Finding]:
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            failure = check.failure_info.failure
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            sent = (
                (interaction.request.method, unquote(urlsplit(interaction.request.uri).path))
                if interaction is not None
                else ("", "")
            )
            yield Finding(
                operation=failure.operation or recorder.label,
                check=check.name,
                status=response.status_code if response is not None else None,
                message=f"{failure.title}: {failure.message}".strip()[:600],
                request=check.failure_info.code_sample[:600],
                sent=sent,
            )


# --- the verdict -----------------------------------------------------------------------------


def _lax_coercion(finding: Finding) -> bool:
    """pydantic validates in lax mode: 0 and 1 pass for false and true, "5" for 5. JSON Schema
    cannot say so, so a mistyped value pydantic turns into a valid one is no finding; every
    other way a body can break its schema (missing, extra, out of range, too long) still is."""
    return finding.check == "negative_data_rejection" and "Incorrect type" in finding.message


_UNHANDLED = re.compile(r"unhandled error method=(\w+) path=(\S+)")


def problems(report: FuzzReport, records: list[logging.LogRecord]) -> list[str]:
    """What a run found that is neither fine nor a known server error: failed checks, and
    ERROR lines in the hub's log."""
    labels = {f.sent: f.operation for f in report.findings}
    found = list(report.errors)
    known: set[tuple[str, str]] = set()
    unknown: set[tuple[str, str]] = set()
    for record in records:
        if record.levelno < logging.ERROR:
            continue
        match = _UNHANDLED.match(record.getMessage())
        error = _exception(record)
        label = labels.get((match[1], match[2])) if match else None
        if match is None or label is None:
            found.append(f"ERROR logged: {record.name}: {record.getMessage()[:300]} {error}")
        elif any(
            re.fullmatch(k.operations, label) and re.search(k.error, error)
            for k in KNOWN_SERVER_ERRORS
        ):
            known.add((match[1], match[2]))
        else:
            unknown.add((match[1], match[2]))
    for finding in report.findings:
        server_error = (finding.status or 0) >= 500
        if _lax_coercion(finding) or (
            server_error and finding.sent in known and finding.sent not in unknown
        ):
            continue
        found.append(str(finding))
    return found


def _exception(record: logging.LogRecord) -> str:
    """``module.Type: message`` of the exception a log record carries."""
    error = record.exc_info[1] if record.exc_info else None
    if error is None:
        return ""
    return f"{type(error).__module__}.{type(error).__qualname__}: {error}"


@pytest.mark.timeout(420)
async def test_every_operation_keeps_to_the_document(
    base_url: str, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = await seed(base_url, admin)
    found: list[str] = []
    covered: set[str] = set()
    for role in ROLES:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            report = await asyncio.to_thread(
                fuzz, base_url, seeded.tokens[role], seeded.ids, role in COVERAGE_ROLES
            )
        covered |= report.operations
        found += [f"as {role or 'nobody'}: {p}" for p in problems(report, caplog.records)]
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)
    spec = await admin.get("/api/v1/openapi.json")
    every = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    assert every - covered == set(NOT_FUZZED)


# --- the document describes every route ------------------------------------------------------


async def test_every_route_is_described(hub_app: web.Application) -> None:
    """Each operation of the document reaches a route, each route of the router is reached by
    one (HEAD answers as its GET does), each description is of a route there is, and each
    handler that reads a JSON body has the body's schema in the document."""
    spec = hub_app[OPENAPI]
    schemathesis.openapi.from_dict(spec).validate()
    described: set[web.AbstractRoute] = set()
    unmodelled = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            sample = re.sub(r"{(\w+)}", r"sample-\1", path)
            match = await hub_app.router.resolve(
                make_mocked_request(method.upper(), sample, app=hub_app)
            )
            assert match.route.resource is not None, f"{method.upper()} {path} reaches no route"
            described.add(match.route)
            # A handler that reads a JSON body has its model in the body tables.
            reads_json = "read_json(" in inspect.getsource(match.route.handler)
            if reads_json and JSON not in operation.get("requestBody", {}).get("content", {}):
                unmodelled.append(f"{method.upper()} {path}")
    assert unmodelled == [], f"add their body models to the tables: {unmodelled}"
    missing = [
        f"{route.method} {route.resource.canonical if route.resource else route}"
        for route in hub_app.router.routes()
        if route.method not in IMPLIED_METHODS and route not in described
    ]
    assert missing == [], f"describe these routes in hub/api/openapi.py OPERATIONS: {missing}"
    stale = [f"{m} {p}" for m, p in OPERATIONS if m.lower() not in spec["paths"].get(p, {})]
    assert stale == [], f"OPERATIONS describes routes the router does not have: {stale}"
