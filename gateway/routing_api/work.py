"""Routes that move work: accept and reject offers; close, transfer, hold and resume conversations.

Agents act on their own offers and conversations; supervisors may act on any
conversation (for example to transfer the chats of an agent who left).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.api.bodies import parse_body
from gateway.auth import Role, principal_of, requires
from gateway.problems import json_response
from gateway.routing_api.agents import agent_id_of
from gateway.routing_api.problems import problem_for
from gateway.routing_api.state import ROUTER
from routing.errors import RoutingError


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_agent: str | None = Field(None, min_length=1, max_length=64)
    to_queue: str | None = Field(None, min_length=1, max_length=64)
    note: str = Field("", max_length=2000, description="Shown to the agent who takes it over.")

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.to_agent is None) == (self.to_queue is None):
            msg = "name exactly one target: `to_agent` or `to_queue`"
            raise ValueError(msg)
        return self


def _acting_agent(request: web.Request) -> str | None:
    """Return the caller's agent id, or None for a supervisor acting on any holder."""
    if principal_of(request).role is Role.AGENT:
        return agent_id_of(request)
    return None


async def _run(step: Awaitable[dict[str, Any]]) -> web.Response:
    try:
        result = await step
    except RoutingError as exc:
        raise problem_for(exc) from exc
    result.pop("ok", None)
    return json_response(result)


@requires(Role.AGENT)
async def accept_offer(request: web.Request) -> web.Response:
    router = request.app[ROUTER]
    return await _run(router.accept(request.match_info["offer_id"], agent_id_of(request)))


@requires(Role.AGENT)
async def reject_offer(request: web.Request) -> web.Response:
    router = request.app[ROUTER]
    return await _run(router.reject(request.match_info["offer_id"], agent_id_of(request)))


def _conversation_step(action: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Build the handler of a conversation action: `close`, `hold`, `resume` or `end_wrap_up`."""

    async def handler(request: web.Request) -> web.Response:
        step = getattr(request.app[ROUTER], action)
        return await _run(step(request.match_info["conversation_id"], _acting_agent(request)))

    return requires(Role.AGENT, Role.SUPERVISOR)(handler)


@requires(Role.AGENT, Role.SUPERVISOR)
async def transfer(request: web.Request) -> web.Response:
    body = await parse_body(request, TransferBody)
    router = request.app[ROUTER]
    step = router.transfer(
        request.match_info["conversation_id"],
        _acting_agent(request),
        to_agent=body.to_agent,
        to_queue=body.to_queue,
        note=body.note,
    )
    return await _run(step)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/offers/{offer_id}/accept", accept_offer)
    app.router.add_post("/api/v1/offers/{offer_id}/reject", reject_offer)
    base = "/api/v1/conversations/{conversation_id}"
    app.router.add_post(f"{base}/close", _conversation_step("close"))
    app.router.add_post(f"{base}/hold", _conversation_step("hold"))
    app.router.add_post(f"{base}/resume", _conversation_step("resume"))
    app.router.add_post(f"{base}/wrap-up/end", _conversation_step("end_wrap_up"))
    app.router.add_post(f"{base}/transfer", transfer)
