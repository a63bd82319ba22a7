"""Pure pieces of the widget's server side: the rate limiter and the file type checks."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from hub.files import UnsupportedFileType, clean_name, detect_type
from hub.ratelimit import RateLimiter
from tests.conftest import REDIS_URL
from tests.widget.support import png_bytes
from widget.namespace import client_ip


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
