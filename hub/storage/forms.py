"""The ``forms`` collection (hub/forms.py) and the ``bots`` collection (hub/bots.py): named
documents admins write (``NamedStore``)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from hub.bots import Bot
from hub.forms import Form
from hub.storage.named import NamedStore

Doc = dict[str, Any]


class FormStore(NamedStore[Form]):
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        super().__init__(collection, Form, "form")


class BotStore(NamedStore[Bot]):
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        super().__init__(collection, Bot, "bot")
