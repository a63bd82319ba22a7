"""Forms the staff send into a conversation (issue 17, point 4): a form is named fields, each
with a label in Russian and English, a type, its options when it is a choice, and whether it
must be filled; with an optional agreement the client accepts. These are the models and their
rules; the ``forms`` collection is hub/storage/forms.py, the REST API hub/api/forms.py."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.models import Doc, utcnow

MAX_FIELDS = 30
MAX_OPTIONS = 50
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class FieldType(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"
    SELECT = "select"
    CHECKBOX = "checkbox"


class Texts(BaseModel):
    """One text in the languages the product speaks; at least one of them. The client's
    language picks (``pick``), the other stands in."""

    model_config = ConfigDict(extra="forbid")

    ru: str | None = Field(default=None, min_length=1, max_length=2000)
    en: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_at_least(self) -> Self:
        if self.ru is None and self.en is None:
            raise ValueError("give the text in Russian, English or both")
        return self

    def pick(self, language: str | None) -> str:
        """The text in ``language`` (an IETF tag such as ``ru-RU``), else the other one."""
        russian = (language or "").lower().startswith("ru")
        first, other = (self.ru, self.en) if russian else (self.en, self.ru)
        return first or other or ""


class FormOption(BaseModel):
    """One choice of a ``select`` field: ``key`` is what the answer stores."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=40)
    label: Texts


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=40)
    label: Texts
    type: FieldType = FieldType.TEXT
    options: list[FormOption] | None = Field(default=None, max_length=MAX_OPTIONS)
    required: bool = False

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("a key is lower-case latin letters, digits and _, a letter first")
        return value

    @model_validator(mode="after")
    def _options_for_a_choice(self) -> Self:
        if self.type == FieldType.SELECT:
            if not self.options:
                raise ValueError("a select field needs its options")
            keys = [o.key for o in self.options]
            if len(set(keys)) != len(keys):
                raise ValueError("the options' keys must differ")
        elif self.options is not None:
            raise ValueError("only a select field has options")
        return self


class FormIn(BaseModel):
    """What an admin writes: the form without its id and times."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    fields: list[FormField] = Field(min_length=1, max_length=MAX_FIELDS)
    agreement_text: Texts | None = None

    @field_validator("fields")
    @classmethod
    def _distinct_keys(cls, value: list[FormField]) -> list[FormField]:
        keys = [f.key for f in value]
        if len(set(keys)) != len(keys):
            raise ValueError("the fields' keys must differ")
        return value


class Form(Doc):
    name: str
    fields: list[FormField]
    agreement_text: Texts | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = None
