"""`GET /api/v1/templates` and `POST /api/v1/templates/sync`: the approved template catalog."""

from __future__ import annotations

from aiohttp import web

from gateway.auth import Role, requires
from gateway.catalog.service import CATALOG
from gateway.catalog.sync import SyncError
from gateway.problems import ProblemError, json_response


@requires(Role.AGENT, Role.SUPERVISOR, Role.MARKETING, Role.ADMIN, Role.INTEGRATION)
async def list_templates(request: web.Request) -> web.Response:
    """List every template with its category, status, quality and parameter schema.

    `?status=APPROVED` and `?category=MARKETING` filter the list.
    """
    catalog = request.app[CATALOG]
    status = request.query.get("status", "").upper()
    category = request.query.get("category", "").upper()

    templates = [
        template.to_dict()
        for template in await catalog.store.list_all()
        if (not status or template.status == status)
        and (not category or template.category == category)
    ]
    sync_state = await catalog.store.sync_state()
    return json_response({"templates": templates, "synced_at_ms": sync_state.get("synced_at_ms")})


@requires(Role.ADMIN)
async def sync_templates(request: web.Request) -> web.Response:
    """Fetch Meta's template list now and return the counts of the sync."""
    try:
        result = await request.app[CATALOG].sync()
    except SyncError as exc:
        detail = f"{exc}; the catalog was left as it was, try again later"
        raise ProblemError(502, "template-sync-failed", "Template sync failed", detail) from exc
    return json_response(result.to_dict())


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/templates", list_templates)
    app.router.add_post("/api/v1/templates/sync", sync_templates)
