"""The consent check right before a template send leaves: withdrawals in between block it."""

from __future__ import annotations

from redis.asyncio import Redis

from common.clock import ManualClock
from consent.gate import Gate
from consent.model import EventType
from gateway.campaigns.dispatcher import Dispatcher
from gateway.campaigns.service import CampaignService
from gateway.campaigns.store import CampaignStore
from gateway.catalog.dispatch_gate import DispatchGate
from gateway.catalog.store import CatalogStore, Change
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.records import OutboundJob
from sessions.messages import MessageStore
from tests.campaigns.conftest import PREFIX, ConsentSetter, phone_of, sale_campaign


async def queued_jobs(
    redis: Redis, service: CampaignService, dispatcher: Dispatcher, count: int
) -> tuple[str, list[OutboundJob]]:
    campaign, _ = await service.create(
        sale_campaign([phone_of(i) for i in range(count)]), created_by="t"
    )
    await service.start(campaign.campaign_id)
    await dispatcher.run(campaign.campaign_id)
    entries = await redis.xrange(OutboundKeys(PREFIX).stream)
    return campaign.campaign_id, [OutboundJob.from_fields(fields) for _, fields in entries]


def dispatch_gate(
    redis: Redis,
    gate: Gate,
    catalog_store: CatalogStore,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> DispatchGate:
    return DispatchGate(
        gate, catalog_store, campaign_store, MessageStore(redis, PREFIX, clock), clock
    )


async def test_active_consent_allows(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    gate: Gate,
    catalog_store: CatalogStore,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> None:
    await consent([phone_of(0)], EventType.GIVEN, EventType.CONFIRMED)
    _, jobs = await queued_jobs(redis, service, dispatcher, 1)
    checker = dispatch_gate(redis, gate, catalog_store, campaign_store, clock)
    assert await checker.allows(jobs[0]) is True


async def test_withdrawal_after_queue_blocks(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    gate: Gate,
    catalog_store: CatalogStore,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> None:
    await consent([phone_of(0)], EventType.GIVEN, EventType.CONFIRMED)
    campaign_id, jobs = await queued_jobs(redis, service, dispatcher, 1)
    await consent([phone_of(0)], EventType.WITHDRAWN)
    checker = dispatch_gate(redis, gate, catalog_store, campaign_store, clock)

    assert await checker.allows(jobs[0]) is False
    message = await MessageStore(redis, PREFIX, clock).get_by_message_id(jobs[0].message_id)
    states = await campaign_store.recipient_states(campaign_id, 0, 1)
    assert message is not None
    assert message["status"] == "blocked"
    assert states == [(0, "blocked", "consent_withdrawn")]


async def test_paused_template_blocks(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    gate: Gate,
    catalog_store: CatalogStore,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> None:
    await consent([phone_of(0)], EventType.GIVEN, EventType.CONFIRMED)
    _, jobs = await queued_jobs(redis, service, dispatcher, 1)
    await catalog_store.apply(Change("status", "PAUSED", clock.advance(1), "spring_sale", "de"))
    checker = dispatch_gate(redis, gate, catalog_store, campaign_store, clock)
    assert await checker.blocked_reason(jobs[0]) == "template_paused"


async def test_free_form_not_checked(
    redis: Redis,
    gate: Gate,
    catalog_store: CatalogStore,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> None:
    job = OutboundJob(
        "m_1",
        "c_1",
        "156305421874268",
        "4915100000001",
        "text",
        {"body": "Hallo"},
        "agent_reply",
        clock.now_ms(),
    )
    checker = dispatch_gate(redis, gate, catalog_store, campaign_store, clock)
    assert await checker.allows(job) is True
