"""Agent routes: admins manage agents, agents set their presence and list their work."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from gateway.api.bodies import parse_body
from gateway.auth import Role, principal_of, requires
from gateway.problems import ProblemError, json_response
from gateway.routing_api.problems import problem_for
from gateway.routing_api.state import AGENTS, ROUTER
from routing.config import AgentSpec
from routing.errors import RoutingError
from routing.model import Presence


class PresenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presence: Presence


def agent_id_of(request: web.Request) -> str:
    """Return the agent bound to the caller's token; 403 for a token bound to none."""
    agent_id = principal_of(request).agent_id
    if not agent_id:
        detail = (
            "this token is not bound to an agent; create agent tokens with "
            "POST /api/v1/agents or `wa-gateway agents add`"
        )
        raise ProblemError(403, "not-an-agent", "Forbidden", detail)
    return agent_id


@requires(Role.ADMIN)
async def create_agent(request: web.Request) -> web.Response:
    from gateway.app import TOKENS

    spec = await parse_body(request, AgentSpec)
    try:
        view = await request.app[AGENTS].save(spec, create=True)
    except RoutingError as exc:
        raise problem_for(exc) from exc
    token = await request.app[TOKENS].create(Role.AGENT, spec.name, agent_id=spec.id)
    return json_response({"agent": view.as_dict(), "token": token}, status=201)


@requires(Role.ADMIN)
async def replace_agent(request: web.Request) -> web.Response:
    spec = await parse_body(request, AgentSpec)
    agent_id = request.match_info["agent_id"]
    if spec.id != agent_id:
        raise problem_for(
            RoutingError(
                "invalid_agent_id",
                f"the body names agent `{spec.id}` but the path names `{agent_id}`",
            )
        )
    try:
        view = await request.app[AGENTS].save(spec, create=False)
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response({"agent": view.as_dict()})


@requires(Role.ADMIN)
async def delete_agent(request: web.Request) -> web.Response:
    from gateway.app import TOKENS

    agent_id = request.match_info["agent_id"]
    try:
        await request.app[AGENTS].delete(agent_id)
    except RoutingError as exc:
        raise problem_for(exc) from exc
    revoked = await request.app[TOKENS].revoke_for_agent(agent_id)
    return json_response({"agent_id": agent_id, "tokens_revoked": revoked})


@requires(Role.ADMIN, Role.SUPERVISOR)
async def list_agents(request: web.Request) -> web.Response:
    views = await request.app[AGENTS].all()
    return json_response({"items": [view.as_dict() for view in views]})


@requires(Role.ADMIN, Role.SUPERVISOR)
async def get_agent(request: web.Request) -> web.Response:
    try:
        view = await request.app[AGENTS].get(request.match_info["agent_id"])
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response({"agent": view.as_dict()})


@requires(Role.ADMIN, Role.SUPERVISOR)
async def set_agent_presence(request: web.Request) -> web.Response:
    body = await parse_body(request, PresenceBody)
    return await _set_presence(request, request.match_info["agent_id"], body.presence)


@requires(Role.AGENT)
async def get_me(request: web.Request) -> web.Response:
    try:
        view = await request.app[AGENTS].get(agent_id_of(request))
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response({"agent": view.as_dict()})


@requires(Role.AGENT)
async def set_my_presence(request: web.Request) -> web.Response:
    body = await parse_body(request, PresenceBody)
    return await _set_presence(request, agent_id_of(request), body.presence)


@requires(Role.AGENT)
async def my_interactions(request: web.Request) -> web.Response:
    items = await request.app[AGENTS].interactions(agent_id_of(request))
    return json_response({"items": items})


async def _set_presence(request: web.Request, agent_id: str, presence: Presence) -> web.Response:
    try:
        result = await request.app[ROUTER].set_presence(agent_id, presence)
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response(
        {
            "agent_id": agent_id,
            "presence": result["presence"],
            "previous": result["previous"],
            "offers": result["offers"],
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/agents/me", get_me)
    app.router.add_put("/api/v1/agents/me/presence", set_my_presence)
    app.router.add_get("/api/v1/agents/me/interactions", my_interactions)
    app.router.add_post("/api/v1/agents", create_agent)
    app.router.add_get("/api/v1/agents", list_agents)
    app.router.add_get("/api/v1/agents/{agent_id}", get_agent)
    app.router.add_put("/api/v1/agents/{agent_id}", replace_agent)
    app.router.add_delete("/api/v1/agents/{agent_id}", delete_agent)
    app.router.add_put("/api/v1/agents/{agent_id}/presence", set_agent_presence)
