"""Stored CRM documents into models, and the whole-record check of every write.

A stored document must always load. Every write validates the record as it will be stored
(``merged``, ``checked``): a bad result is a 422 naming the field, and nothing is written. A
document that does not load anyway (written by an older version, or by hand) never fails a
read: lists skip it (``Reader.parse``), a single read repairs it in memory (``Reader.repair``:
defaults, placeholders) and the next write stores the repaired whole. Either way it is logged
once, by id: never its content, which may hold personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from crm_bridge.models import DEFAULT_PIPELINE_ID, DEFAULT_STAGES
from hub.errors import ValidationFailed
from hub.models import Doc
from hub.validation import describe, error_details

M = TypeVar("M", bound=Doc)

# Stand-ins for required fields a stored document lacks or holds in a shape that cannot load.
PLACEHOLDERS: dict[str, Any] = {
    "title": "(untitled)",
    "name": "(unnamed)",
    "pipeline_id": DEFAULT_PIPELINE_ID,
    "stage": DEFAULT_STAGES[0][0],
    "stages": [{"id": i, "name": n, "semantic": s.value} for i, n, s in DEFAULT_STAGES],
}
UNREADABLE = "(unreadable)"
# Each round fixes what validation named; a fix can reveal the next fault, not loop for ever.
MAX_REPAIR_ROUNDS = 5
# Ids already reported; forgotten when this many pile up (a warning again is harmless).
MAX_REPORTED = 10_000


class Reader:
    """Loads stored documents; remembers which broken ones it reported."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._reported: set[str] = set()

    def parse(self, model: type[M], doc: Mapping[str, Any]) -> M | None:
        """``doc`` as ``model``, or None (reported once) when it does not load."""
        try:
            return model.from_doc(dict(doc))
        except ValidationError as exc:
            self._report(model, doc, exc)
            return None

    def parse_all(self, model: type[M], docs: Iterable[Mapping[str, Any]]) -> list[M]:
        """The documents that load, in order; the others are skipped (and reported once)."""
        return [record for doc in docs if (record := self.parse(model, doc)) is not None]

    def repair(self, model: type[M], doc: Mapping[str, Any]) -> tuple[M, bool]:
        """``doc`` as ``model``, repaired in memory when it does not load; ``True``: it
        loaded as stored. Raises ``ValidationFailed`` only when no repair makes it load."""
        try:
            return model.from_doc(dict(doc)), True
        except ValidationError as exc:
            self._report(model, doc, exc)
            error = exc
        data = dict(doc)
        for _ in range(MAX_REPAIR_ROUNDS):
            _fix(model, data, error)
            try:
                return model.from_doc(data), False
            except ValidationError as again:
                error = again
        raise ValidationFailed(
            f"the stored {_kind(model)} cannot be read", code="unreadable_record"
        )

    def _report(self, model: type[Doc], doc: Mapping[str, Any], exc: ValidationError) -> None:
        key = f"{model.__name__}:{doc.get('_id')!r}"
        if key in self._reported:
            return
        if len(self._reported) >= MAX_REPORTED:
            self._reported.clear()
        self._reported.add(key)
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        self._log.warning(
            "unreadable stored record kind=%s id=%r fields=%s",
            _kind(model),
            doc.get("_id"),
            ",".join(fields),
        )


def merged(
    current: M,
    changes: Mapping[str, Any],
    add: Mapping[str, Iterable[Any]] | None = None,
) -> M:
    """``current`` with ``changes`` set and ``add`` appended to its lists (once each), as a
    validated whole; ``ValidationFailed`` naming the fields when the result would be bad."""
    model = type(current)
    data = {name: getattr(current, name) for name in model.model_fields}
    unknown = set(changes) - set(data)
    if unknown:  # a programming error, not a client's: never store a field the model drops
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    data.update(changes)
    for name, values in (add or {}).items():
        existing = list(data.get(name) or [])
        data[name] = existing + [v for v in values if v not in existing]
    return validated(model, data)


def checked(record: M) -> M:
    """``record`` (built or changed in code, which assignment does not validate) validated
    whole before it is stored."""
    model = type(record)
    return validated(model, {name: getattr(record, name) for name in model.model_fields})


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as a new ``model`` record; ``ValidationFailed`` naming the bad fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = error_details(exc)
        raise ValidationFailed(describe(details), details=details) from None


def _fix(model: type[Doc], data: dict[str, Any], exc: ValidationError) -> None:
    """One round of repair of the raw ``data`` for the faults ``exc`` names."""
    bad_items: dict[str, set[int]] = {}
    for error in exc.errors():
        loc = error["loc"]
        if not loc:
            continue  # a whole-model check: the field fixes below settle it next round
        name = str(loc[0])
        if name == "id":
            data["_id"] = str(data.get("_id"))
            continue
        value = data.get(name)
        if error["type"] == "too_long" and isinstance(value, str | list):
            data[name] = value[: error.get("ctx", {}).get("max_length", 0)]
        elif len(loc) > 1 and isinstance(loc[1], int) and isinstance(value, list):
            bad_items.setdefault(name, set()).add(loc[1])
        else:
            field = model.model_fields.get(name)
            if field is None or not field.is_required():
                data.pop(name, None)
            else:
                data[name] = _placeholder(name, field)
    for name, indexes in bad_items.items():
        data[name] = [v for i, v in enumerate(data[name]) if i not in indexes]


def _placeholder(name: str, field: FieldInfo) -> Any:
    if name in PLACEHOLDERS:
        return PLACEHOLDERS[name]
    origin = get_origin(field.annotation) or field.annotation
    if origin is list:
        return []
    if origin is dict:
        return {}
    return UNREADABLE


def _kind(model: type[Doc]) -> str:
    return model.__name__.lower()
