"""The aiohttp application factory.

Each feature module exposes `setup(app)`, which adds its routes, state and background
tasks; `FEATURES` lists them in the order they are set up.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from common.clock import Clock, SystemClock
from gateway.appkeys import CLOCK, REDIS, REDIS_BLOCKING, SETTINGS
from gateway.auth import TokenStore, make_auth_middleware
from gateway.middleware import problem_details, request_context
from gateway.redis_client import create_redis
from gateway.settings import Settings

FEATURES: list[str] = [
    "gateway.api.health",
    "gateway.api.openapi",
    "gateway.webhook",
    "gateway.inbound.service",
    "gateway.simulator.feature",
    "gateway.outbound.feature",
    "gateway.api.outbound_messages",
    "gateway.consent_feature",
    "gateway.api.conversations",
    "gateway.routing_api",
    "gateway.catalog.service",
    "gateway.api.templates_catalog",
    "gateway.campaigns.feature",
    "gateway.api.templates_send",
    "gateway.api.campaigns_routes",
]

TOKENS = web.AppKey("tokens", TokenStore)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    features: list[str] | None = None,
    run_workers: bool = True,
) -> web.Application:
    """Build the gateway app; Redis clients open and close with the app's lifecycle."""
    if not settings.redis_url:
        msg = (
            "settings.redis_url must be set; the CLI fills it in when it starts the embedded server"
        )
        raise ValueError(msg)

    app = web.Application(
        client_max_size=settings.webhook_max_body_bytes,
        middlewares=[
            request_context,
            problem_details,
            make_auth_middleware(lambda request: request.app[TOKENS]),
        ],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[RUN_WORKERS] = run_workers
    app.cleanup_ctx.append(_redis_clients)

    for name in features if features is not None else FEATURES:
        importlib.import_module(name).setup(app)
    return app


RUN_WORKERS = web.AppKey("run_workers", bool)


async def _redis_clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    url = settings.redis_url or ""
    redis: Redis = create_redis(url, settings)
    blocking: Redis = create_redis(url, settings, socket_timeout_s=10.0, max_connections=32)
    app[REDIS] = redis
    app[REDIS_BLOCKING] = blocking
    app[TOKENS] = TokenStore(redis, settings.redis_prefix)
    yield
    await blocking.aclose()
    await redis.aclose()
