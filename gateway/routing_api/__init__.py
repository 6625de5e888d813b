"""Feature: the routing engine's lifecycle and its REST and SSE API.

`setup(app)` adds the routes of queues, agents, offers, conversation actions, hand-in of
interactions and the event streams, and a start-up step that loads the routing config,
then runs the timed-step sweeper and the event hub as background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from gateway.appkeys import CLOCK, REDIS, REDIS_BLOCKING, SETTINGS
from gateway.routing_api import agents, interactions, queues, streams, work
from gateway.routing_api.hub import EventHub
from gateway.routing_api.settings import RoutingSettings
from gateway.routing_api.state import AGENTS, EVENT_HUB, QUEUES, ROUTER, ROUTING_CONFIG
from routing.agents import AgentDirectory
from routing.config import QueueConfig, RoutingConfig, load_config
from routing.engine import Router
from routing.events import RoutingEvents
from routing.queues import QueueDirectory
from routing.sweeper import run_sweeper

log = structlog.get_logger(__name__)


async def apply_config(router: Router, directory: QueueDirectory, config: RoutingConfig) -> None:
    """Store the engine settings and the file's queues; create the default queue if missing."""
    await router.configure(config)
    for queue in config.queues:
        await directory.save(queue)
    names = {queue.name for queue in await directory.all()}
    if config.default_queue not in names:
        await directory.save(QueueConfig(name=config.default_queue))


async def _routing_engine(app: web.Application) -> AsyncIterator[None]:
    from gateway.app import RUN_WORKERS

    settings = app[SETTINGS]
    routing_settings = RoutingSettings()
    config = load_config(routing_settings.config)
    router = Router(app[REDIS], settings.redis_prefix, app[CLOCK])
    directory = QueueDirectory(router)
    await apply_config(router, directory, config)

    app[ROUTING_CONFIG] = config
    app[ROUTER] = router
    app[QUEUES] = directory
    app[AGENTS] = AgentDirectory(router, config.channel_costs)
    events = RoutingEvents(
        app[REDIS_BLOCKING], settings.redis_prefix, app[CLOCK], maxlen=config.event_maxlen
    )
    hub = EventHub(events)
    app[EVENT_HUB] = hub

    tasks = [asyncio.create_task(hub.run(), name="routing-event-hub")]
    if app[RUN_WORKERS]:
        sweeper = run_sweeper(router, max_sleep_ms=routing_settings.sweep_max_sleep_ms)
        tasks.append(asyncio.create_task(sweeper, name="routing-sweeper"))
    log.info("routing_started", queues=len(config.queues), config=str(routing_settings.config))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _close_streams(app: web.Application) -> None:
    if EVENT_HUB in app:
        app[EVENT_HUB].close_all()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_routing_engine)
    app.on_shutdown.append(_close_streams)
    # `me` routes first: `/agents/me` must not match `/agents/{agent_id}`.
    streams.add_routes(app)
    agents.add_routes(app)
    queues.add_routes(app)
    work.add_routes(app)
    interactions.add_routes(app)
