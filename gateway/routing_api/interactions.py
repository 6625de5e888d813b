"""Hand-in of interactions from other systems: voice calls, e-mails and web chats."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.bodies import parse_body
from gateway.auth import Role, requires
from gateway.problems import json_response
from gateway.routing_api.problems import problem_for
from gateway.routing_api.state import AGENTS, QUEUES, ROUTER, ROUTING_CONFIG
from routing.agents import interaction_view
from routing.config import Language, SkillLevel, SkillName
from routing.engine import InteractionSpec, new_interaction_id
from routing.errors import RoutingError
from routing.model import Channel


class CustomerRef(BaseModel):
    """The customer; only `id` is stored, other fields (name, phone) are accepted and dropped."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)


class InteractionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")] | None = Field(
        None, description="Your id for it (a call id, a mail id); generated when missing."
    )
    channel: Literal["voice", "email", "webchat"]
    queue: str | None = Field(None, description="Queue name; chosen by match rules when missing.")
    priority: int = Field(0, ge=0, le=100)
    skills: dict[SkillName, SkillLevel] | list[SkillName] = Field(default_factory=dict)
    language: Language | None = None
    customer: CustomerRef
    preferred_agent: str | None = None
    source: str | None = Field(None, max_length=200)

    def required_skills(self) -> dict[str, int]:
        """Return skills with their minimum level; a plain list requires level 1 of each."""
        if isinstance(self.skills, list):
            return dict.fromkeys(self.skills, 1)
        return dict(self.skills)


@requires(Role.INTEGRATION, Role.ADMIN)
async def create_interaction(request: web.Request) -> web.Response:
    body = await parse_body(request, InteractionBody)
    app = request.app
    try:
        queue = (
            body.queue
            or (
                await app[QUEUES].choose(
                    channel=body.channel,
                    language=body.language,
                    sources={body.source} if body.source else set(),
                    fallback=app[ROUTING_CONFIG].default_queue,
                )
            ).name
        )
        if body.preferred_agent is not None:
            await _known_agent(request, body.preferred_agent)
        interaction_id = body.id or new_interaction_id()
        spec = InteractionSpec(
            channel=Channel(body.channel),
            queue=queue,
            priority=body.priority,
            skills=body.required_skills(),
            language=body.language,
            customer_id=body.customer.id,
            preferred_agent=body.preferred_agent,
            source=body.source,
        )
        result = await app[ROUTER].enqueue(interaction_id, spec)
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response(await _view(request, result["conversation_id"]), status=201)


@requires(Role.INTEGRATION, Role.SUPERVISOR, Role.ADMIN)
async def get_interaction(request: web.Request) -> web.Response:
    return json_response(await _view(request, request.match_info["interaction_id"]))


@requires(Role.INTEGRATION, Role.SUPERVISOR, Role.ADMIN)
async def abandon_interaction(request: web.Request) -> web.Response:
    try:
        await request.app[ROUTER].abandon(request.match_info["interaction_id"], "customer_left")
    except RoutingError as exc:
        raise problem_for(exc) from exc
    return json_response(await _view(request, request.match_info["interaction_id"]))


async def _known_agent(request: web.Request, agent_id: str) -> None:
    try:
        await request.app[AGENTS].get(agent_id)
    except RoutingError as exc:
        raise RoutingError("unknown_agent", f"preferred_agent `{agent_id}` does not exist") from exc


async def _view(request: web.Request, interaction_id: str) -> dict[str, Any]:
    router = request.app[ROUTER]
    raw = await router.redis.hgetall(router.keys.interaction(interaction_id))
    if not raw:
        raise problem_for(
            RoutingError("interaction_not_found", f"interaction `{interaction_id}` does not exist")
        )
    return interaction_view(raw)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/interactions", create_interaction)
    app.router.add_get("/api/v1/interactions/{interaction_id}", get_interaction)
    app.router.add_post("/api/v1/interactions/{interaction_id}/abandon", abandon_interaction)
