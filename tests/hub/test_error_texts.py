"""Every error the hub can answer with has a text in both of the console's languages, and a
validation error names each field it is about (field, code, limit) instead of the model's class."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.clients import Api

ROOT = Path(__file__).resolve().parents[2]
STRINGS = json.loads((ROOT / "operators_ui/src/i18n/strings.json").read_text(encoding="utf-8"))
# Where error codes are set: a keyword argument or class attribute, a refused widget
# connection, a literal error body.
CODE_PATTERNS = (
    re.compile(r'\bcode\s*=\s*"([a-z_]+)"'),
    re.compile(r'\brefuse\(\s*"([a-z_]+)"'),
    re.compile(r'"code":\s*"([a-z_]+)"'),
)


def server_codes() -> set[str]:
    codes: set[str] = set()
    for package in ("hub", "crm_bridge", "channels", "widget", "routing"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in CODE_PATTERNS:
                codes.update(pattern.findall(text))
    # The status-derived codes of hub/http.py's middleware.
    from hub.http import _HTTP_CODES

    return codes | set(_HTTP_CODES.values()) | {"http_error"}


def test_every_server_error_code_has_a_text_in_english_and_russian() -> None:
    codes = server_codes()
    assert len(codes) > 60, codes  # the scan found the codes, not nothing
    missing = sorted(
        f"{lang}:{code}"
        for code in codes
        for lang in ("en", "ru")
        if f"errors.{code}" not in STRINGS[lang]
    )
    assert not missing, missing
    untranslated = sorted(
        c for c in codes if STRINGS["ru"][f"errors.{c}"] == STRINGS["en"][f"errors.{c}"]
    )
    assert not untranslated, untranslated


def test_every_field_code_has_a_text() -> None:
    from hub.validation import _FIELD_CODES

    for code in {*_FIELD_CODES.values(), "wrong_type", "invalid"}:
        for lang in ("en", "ru"):
            assert f"errors.field.{code}" in STRINGS[lang], (lang, code)


async def test_validation_error_names_the_fields_not_the_model(admin: Api) -> None:
    status, body = await admin.call(
        "POST", "/api/v1/users", {"email": "a@b.co", "password": "zq7x", "role": "emperor"}
    )
    assert status == 422, body
    error = body["error"]
    assert error["code"] == "validation_failed"
    assert "UserIn" not in error["message"] and "invalid " not in error["message"], error
    by_field = {d["field"]: d for d in error["details"]}
    assert by_field["name"]["code"] == "missing"
    assert by_field["password"]["code"] == "too_short" and by_field["password"]["limit"] == 8
    assert by_field["role"]["code"] == "not_allowed"
    for detail in error["details"]:  # the old keys stay for API clients
        assert {"loc", "msg", "type"} <= set(detail)
    assert "zq7x" not in json.dumps(error)  # the input is never echoed


async def test_nested_field_is_a_dotted_path(admin: Api) -> None:
    status, body = await admin.call(
        "POST", "/api/v1/lines", {"name": "L", "messages": {"welcome": {"ru": 5}}}
    )
    assert status == 422, body
    fields = [d["field"] for d in body["error"]["details"]]
    assert any(f.startswith("messages.welcome") for f in fields), fields


def test_new_line_texts_are_the_hubs_defaults_in_both_languages() -> None:
    from hub.models import LineMessages

    defaults = LineMessages()
    for key in ("no_answer", "queued", "csat"):
        assert STRINGS["en"][f"lines.default.{key}"] == getattr(defaults, key), key
        assert STRINGS["ru"][f"lines.default.{key}"] != getattr(defaults, key), key
    assert "{position}" in STRINGS["ru"]["lines.default.queued"]
