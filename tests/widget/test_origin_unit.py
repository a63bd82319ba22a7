"""Which pages may use a widget (pure)."""

from __future__ import annotations

from widget.channel import origin_allowed

SHOP = {"allowed_origins": ["https://shop.example", "http://127.0.0.1:8080"]}


def test_any_site_when_nothing_is_listed() -> None:
    assert origin_allowed({}, "https://anywhere.example", "hub.example")
    assert origin_allowed({"allowed_origins": []}, None, None)


def test_a_listed_origin_only() -> None:
    assert origin_allowed(SHOP, "https://shop.example", "hub.example")
    assert origin_allowed(SHOP, "https://shop.example/", "hub.example")
    assert not origin_allowed(SHOP, "https://evil.example", "shop.example")
    assert not origin_allowed(SHOP, "http://shop.example", "hub.example")  # another scheme


def test_a_same_origin_request_is_the_hubs_own_address() -> None:
    # Browsers send no Origin on a same-origin GET: the page is on the host it asked.
    assert origin_allowed(SHOP, None, "127.0.0.1:8080")
    assert origin_allowed(SHOP, "", "SHOP.example")
    assert not origin_allowed(SHOP, None, "hub.example")
    assert not origin_allowed(SHOP, None, None)
