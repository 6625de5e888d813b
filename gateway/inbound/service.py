"""Feature: inbound worker tasks inside the gateway process, and the hook registry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from redis.exceptions import RedisError

from gateway.appkeys import CLOCK, REDIS_BLOCKING, SETTINGS
from gateway.inbound.hooks import INBOUND_HOOKS, InboundHooks
from gateway.inbound.worker import InboundWorker
from gateway.settings import Settings

log = structlog.get_logger(__name__)

WORKERS = web.AppKey("inbound_workers", list[InboundWorker])
TRIM_INTERVAL_S = 60.0


def build_worker(settings: Settings, app: web.Application) -> InboundWorker:
    return InboundWorker(
        app[REDIS_BLOCKING],
        settings.redis_prefix,
        app[CLOCK],
        hooks=app[INBOUND_HOOKS],
        max_attempts=settings.inbound_max_attempts,
        claim_idle_ms=settings.inbound_claim_idle_ms,
        retention_ms=settings.inbound_retention_days * 24 * 3600 * 1000,
    )


async def _run_workers(app: web.Application) -> AsyncIterator[None]:
    from gateway.app import RUN_WORKERS

    settings = app[SETTINGS]
    count = settings.workers if app[RUN_WORKERS] else 0
    workers = [build_worker(settings, app) for _ in range(count)]
    app[WORKERS] = workers
    tasks = [asyncio.create_task(worker.run(), name=f"inbound-{worker.name}") for worker in workers]
    if workers:
        tasks.append(asyncio.create_task(_trim_loop(workers[0]), name="inbound-trim"))
    yield
    for worker in workers:
        worker.stop()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _trim_loop(worker: InboundWorker) -> None:
    while True:
        await asyncio.sleep(TRIM_INTERVAL_S)
        try:
            await worker.trim()
        except (RedisError, OSError) as exc:
            log.warning("inbound_trim_failed", error=str(exc))


def setup(app: web.Application) -> None:
    app[INBOUND_HOOKS] = InboundHooks()
    app.cleanup_ctx.append(_run_workers)
