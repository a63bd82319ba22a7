"""Pure: how CRM compares phones, emails and blocklists."""

from __future__ import annotations

import pytest

from crm_bridge.normalize import (
    blocked,
    normalize_email,
    normalize_emails,
    normalize_phone,
    normalize_phones,
)


@pytest.mark.parametrize(
    "raw",
    ["+7 912 345-67-89", "8 (912) 345 67 89", "79123456789", "+7(912)3456789", "0079123456789"],
)
def test_one_russian_phone_written_many_ways(raw: str) -> None:
    assert normalize_phone(raw) == "+79123456789"


def test_international_phones_keep_their_country() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("+1 (415) 555-0100") == "+14155550100"


@pytest.mark.parametrize("raw", [None, "", "   ", "call me", "12", "+"])
def test_not_a_phone(raw: str | None) -> None:
    assert normalize_phone(raw) is None


def test_emails_are_case_folded_and_trimmed() -> None:
    assert normalize_email("  Anna.Petrova@Example.COM ") == "anna.petrova@example.com"
    assert normalize_email("no-at-sign") is None
    assert normalize_email("@example.com") is None
    assert normalize_emails(["A@x.io", "a@X.io", None, "b@x.io"]) == ["a@x.io", "b@x.io"]
    assert normalize_phones(["+79123456789", "89123456789", "nope"]) == ["+79123456789"]


def test_blocklist_by_address_and_domain() -> None:
    blocklist = ["spam@example.com", "@Junk.example"]
    assert blocked("SPAM@example.com", blocklist)
    assert blocked("anyone@junk.EXAMPLE", blocklist)
    assert not blocked("friend@example.com", blocklist)
    assert not blocked(None, blocklist)
