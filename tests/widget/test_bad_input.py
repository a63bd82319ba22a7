"""Bad input on the anonymous routes is a 4xx with the JSON error body and stores nothing
(issue #13, finding 10): non-ASCII tokens, multipart bodies without a boundary or with a NUL
in the file name; and every number of the widget's models has a range (finding 7)."""

from __future__ import annotations

from typing import Any

import aiohttp

from hub.settings import Settings
from tests.support.clients import Api, visitor_socket
from tests.widget.support import png_bytes, stored_docs, widget_world
from tests.widget.test_files import upload


def multipart(disposition: bytes, data: bytes, boundary: bytes = b"b") -> bytes:
    return (
        b"--" + boundary + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n"
        b"Content-Type: image/png\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n"
    )


async def post_raw(
    http: aiohttp.ClientSession, base_url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    async with http.post(
        f"{base_url}/api/v1/widget/uploads", data=body, headers=headers
    ) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_non_ascii_tokens_are_refused_not_500(
    base_url: str, admin: Api, http: aiohttp.ClientSession, settings: Settings, mongo_url: str
) -> None:
    world = await widget_world(admin)
    channel_id = world.widget["id"]
    visitor = await visitor_socket(base_url, world.key)
    session = await visitor.events.wait("session")
    status, stored, _ = await upload(
        http, base_url, "a.png", png_bytes(), {"X-Visitor-Token": session["token"]}
    )
    assert status == 201, stored
    forged = f"{channel_id}.{session['visitor_id']}.é"

    async with http.get(f"{base_url}/csat/csat.{channel_id}.é?rating=3") as response:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "invalid_token"
    async with http.get(
        f"{base_url}/api/v1/files/{stored['id']}", params={"token": forged}
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "invalid_visitor_token"
    # A header arrives as the bytes sent; aiohttp reads them as UTF-8.
    raw_header = forged.encode().decode("latin-1")
    status, body, _ = await upload(
        http, base_url, "b.png", png_bytes(), {"X-Visitor-Token": raw_header}
    )
    assert status == 401 and body["error"]["code"] == "invalid_visitor_token"
    # On connect such a token is just not one of ours: a new visitor.
    other = await visitor_socket(base_url, world.key, forged)
    assert (await other.events.wait("session"))["visitor_id"] != session["visitor_id"]
    await other.close()
    await visitor.close()
    assert len(await stored_docs(mongo_url, settings.mongo_db, "attachments.files", {})) == 1


async def test_malformed_multipart_is_a_400_and_stores_nothing(
    base_url: str, admin: Api, http: aiohttp.ClientSession, settings: Settings, mongo_url: str
) -> None:
    world = await widget_world(admin)
    visitor = await visitor_socket(base_url, world.key)
    token = (await visitor.events.wait("session"))["token"]
    png = png_bytes()
    with_boundary = "multipart/form-data; boundary=b"
    cases = [
        # (what is wrong, content type, body, status, code)
        (
            "no boundary",
            "multipart/form-data",
            multipart(b'name="file"; filename="a.png"', png),
            400,
            "invalid_multipart",
        ),
        (
            "a raw NUL in the part's header (aiohttp cannot parse it)",
            with_boundary,
            multipart(b'name="file"; filename="a\x00.png"', png),
            400,
            "invalid_multipart",
        ),
        (
            "a percent-encoded NUL: refused, not repaired",
            with_boundary,
            multipart(b"name=\"file\"; filename*=UTF-8''a%00.png", png),
            422,
            "invalid_file_name",
        ),
        (
            "not the boundary it declares",
            with_boundary,
            multipart(b'name="file"; filename="a.png"', png, boundary=b"other"),
            400,
            "invalid_multipart",
        ),
    ]
    for wrong, content_type, body, status, code in cases:
        headers = {"X-Visitor-Token": token, "Content-Type": content_type}
        got_status, got = await post_raw(http, base_url, body, headers)
        assert (got_status, got["error"]["code"]) == (status, code), wrong
    await visitor.close()
    assert await stored_docs(mongo_url, settings.mongo_db, "attachments.files", {}) == []
    assert await stored_docs(mongo_url, settings.mongo_db, "attachments.chunks", {}) == []


async def test_numbers_and_lists_of_the_widget_models_have_ranges(
    base_url: str, admin: Api
) -> None:
    world = await widget_world(admin)
    visitor = await visitor_socket(base_url, world.key)
    for before_seq in (0, 2**40):
        ack = await visitor.call("history", {"before_seq": before_seq})
        assert not ack["ok"] and ack["error"]["code"] == "validation_failed", ack
    for limit in (0, 201):
        ack = await visitor.call("history", {"limit": limit})
        assert not ack["ok"] and ack["error"]["code"] == "validation_failed", ack
    ack = await visitor.call("csat:submit", {"rating": 6})
    assert not ack["ok"] and ack["error"]["code"] == "validation_failed", ack
    await visitor.close()

    path = f"/api/v1/lines/{world.line['id']}/channels"
    status, body = await admin.call(
        "POST", path, {"type": "widget", "config": {"prechat_fields": ["name"] * 4}}
    )
    assert status == 422, body
    status, body = await admin.call(
        "POST", path, {"type": "widget", "config": {"identity_secret": "short"}}
    )
    assert status == 422, body
