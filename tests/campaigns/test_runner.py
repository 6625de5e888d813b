"""The campaign runner: scheduled campaigns start when due, running ones get a dispatcher."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from redis.asyncio import Redis

from common.clock import ManualClock
from consent.model import EventType
from gateway.campaigns.dispatcher import Dispatcher
from gateway.campaigns.model import CampaignState
from gateway.campaigns.runner import CampaignRunner
from gateway.campaigns.service import CampaignService
from gateway.campaigns.store import CampaignStore
from tests.campaigns.conftest import ConsentSetter, phone_of, sale_campaign


async def scheduled(service: CampaignService, clock: ManualClock, delay_ms: int) -> str:
    request = replace(
        sale_campaign([phone_of(1), phone_of(2)]), scheduled_at_ms=clock.now_ms() + delay_ms
    )
    campaign, _ = await service.create(request, created_by="test")
    return campaign.campaign_id


async def test_not_started_before_due(
    service: CampaignService,
    dispatcher: Dispatcher,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> None:
    campaign_id = await scheduled(service, clock, 60_000)
    runner = CampaignRunner(campaign_store, dispatcher, clock)
    await runner.poll_once()
    assert (await campaign_store.get(campaign_id)).state is CampaignState.SCHEDULED


async def test_started_when_due(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    campaign_store: CampaignStore,
    clock: ManualClock,
    consent: ConsentSetter,
) -> None:
    await consent([phone_of(1)], EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await scheduled(service, clock, 60_000)
    runner = CampaignRunner(campaign_store, dispatcher, clock)
    clock.advance(60_000)

    await runner.poll_once()
    for _ in range(100):
        if (await campaign_store.get(campaign_id)).state is CampaignState.COMPLETED:
            break
        await asyncio.sleep(0.01)
    await runner.stop()
    assert (await campaign_store.get(campaign_id)).state is CampaignState.COMPLETED
    assert (await campaign_store.counts(campaign_id))["now:queued"] == 1


async def test_cancelled_leaves_active_set(
    service: CampaignService, campaign_store: CampaignStore, clock: ManualClock
) -> None:
    campaign_id = await scheduled(service, clock, 1)
    await service.cancel(campaign_id)
    assert await campaign_store.active_ids(due_by_ms=clock.now_ms() + 10) == []
