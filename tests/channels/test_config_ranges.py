"""Every number in a channel's config has a sane range: one outside it is a 422 naming the
field, before any platform is called, and nothing is stored."""

from __future__ import annotations

from typing import Any

from tests.support.clients import Api

EMAIL = {
    "imap_host": "127.0.0.1",
    "smtp_host": "127.0.0.1",
    "username": "support",
    "password": "secret",
    "address": "support@example.com",
}
VK = {
    "access_token": "vk1.a.community-token",
    "mode": "longpoll",
    "api_base": "http://127.0.0.1:9",
}


def _out_of_range() -> list[tuple[str, dict[str, Any], str]]:
    cases: list[tuple[str, dict[str, Any], str]] = []
    for group_id in (0, -5, 2_000_000_000, 10**30, 1.5, True):
        cases.append(("vk", {**VK, "group_id": group_id}, "group_id"))
    for timeout_s in (0, 0.01, 61, 1e9, "NaN", "inf"):
        cases.append(("api", {"timeout_s": timeout_s}, "timeout_s"))
    for field in ("imap_port", "smtp_port"):
        for port in (0, -1, 65536, 10**12):
            cases.append(("email", {**EMAIL, field: port}, field))
    for days in (0, -1, 366, 10**9):
        cases.append(("email", {**EMAIL, "fetch_since_days": days}, "fetch_since_days"))
    cases.append(("email", {**EMAIL, "blocklist": ["x" * 400 + "@spam.test"]}, "blocklist"))
    cases.append(("email", {**EMAIL, "blocklist": ["@spam.test"] * 1001}, "blocklist"))
    return cases


async def test_numbers_outside_their_range_are_refused(admin: Api) -> None:
    line = await admin.create_line()
    path = f"/api/v1/lines/{line['id']}/channels"
    for type_, config, field in _out_of_range():
        status, body = await admin.call("POST", path, {"type": type_, "config": config})
        assert status == 422, (type_, config.get(field), body)
        assert body["error"]["code"] == "validation_failed", (type_, field, body)
        assert any(field in d["loc"] for d in body["error"]["details"]), (field, body)
    assert (await admin.get(path))["channels"] == []
