"""`/healthz` (the process is up) and `/readyz` (Redis replies and a worker is running)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.exceptions import RedisError

from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.keys import GatewayKeys
from gateway.problems import json_response

WORKER_FRESH_MS = 5000


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when Redis replies to PING and, where this process runs workers, one is alive.

    A `serve --no-workers` process only receives webhooks, which needs Redis alone; the
    worker check then reports what it sees without failing readiness.
    """
    from gateway.app import RUN_WORKERS

    redis = request.app[REDIS]
    keys = GatewayKeys(request.app[SETTINGS].redis_prefix)
    now_ms = request.app[CLOCK].now_ms()
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(redis.ping(), timeout=1.0)
        checks["redis"] = "ok"
        fresh = await redis.zcount(keys.workers(), now_ms - WORKER_FRESH_MS, "+inf")
        if fresh:
            checks["worker"] = "ok"
        elif request.app[RUN_WORKERS]:
            checks["worker"] = "no worker heartbeat in the last 5 s"
        else:
            checks["worker"] = "ok"
            checks["note"] = "this process runs no workers, and none sent a heartbeat"
    except (RedisError, OSError, TimeoutError) as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        checks["worker"] = "unknown"
    ready = checks["redis"] == "ok" and checks["worker"] == "ok"
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
