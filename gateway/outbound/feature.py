"""Feature: the outbound service, sender workers, failure hooks and window warnings.

Set up after `gateway.inbound.service` (it registers inbound hooks) and after
`gateway.simulator.feature` (in sandbox mode it provides the simulator's URL).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import structlog
from aiohttp import web
from pywa_async.client import WhatsApp

from gateway.appkeys import CLOCK, REDIS, REDIS_BLOCKING, SETTINGS
from gateway.inbound.hooks import INBOUND_HOOKS
from gateway.outbound.call_windows import CallWindows
from gateway.outbound.graph import build_whatsapp
from gateway.outbound.outcomes import FailureHandler, OutboundHooks, token_fingerprint
from gateway.outbound.records import OutboundJob
from gateway.outbound.sender import Sender, SenderConfig, stop_senders
from gateway.outbound.service import OUTBOUND, OutboundService
from gateway.outbound.throttle import Throttle
from gateway.settings import Settings
from sessions.model import FieldEvent, InboundMessage, StatusUpdate
from sessions.windows import WindowStore

log = structlog.get_logger(__name__)

# The Graph API base URL to send to instead of Meta (the simulator), or None for Meta.
GRAPH_URL = web.AppKey("graph_url", str)
OUTBOUND_HOOKS = web.AppKey("outbound_hooks", OutboundHooks)


@dataclass
class OutboundRuntime:
    """Objects the feature built, for tests and for the status route."""

    whatsapp: WhatsApp
    failures: FailureHandler
    senders: list[Sender]
    windows: WindowStore


OUTBOUND_RUNTIME = web.AppKey("outbound_runtime", OutboundRuntime)


def graph_url_of(app: web.Application, settings: Settings) -> str | None:
    if GRAPH_URL in app:
        return app[GRAPH_URL]
    return settings.graph_base_url


def build_failure_handler(
    app: web.Application, settings: Settings, service: OutboundService
) -> FailureHandler:
    return FailureHandler(
        app[REDIS],
        settings.redis_prefix,
        app[CLOCK],
        service=service,
        hooks=app[OUTBOUND_HOOKS],
        max_attempts=settings.outbound_max_attempts,
        backoff_base_ms=settings.outbound_backoff_base_ms,
        backoff_max_ms=settings.outbound_backoff_max_ms,
        token_fingerprint=fingerprint_of(settings),
        rng=random.Random(),  # noqa: S311 - retry jitter, not a secret
    )


def fingerprint_of(settings: Settings) -> str:
    token = "" if settings.access_token is None else settings.access_token.get_secret_value()
    return token_fingerprint(token or "sandbox")


def build_sender(
    app: web.Application,
    settings: Settings,
    whatsapp: WhatsApp,
    failures: FailureHandler,
) -> Sender:
    clock = app[CLOCK]
    throttle = Throttle(
        app[REDIS],
        settings.redis_prefix,
        clock,
        rate_per_s=settings.outbound_rate_per_s,
        burst=settings.outbound_burst,
        recipient_rate_per_s=settings.outbound_recipient_rate_per_s,
        recipient_burst=settings.outbound_recipient_burst,
    )
    return Sender(
        app[REDIS],
        settings.redis_prefix,
        clock,
        blocking_redis=app[REDIS_BLOCKING],
        whatsapp=whatsapp,
        throttle=throttle,
        failures=failures,
        config=SenderConfig(
            concurrency=settings.outbound_concurrency,
            claim_idle_ms=settings.outbound_claim_idle_ms,
            status_grace_ms=settings.outbound_status_grace_ms,
        ),
        token_fingerprint=fingerprint_of(settings),
        dispatch_check=_dispatch_check_for(app),
    )


def _dispatch_check_for(app: web.Application) -> Callable[[OutboundJob], Awaitable[bool]]:
    """Build the template check at dispatch; the gate is looked up at call time because
    the consent feature sets it up after this one."""
    from gateway.campaigns.feature import TEMPLATE_GATE
    from gateway.campaigns.store import CampaignStore
    from gateway.catalog.dispatch_gate import DispatchGate, SingleGate
    from gateway.catalog.store import CatalogStore
    from sessions.messages import MessageStore

    checks: list[DispatchGate] = []

    async def check(job: OutboundJob) -> bool:
        gate = app.get(TEMPLATE_GATE)
        if gate is None:
            # Fail closed: without a gate no template may leave.
            log.error("template_gate_missing", message_id=job.message_id)
            return False
        if not checks:
            prefix = app[SETTINGS].redis_prefix
            redis = app[REDIS]
            checks.append(
                DispatchGate(
                    # ConsentGate.check takes more keywords than the protocol names.
                    cast(SingleGate, gate),
                    CatalogStore(redis, prefix),
                    CampaignStore(redis, prefix),
                    MessageStore(redis, prefix, app[CLOCK]),
                    app[CLOCK],
                )
            )
        return await checks[0].allows(job)

    return check


async def _outbound_context(app: web.Application) -> AsyncIterator[None]:
    from gateway.app import RUN_WORKERS

    settings = app[SETTINGS]
    clock = app[CLOCK]
    service = OutboundService(app[REDIS], settings.redis_prefix, clock)
    app[OUTBOUND] = service
    failures = build_failure_handler(app, settings, service)
    whatsapp, session = build_whatsapp(settings, graph_url_of(app, settings))
    count = settings.outbound_senders if app[RUN_WORKERS] else 0
    senders = [build_sender(app, settings, whatsapp, failures) for _ in range(count)]
    windows = WindowStore(app[REDIS], settings.redis_prefix, clock)
    app[OUTBOUND_RUNTIME] = OutboundRuntime(whatsapp, failures, senders, windows)

    # No WindowWarnings loop here: routing's sweeper already sends `window_warning` events to
    # the holding agent (each queue's `window_warnings_s`), and two senders would warn twice.
    tasks = [asyncio.create_task(sender.run(), name=f"sender-{sender.name}") for sender in senders]
    log.info(
        "outbound_started",
        senders=count,
        graph="simulator" if graph_url_of(app, settings) else "meta",
    )
    yield

    await stop_senders(senders, tasks)
    await session.aclose()


def setup(app: web.Application) -> None:
    app[OUTBOUND_HOOKS] = OutboundHooks()
    app.cleanup_ctx.append(_outbound_context)

    async def on_status(status: StatusUpdate) -> None:
        failures = app[OUTBOUND_RUNTIME].failures
        await failures.recover_wamid(status)
        if status.status == "failed":
            await failures.on_failed_status(status)

    async def on_field(event: FieldEvent) -> None:
        if event.field == "calls":
            settings = app[SETTINGS]
            await CallWindows(app[REDIS], settings.redis_prefix, app[CLOCK]).on_field(event)

    async def on_message(message: InboundMessage, conversation_id: str) -> None:
        # Keeps the expiry index current for warnings and for routing's queue order.
        await app[OUTBOUND_RUNTIME].windows.track(conversation_id)

    if INBOUND_HOOKS in app:
        app[INBOUND_HOOKS].on_status.append(on_status)
        app[INBOUND_HOOKS].on_message.append(on_message)
        app[INBOUND_HOOKS].on_field.append(on_field)
    else:
        log.warning(
            "outbound_without_inbound_hooks",
            detail="gateway.inbound.service must be set up first for failed statuses",
        )
