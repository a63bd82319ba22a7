"""Turning untrusted input into pydantic models, with one error shape for every caller."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)

# pydantic's error types folded into the few codes a form shows next to a field (docs/i18n.md).
_FIELD_CODES = {
    "missing": "missing",
    "string_too_short": "too_short",
    "too_short": "too_few",
    "string_too_long": "too_long",
    "too_long": "too_many",
    "greater_than": "too_small",
    "greater_than_equal": "too_small",
    "less_than": "too_big",
    "less_than_equal": "too_big",
    "string_pattern_mismatch": "pattern",
    "enum": "not_allowed",
    "literal_error": "not_allowed",
    "extra_forbidden": "unknown_field",
}
# The bound a code is about, from pydantic's ``ctx``: the form says "at most 80 characters".
_LIMIT_KEYS = ("min_length", "max_length", "ge", "gt", "le", "lt")


def field_code(error_type: str) -> str:
    """The field-level code of one pydantic error type."""
    if error_type in _FIELD_CODES:
        return _FIELD_CODES[error_type]
    if error_type.endswith(("_type", "_parsing")):
        return "wrong_type"
    return "invalid"


def error_details(exc: ValidationError) -> list[dict[str, Any]]:
    """The pydantic errors without the offending input (it may hold secrets). Each names its
    ``field`` (the dotted path) and a field ``code`` with the ``limit`` it broke, if any, so a
    form can say what is wrong next to the field in the user's language."""
    details = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in e["loc"]]
        item: dict[str, Any] = {
            "loc": loc,
            "msg": e["msg"],
            "type": e["type"],
            "field": ".".join(loc),
            "code": field_code(e["type"]),
        }
        ctx = e.get("ctx") or {}
        limit = next((ctx[k] for k in _LIMIT_KEYS if k in ctx), None)
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            item["limit"] = limit
        details.append(item)
    return details


def describe(details: list[dict[str, Any]]) -> str:
    """The English message of a validation failure: which fields are wrong and how (never the
    model's class name, which means nothing to the caller)."""
    named = [f"{d['field'] or 'body'}: {d['code'].replace('_', ' ')}" for d in details[:5]]
    more = f" and {len(details) - 5} more" if len(details) > 5 else ""
    return "check the fields: " + "; ".join(named) + more


def parse_model(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed("expected a JSON object", code="invalid_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = error_details(exc)
        raise ValidationFailed(describe(details), details=details) from None
