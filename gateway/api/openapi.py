"""`GET /api/v1/openapi.json`: an OpenAPI 3.1 description built from the registered routes.

Each operation lists its path parameters, the roles that may call it and the first line of
the handler's docstring. Request and response schemas are not described yet.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

import gateway
from gateway.auth import ROLES_ATTR
from gateway.problems import json_response

OPENAPI_PATH = "/api/v1/openapi.json"
_PARAMETER = re.compile(r"{(\w+)(?::[^}]*)?}")


def build_document(app: web.Application) -> dict[str, Any]:
    """Describe every route of `app` under `/api/v1` and the webhook."""
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method in ("HEAD", "*"):
            continue
        if not (path.startswith("/api/v1/") or path.startswith("/webhooks/")):
            continue
        if path == OPENAPI_PATH:
            continue
        template = _PARAMETER.sub(r"{\1}", path)
        paths.setdefault(template, {})[route.method.lower()] = _operation(route, template)
    return {
        "openapi": "3.1.0",
        "info": {"title": "wa-gateway", "version": gateway.__version__},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": dict(sorted(paths.items())),
    }


def _operation(route: web.AbstractRoute, template: str) -> dict[str, Any]:
    handler = route.handler
    doc = (getattr(handler, "__doc__", None) or "").strip().splitlines()
    roles = sorted(role.value for role in getattr(handler, ROLES_ATTR, ()))
    operation: dict[str, Any] = {
        "summary": doc[0] if doc else getattr(handler, "__name__", ""),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAMETER.findall(template)
        ],
        "responses": {"default": {"description": "JSON, or application/problem+json on error"}},
    }
    if template.startswith("/api/v1/"):
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = roles
    return operation


async def openapi(request: web.Request) -> web.Response:
    return json_response(build_document(request.app))


def setup(app: web.Application) -> None:
    app.router.add_get(OPENAPI_PATH, openapi)
