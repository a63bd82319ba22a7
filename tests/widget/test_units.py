"""Pure pieces of the widget's server side: the rate limiter, open-socket counts, visitor tokens,
identity hashes and the file type and name checks."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from hub.auth import VisitorTokens
from hub.errors import ValidationFailed
from hub.files import UnsupportedFileType, check_upload_name, clean_name, detect_type
from hub.ratelimit import RateLimiter
from tests.conftest import REDIS_URL
from tests.widget.support import png_bytes
from widget.channel import identity_hash, identity_proven
from widget.limits import OpenSockets, client_ip


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_in_memory_limiter_slides_its_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock)
    assert [await limiter.allow("v1", 3) for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("v2", 3)  # keys are independent
    clock.now += 5
    assert not await limiter.allow("v1", 3)
    clock.now += 5.01  # the first hits left the window
    assert await limiter.allow("v1", 3)


async def test_redis_limiter_is_shared_by_processes() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"test-rate-{uuid.uuid4().hex}"
    one = RateLimiter(60, redis=redis, prefix=prefix)
    two = RateLimiter(60, redis=redis, prefix=prefix)
    try:
        results = [await (one if n % 2 else two).allow("visitor:1", 4) for n in range(6)]
        assert results == [True, True, True, True, False, False]
        assert await one.allow("visitor:2", 4)
    finally:
        await redis.aclose()


@pytest.mark.parametrize(
    ("name", "head", "mime"),
    [
        ("photo.PNG", png_bytes(), "image/png"),
        ("scan.jpeg", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("anim.gif", b"GIF89a....", "image/gif"),
        ("pic.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("offer.pdf", b"%PDF-1.7\n", "application/pdf"),
        ("notes.txt", "Привет".encode()[:5], "text/plain"),  # cut mid-character
        (
            "table.xlsx",
            b"PK\x03\x04....",
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ],
)
def test_allowed_types_by_extension_and_content(name: str, head: bytes, mime: str) -> None:
    assert detect_type(name, head) == mime


@pytest.mark.parametrize(
    ("name", "head", "code"),
    [
        ("setup.exe", b"MZ\x90\x00", "unsupported_file_type"),
        ("page.html", b"<html>", "unsupported_file_type"),
        ("icon.svg", b"<svg xmlns=", "unsupported_file_type"),
        ("noextension", b"hello", "unsupported_file_type"),
        ("fake.png", b"MZ\x90\x00", "file_content_mismatch"),
        ("fake.pdf", b"<script>", "file_content_mismatch"),
        ("binary.txt", b"ab\x00cd", "file_content_mismatch"),
    ],
)
def test_refused_types(name: str, head: bytes, code: str) -> None:
    with pytest.raises(UnsupportedFileType) as caught:
        detect_type(name, head)
    assert caught.value.code == code and caught.value.status == 415


def test_clean_name_keeps_only_a_safe_base_name() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\anna\\photo.png") == "photo.png"
    assert clean_name("evil\x00\n.png") == "evil.png"
    assert clean_name("") == "file"
    assert clean_name("..") == "file"
    assert len(clean_name("a" * 500 + ".png")) == 200


def test_client_ip_believes_only_trusted_proxies() -> None:
    behind = {"REMOTE_ADDR": "172.18.0.5", "HTTP_X_REAL_IP": "203.0.113.7"}
    assert client_ip(behind, []) == "172.18.0.5"
    assert client_ip(behind, ["172.16.0.0/12"]) == "203.0.113.7"
    forwarded = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.9"}
    # The last hop is the one the trusted proxy saw; earlier ones are the client's word.
    assert client_ip(forwarded, ["10.0.0.0/8"]) == "198.51.100.9"
    assert client_ip({"REMOTE_ADDR": "203.0.113.8"}, ["10.0.0.0/8"]) == "203.0.113.8"
    assert client_ip({}, ["10.0.0.0/8"]) == "unknown"


def test_visitor_tokens_expire_and_bind_scope() -> None:
    clock = FakeClock()
    tokens = VisitorTokens(b"k" * 32, ttl_s=3600, clock=clock)
    token = tokens.issue("chan1", "visitor1")
    assert len(token.split(".")) == 4
    assert tokens.verify(token, "chan1") == "visitor1"
    assert tokens.verify(token, "chan2") is None
    assert tokens.verify(token.replace("visitor1", "visitor2"), "chan1") is None
    assert tokens.verify(token + "é", "chan1") is None  # not ASCII: no TypeError
    assert tokens.verify("chan1.visitor1.sig", "chan1") is None  # the old three-part form
    clock.now += 3600
    assert tokens.verify(token, "chan1") == "visitor1"
    clock.now += 1
    assert tokens.verify(token, "chan1") is None
    # From the future (a clock off by more than a few minutes): refused too.
    future = VisitorTokens(b"k" * 32, ttl_s=3600, clock=lambda: clock.now + 3600).issue("a", "b")
    assert tokens.verify(future, "a") is None


def test_identified_visitor_ids_are_stable_and_keyed() -> None:
    tokens = VisitorTokens(b"k" * 32)
    one = tokens.identified_visitor("chan1", "anna@example.com")
    assert one == tokens.identified_visitor("chan1", "anna@example.com")
    assert one != tokens.identified_visitor("chan2", "anna@example.com")
    assert one != VisitorTokens(b"x" * 32).identified_visitor("chan1", "anna@example.com")
    assert "anna" not in one and one.startswith("id-")


def test_identity_hash_is_a_hex_hmac_compared_in_constant_time() -> None:
    secret = "s" * 32
    good = identity_hash(secret, "user-1")
    assert len(good) == 64 and int(good, 16) >= 0  # hex of SHA-256
    config = {"identity_secret": secret}
    assert identity_proven(config, "user-1", good)
    assert identity_proven(config, "user-1", good.upper())
    assert not identity_proven(config, "user-2", good)
    assert not identity_proven(config, "user-1", None)
    assert not identity_proven(config, "user-1", "é" * 64)
    assert not identity_proven({}, "user-1", good)  # no secret: nobody is proven


def test_open_sockets_count_per_address_and_release_once() -> None:
    sockets = OpenSockets(per_ip=2)
    assert sockets.hold("s1", "1.1.1.1") and sockets.hold("s2", "1.1.1.1")
    assert not sockets.hold("s3", "1.1.1.1")
    assert sockets.hold("s3", "2.2.2.2")
    sockets.release("s1")
    sockets.release("s1")  # a second release gives nothing back twice
    assert sockets.hold("s4", "1.1.1.1")
    assert not sockets.hold("s5", "1.1.1.1")


def test_upload_names_with_control_characters_are_refused() -> None:
    assert check_upload_name("photo.png") == "photo.png"
    assert check_upload_name("../x/Отчёт.pdf") == "Отчёт.pdf"
    for name in ("a\x00.png", "a\n.png", "a\x7f.png"):
        with pytest.raises(ValidationFailed) as caught:
            check_upload_name(name)
        assert caught.value.code == "invalid_file_name"
