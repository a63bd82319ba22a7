"""Turning untrusted input into pydantic models, with one error shape for every caller."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def error_details(exc: ValidationError) -> list[dict[str, Any]]:
    """The pydantic errors without the offending input (it may hold secrets)."""
    return [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def parse_model(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed("expected a JSON object", code="invalid_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(f"invalid {model.__name__}", details=error_details(exc)) from None
