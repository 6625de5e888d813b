"""The campaign feature: service, dispatcher loop and status hooks in the gateway process.

The consent gate comes from `TEMPLATE_GATE`, which the consent feature (or a test) sets;
without one every send is denied, because the gate fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from aiohttp import web

from consent.gate import Decision
from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.campaigns.dispatcher import ConsentGate, Dispatcher, Pacing
from gateway.campaigns.handoff import StreamHandoff
from gateway.campaigns.runner import CampaignRunner
from gateway.campaigns.service import CampaignService
from gateway.campaigns.statuses import StatusApplier
from gateway.campaigns.store import CampaignStore
from gateway.catalog.store import CatalogStore
from gateway.inbound.hooks import INBOUND_HOOKS, InboundHooks
from gateway.outbound.feature import OUTBOUND_HOOKS
from gateway.outbound.outcomes import OutboundFailureEvent
from sessions.model import StatusUpdate

log = structlog.get_logger(__name__)


class AppGate:
    """The consent gate of the app, looked up at each decision.

    The consent feature sets `TEMPLATE_GATE` when it starts, which may be after this
    feature started. Without a gate every send is denied: the gate fails closed.
    """

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def check_many(
        self,
        phone_number_id: str,
        phones: Sequence[str],
        *,
        template_category: str | None = None,
        template_name: str | None = None,
        actor: str = "system",
    ) -> Sequence[Any]:
        gate = self._app.get(TEMPLATE_GATE)
        if gate is None:
            log.warning(
                "campaign_gate_missing", detail="no consent gate is set up; the send is denied"
            )
            return [Decision(False, "gate_unavailable") for _ in phones]
        return await gate.check_many(
            phone_number_id,
            phones,
            template_category=template_category,
            template_name=template_name,
            actor=actor,
        )


CAMPAIGNS = web.AppKey("campaigns", CampaignService)
TEMPLATE_GATE: web.AppKey[ConsentGate] = web.AppKey("template_gate")
CAMPAIGN_RUNNER = web.AppKey("campaign_runner", CampaignRunner)
RUN_DISPATCHERS = web.AppKey("run_campaign_dispatchers", bool)


def process_owner() -> str:
    """Return a lease owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_campaigns)
    if INBOUND_HOOKS not in app:
        app[INBOUND_HOOKS] = InboundHooks()

    async def on_status(status: StatusUpdate) -> None:
        await StatusApplier(app[CAMPAIGNS].store).on_status(status)

    app[INBOUND_HOOKS].on_status.append(on_status)
    _register_failure_hook(app)


async def _campaigns(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis, clock, prefix = app[REDIS], app[CLOCK], settings.redis_prefix
    gate = AppGate(app)

    store = CampaignStore(redis, prefix)
    catalog = CatalogStore(redis, prefix)
    app[CAMPAIGNS] = CampaignService(store, catalog, gate, clock)

    dispatcher = Dispatcher(
        redis,
        store,
        catalog,
        gate,
        StreamHandoff(redis, prefix, clock, store),
        clock,
        owner=process_owner(),
        lease_ms=settings.campaign_lease_ms,
        pacing=Pacing(
            batch_size=settings.campaign_batch_size,
            rate_per_s=settings.campaign_rate_per_s or settings.outbound_rate_per_s,
        ),
    )
    runner = CampaignRunner(store, dispatcher, clock, poll_s=settings.campaign_poll_s)
    app[CAMPAIGN_RUNNER] = runner
    task = (
        asyncio.create_task(runner.run(), name="campaign-runner")
        if app.get(RUN_DISPATCHERS, True)
        else None
    )
    yield

    if task is not None:
        await runner.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _register_failure_hook(app: web.Application) -> None:
    # Sends the Graph API rejected (131049, 130472, 132xxx) get no status webhook; the
    # outbound feature reports them through its failure hooks.
    if OUTBOUND_HOOKS not in app:
        log.warning(
            "campaign_without_outbound_hooks",
            detail="set up gateway.outbound.feature first, or rejected sends stay queued",
        )
        return

    async def on_failure(event: OutboundFailureEvent) -> None:
        await StatusApplier(app[CAMPAIGNS].store).on_failure(
            event.message_id, event.code, event.at_ms
        )

    app[OUTBOUND_HOOKS].on_failure.append(on_failure)
