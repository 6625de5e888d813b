"""Server-sent event streams: an agent's own events, and every event for supervisors.

Each event is `id: <stream id>` and `data: <JSON with a type>`. A client that reconnects
with `Last-Event-ID` first gets the events it missed that are still in the stream.
"""

from __future__ import annotations

import asyncio
import re

import orjson
from aiohttp import web

from gateway.auth import Role, requires
from gateway.routing_api.agents import agent_id_of
from gateway.routing_api.hub import Subscription
from gateway.routing_api.state import EVENT_HUB
from routing.events import RoutingEvent, stream_id_key

KEEP_ALIVE_S = 15.0
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def format_event(event: RoutingEvent) -> bytes:
    return b"id: " + event.id.encode() + b"\ndata: " + orjson.dumps(event.data) + b"\n\n"


@requires(Role.AGENT)
async def agent_events(request: web.Request) -> web.StreamResponse:
    return await _stream(request, agent_id_of(request))


@requires(Role.SUPERVISOR, Role.ADMIN)
async def supervisor_events(request: web.Request) -> web.StreamResponse:
    return await _stream(request, None)


async def _stream(request: web.Request, agent_id: str | None) -> web.StreamResponse:
    hub = request.app[EVENT_HUB]
    # Subscribe before catching up, so that nothing falls between the two; the id check
    # below drops what both deliver.
    subscription = hub.subscribe(agent_id)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await response.write(b": connected\n\n")
        last_sent = await _catch_up(request, response, subscription)
        while True:
            try:
                event = await asyncio.wait_for(subscription.queue.get(), KEEP_ALIVE_S)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is None:
                break
            if last_sent is not None and stream_id_key(event.id) <= last_sent:
                continue
            await response.write(format_event(event))
    except ConnectionResetError:
        pass  # the client went away; it reconnects with Last-Event-ID
    finally:
        hub.unsubscribe(subscription)
    return response


async def _catch_up(
    request: web.Request, response: web.StreamResponse, subscription: Subscription
) -> tuple[int, int] | None:
    last_event_id = request.headers.get("Last-Event-ID", "")
    if not STREAM_ID.match(last_event_id):
        return None
    last_sent = stream_id_key(last_event_id)
    missed = await request.app[EVENT_HUB].events.after(last_event_id)
    for event in missed:
        if subscription.wants(event):
            await response.write(format_event(event))
            last_sent = stream_id_key(event.id)
    return last_sent


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/agents/me/events", agent_events)
    app.router.add_get("/api/v1/supervisor/events", supervisor_events)
