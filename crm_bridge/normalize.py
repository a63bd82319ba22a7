"""How CRM compares people: phones in E.164, emails case-folded, blocklists of addresses
and ``@domains``. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

# Numbers written without a country code are read as Russian ones (the home of Open Lines):
# "8 (912) 345-67-89" and "+7 912 345 67 89" are one phone.
DEFAULT_REGION = "RU"


def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """``raw`` in E.164 (``+79123456789``), or None when it is not a possible phone number."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+") and text.isdigit() and len(text) > 10 and text[0] != "8":
        text = "+" + text  # Telegram shares contacts as bare digits with the country code
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    """``raw`` trimmed and case-folded, or None when it does not look like an address."""
    if not raw:
        return None
    text = raw.strip().casefold()
    local, _, domain = text.rpartition("@")
    if not local or not domain or " " in text:
        return None
    return text


def normalize_phones(values: Iterable[str | None]) -> list[str]:
    return _unique(normalize_phone(v) for v in values)


def normalize_emails(values: Iterable[str | None]) -> list[str]:
    return _unique(normalize_email(v) for v in values)


def blocked(email: str | None, blocklist: Iterable[str]) -> bool:
    """Whether ``email`` is on ``blocklist`` (entries are addresses or ``@domain``)."""
    address = normalize_email(email)
    if address is None:
        return False
    domain = "@" + address.rpartition("@")[2]
    return any(entry.strip().casefold() in (address, domain) for entry in blocklist)


def _unique(values: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen
