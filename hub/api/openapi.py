"""``GET /api/v1/openapi.json``: the REST API described from the routes themselves, with the
request bodies' JSON Schemas taken from the same pydantic models that validate them."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub import __version__
from hub.http import json_response

routes = web.RouteTableDef()
OPENAPI = web.AppKey("openapi", dict)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def build_spec(
    table: list[tuple[str, str, Any]], bodies: dict[tuple[str, str], type[BaseModel]]
) -> Any:
    """OpenAPI 3.1 from ``(method, path, handler)`` triples; summaries are the docstrings."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for method, path, handler in table:
        if method in ("HEAD", "OPTIONS", "*"):
            continue
        operation: dict[str, Any] = {
            "summary": (handler.__doc__ or handler.__name__).strip().splitlines()[0],
            "operationId": handler.__name__,
            "tags": [path.split("/")[3] if path.startswith("/api/v1/") else "operations"],
            "responses": {
                "2XX": {"description": "success"},
                "4XX": {
                    "description": "the error body",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        params = re.findall(r"{(\w+)}", path)
        if params:
            operation["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        model = bodies.get((method, path))
        if model is not None:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                    }
                },
            }
        if not path.startswith(("/healthz", "/metrics", "/hooks")):
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenLines", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """This API, described as OpenAPI 3.1."""
    return json_response(request.app[OPENAPI])
