"""The REST routes of a collection of named documents admins write and every staff member
reads (forms, bots): create, list, read, edit (a merged whole, validated again), delete. One
piece for both, so the rules (who writes, 404, 409 name_taken, times as stored) hold alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hub.api.common import caller, hub_of
from hub.errors import NotFound
from hub.http import json_response, read_json
from hub.models import Doc, Role, to_millis, utcnow
from hub.services import Hub
from hub.storage.named import NamedStore
from hub.validation import parse_model

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=Doc)


class AnyPatch(BaseModel):
    """Any subset of the fields; validated as a whole after merging."""

    model_config = ConfigDict(extra="allow")


class NamedRoutes(Generic[In, Out]):
    """``/api/v1/<plural>`` and ``/api/v1/<plural>/{<id_param>}`` over one ``NamedStore``.
    ``check`` looks at what refers outside the document (a bot's lines and forms)."""

    def __init__(
        self,
        plural: str,
        what: str,
        store: Callable[[Hub], NamedStore[Out]],
        body: type[In],
        model: type[Out],
        check: Callable[[Hub, In], Awaitable[None]] | None = None,
    ) -> None:
        self.plural, self.what = plural, what
        self.id_param = f"{what}_id"
        self._store, self._body, self._model, self._check = store, body, model, check
        self.routes = web.RouteTableDef()
        base, one = f"/api/v1/{plural}", f"/api/v1/{plural}/{{{self.id_param}}}"
        self.routes.post(base)(self.create)
        self.routes.get(base)(self.list)
        self.routes.get(one)(self.get)
        self.routes.patch(one)(self.patch)
        self.routes.delete(one)(self.delete)

    def body_models(self) -> dict[tuple[str, str], type[BaseModel]]:
        return {
            ("POST", f"/api/v1/{self.plural}"): self._body,
            ("PATCH", f"/api/v1/{self.plural}/{{{self.id_param}}}"): self._body,
        }

    async def _load(self, request: web.Request) -> Out:
        found = await self._store(hub_of(request)).get(request.match_info[self.id_param])
        if found is None:
            raise NotFound(f"no such {self.what}")
        return found

    async def _checked(self, hub: Hub, data: dict[str, Any]) -> In:
        body = parse_model(self._body, data)
        if self._check is not None:
            await self._check(hub, body)
        return body

    async def create(self, request: web.Request) -> web.Response:
        await caller(request, Role.ADMIN)
        hub = hub_of(request)
        body = await self._checked(hub, (await read_json(request, AnyPatch)).model_dump())
        record = self._model(**body.model_dump(), created_at=to_millis(utcnow()))
        await self._store(hub).insert(record)
        return json_response(record.model_dump(mode="json"), status=201)

    async def list(self, request: web.Request) -> web.Response:
        await caller(request)
        found = await self._store(hub_of(request)).all()
        return json_response({self.plural: [r.model_dump(mode="json") for r in found]})

    async def get(self, request: web.Request) -> web.Response:
        await caller(request)
        return json_response((await self._load(request)).model_dump(mode="json"))

    async def patch(self, request: web.Request) -> web.Response:
        await caller(request, Role.ADMIN)
        record = await self._load(request)
        patch = await read_json(request, AnyPatch)
        current = record.model_dump(mode="json", include=set(self._body.model_fields))
        hub = hub_of(request)
        body = await self._checked(hub, {**current, **patch.model_dump(exclude_unset=True)})
        updated = self._model(
            id=record.id,
            created_at=getattr(record, "created_at", None),
            updated_at=to_millis(utcnow()),
            **body.model_dump(),
        )
        if not await self._store(hub).replace(updated):
            raise NotFound(f"no such {self.what}")
        return json_response(updated.model_dump(mode="json"))

    async def delete(self, request: web.Request) -> web.Response:
        await caller(request, Role.ADMIN)
        record = await self._load(request)
        await self._store(hub_of(request)).delete(record.id)
        return web.Response(status=204)
