"""Queue routes: the supervisor overview, and queue configuration by admins."""

from __future__ import annotations

from aiohttp import web

from gateway.api.bodies import parse_body
from gateway.auth import Role, requires
from gateway.problems import json_response
from gateway.routing_api.problems import problem_for
from gateway.routing_api.state import AGENTS, QUEUES, ROUTER
from routing.config import QueueConfig
from routing.errors import RoutingError
from routing.metrics import queue_summary, supervisor_overview


@requires(Role.SUPERVISOR, Role.ADMIN)
async def list_queues(request: web.Request) -> web.Response:
    app = request.app
    return json_response(await supervisor_overview(app[ROUTER], app[QUEUES], app[AGENTS]))


@requires(Role.SUPERVISOR, Role.ADMIN)
async def get_queue(request: web.Request) -> web.Response:
    app = request.app
    try:
        queue = await app[QUEUES].get(request.match_info["name"])
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response(await queue_summary(app[ROUTER], queue))


@requires(Role.ADMIN)
async def create_queue(request: web.Request) -> web.Response:
    queue = await parse_body(request, QueueConfig)
    try:
        await request.app[QUEUES].save(queue, create_only=True)
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response(queue.model_dump(mode="json"), status=201)


@requires(Role.ADMIN)
async def replace_queue(request: web.Request) -> web.Response:
    queue = await parse_body(request, QueueConfig)
    name = request.match_info["name"]
    if queue.name != name:
        raise problem_for(
            RoutingError(
                "invalid_queue_name",
                f"the body names queue `{queue.name}` but the path names `{name}`",
            )
        )
    created = await request.app[QUEUES].save(queue)
    return json_response(queue.model_dump(mode="json"), status=201 if created else 200)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/queues", list_queues)
    app.router.add_post("/api/v1/queues", create_queue)
    app.router.add_get("/api/v1/queues/{name}", get_queue)
    app.router.add_put("/api/v1/queues/{name}", replace_queue)
