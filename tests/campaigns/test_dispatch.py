"""Dispatching a campaign: consent at dispatch time, template state, exactly-once hand-off."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.model import EventType
from gateway.campaigns.dispatcher import Dispatcher
from gateway.campaigns.model import CampaignState, message_id_of
from gateway.campaigns.service import CampaignService
from gateway.campaigns.store import CampaignStore
from gateway.catalog.store import CatalogStore, Change
from gateway.outbound.keys import OutboundKeys
from tests.campaigns.conftest import PREFIX, ConsentSetter, phone_of, sale_campaign

STREAM = OutboundKeys(PREFIX).stream


async def stream_sends(redis: Redis) -> list[dict[str, str]]:
    entries = await redis.xrange(STREAM)
    return [
        {key.decode(): value.decode() for key, value in fields.items()} for _, fields in entries
    ]


async def started(service: CampaignService, phones: list[str]) -> str:
    campaign, _ = await service.create(sale_campaign(phones), created_by="test")
    await service.start(campaign.campaign_id)
    return campaign.campaign_id


async def test_sends_only_consented(
    redis: Redis, service: CampaignService, dispatcher: Dispatcher, consent: ConsentSetter
) -> None:
    phones = [phone_of(i) for i in range(30)]
    await consent(phones[:10], EventType.GIVEN, EventType.CONFIRMED)
    await consent(phones[10:15], EventType.GIVEN)
    campaign_id = await started(service, phones)

    state = await dispatcher.run(campaign_id)
    sends = await stream_sends(redis)
    assert state is CampaignState.COMPLETED
    assert sorted(send["to"] for send in sends) == sorted(
        phone.lstrip("+") for phone in phones[:10]
    )


async def test_blocked_reasons_counted(
    service: CampaignService, dispatcher: Dispatcher, consent: ConsentSetter
) -> None:
    phones = [phone_of(i) for i in range(30)]
    await consent(phones[:10], EventType.GIVEN, EventType.CONFIRMED)
    await consent(phones[10:15], EventType.GIVEN)
    campaign_id = await started(service, phones)

    await dispatcher.run(campaign_id)
    report = await service.report(campaign_id)
    assert report["states"]["queued"] == 10
    assert report["blocked_by_reason"] == {"consent_none": 15, "consent_pending_confirmation": 5}


async def test_stream_entry_is_template_job(
    redis: Redis, service: CampaignService, dispatcher: Dispatcher, consent: ConsentSetter
) -> None:
    phones = [phone_of(1)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)

    await dispatcher.run(campaign_id)
    send = (await stream_sends(redis))[0]
    body = orjson.loads(send["body"])
    assert send["message_id"] == message_id_of(campaign_id, 0)
    assert send["kind"] == "template"
    assert body["name"] == "spring_sale"
    assert body["language"] == {"code": "de"}
    assert [component["type"] for component in body["components"]] == ["header", "body", "button"]


async def test_withdrawal_blocks_next_batch(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    campaign_store: CampaignStore,
) -> None:
    phones = [phone_of(i) for i in range(40)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)
    campaign = await campaign_store.get(campaign_id)

    await dispatcher.dispatch(campaign, await campaign_store.claim(campaign_id, 20))
    await consent([phones[30]], EventType.WITHDRAWN)
    await dispatcher.run(campaign_id)

    sent_to = {send["to"] for send in await stream_sends(redis)}
    assert len(sent_to) == 39
    assert phones[30].lstrip("+") not in sent_to


async def test_recategorised_template_regated(
    redis: Redis,
    catalog_store: CatalogStore,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    clock: ManualClock,
) -> None:
    from gateway.campaigns.service import NewCampaign
    from tests.campaigns.conftest import BUSINESS, order_csv

    phones = [phone_of(i) for i in range(4)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED, purpose="service_updates")
    service = CampaignService(dispatcher._store, catalog_store, dispatcher._gate, clock)
    request = NewCampaign("Status", "order_update", "de", BUSINESS, order_csv(phones), "text/csv")
    campaign, _ = await service.create(request, created_by="test")
    await catalog_store.apply(
        Change("category", "MARKETING", clock.advance(1), "order_update", "de")
    )
    await service.start(campaign.campaign_id)

    await dispatcher.run(campaign.campaign_id)
    report = await service.report(campaign.campaign_id)
    assert await stream_sends(redis) == []
    assert report["blocked_by_reason"] == {"consent_none": 4}


async def test_paused_template_pauses_campaign(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    catalog_store: CatalogStore,
    campaign_store: CampaignStore,
    clock: ManualClock,
) -> None:
    phones = [phone_of(i) for i in range(5)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)
    await catalog_store.apply(Change("status", "PAUSED", clock.advance(1), "spring_sale", "de"))

    state = await dispatcher.run(campaign_id)
    campaign = await campaign_store.get(campaign_id)
    assert state is CampaignState.PAUSED
    assert "PAUSED" in campaign.note
    assert await stream_sends(redis) == []


async def test_pause_stops_dispatch(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    campaign_store: CampaignStore,
) -> None:
    phones = [phone_of(i) for i in range(50)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)
    campaign = await campaign_store.get(campaign_id)
    await dispatcher.dispatch(campaign, await campaign_store.claim(campaign_id, 20))
    await service.pause(campaign_id)

    state = await dispatcher.run(campaign_id)
    assert state is CampaignState.PAUSED
    assert len(await stream_sends(redis)) == 20


async def test_resume_sends_the_rest(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    campaign_store: CampaignStore,
) -> None:
    phones = [phone_of(i) for i in range(50)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)
    campaign = await campaign_store.get(campaign_id)
    await dispatcher.dispatch(campaign, await campaign_store.claim(campaign_id, 20))
    await service.pause(campaign_id)
    await service.start(campaign_id)

    await dispatcher.run(campaign_id)
    sends = await stream_sends(redis)
    assert len(sends) == 50
    assert len({send["to"] for send in sends}) == 50


async def test_inflight_after_crash_sent_once(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    campaign_store: CampaignStore,
) -> None:
    phones = [phone_of(i) for i in range(30)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)
    campaign = await campaign_store.get(campaign_id)
    claimed = await campaign_store.claim(campaign_id, 20)
    # A dispatcher that died after handing off half of its claim: those are queued, the rest
    # are still inflight.
    await dispatcher.dispatch(campaign, claimed[:10])

    await dispatcher.run(campaign_id)
    sends = await stream_sends(redis)
    assert len(sends) == 30
    assert len({send["message_id"] for send in sends}) == 30
    assert await campaign_store.inflight(campaign_id) == []


async def test_repeated_handoff_queues_once(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    consent: ConsentSetter,
    campaign_store: CampaignStore,
) -> None:
    phones = [phone_of(i) for i in range(5)]
    await consent(phones, EventType.GIVEN, EventType.CONFIRMED)
    campaign_id = await started(service, phones)
    campaign = await campaign_store.get(campaign_id)
    claimed = await campaign_store.claim(campaign_id, 5)

    await dispatcher.dispatch(campaign, claimed)
    await dispatcher.dispatch(campaign, claimed)
    assert len(await stream_sends(redis)) == 5


async def test_lease_keeps_second_dispatcher_out(
    service: CampaignService, dispatcher: Dispatcher, consent: ConsentSetter, redis: Redis
) -> None:
    phones = [phone_of(1)]
    campaign_id = await started(service, phones)
    await redis.set(dispatcher._store.keys.lease(campaign_id), "another-process", px=10_000)
    assert await dispatcher.run(campaign_id) is None


def test_message_id_round_trip() -> None:
    from gateway.campaigns.model import recipient_of

    message_id = message_id_of("cmp_0123456789abcdef", 17)
    assert message_id.startswith("m_")
    assert recipient_of(message_id) == ("cmp_0123456789abcdef", 17)


def test_foreign_callback_data_ignored() -> None:
    from gateway.campaigns.model import recipient_of

    assert recipient_of("m_0123456789abcdef01234567") is None
    assert recipient_of("order-4711") is None


async def test_gate_outage_keeps_recipients_inflight(
    redis: Redis,
    service: CampaignService,
    dispatcher: Dispatcher,
    campaign_store: CampaignStore,
) -> None:
    from consent.gate import Decision

    class BrokenGate:
        async def check_many(
            self, phone_number_id: str, phones: list[str], **_: object
        ) -> list[Decision]:
            return [Decision(False, "gate_unavailable") for _ in phones]

    campaign_id = await started(service, [phone_of(1), phone_of(2)])
    campaign = await campaign_store.get(campaign_id)
    dispatcher._gate = BrokenGate()
    dispatcher._pacing = type(dispatcher._pacing)(
        batch_size=20, rate_per_s=100_000.0, idle_poll_s=0.0
    )

    handed_off = await dispatcher.dispatch(campaign, await campaign_store.claim(campaign_id, 2))
    assert handed_off == 0
    assert await campaign_store.inflight(campaign_id) == [0, 1]
    assert (await campaign_store.counts(campaign_id)).get("now:blocked", 0) == 0
