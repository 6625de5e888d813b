"""Fixtures of the campaign tests: a synced catalog, a consent ledger and gate, a dispatcher."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.gate import Gate
from consent.ledger import Ledger
from consent.model import ConsentRecord, EventType, Method
from gateway.campaigns.dispatcher import Dispatcher, Pacing
from gateway.campaigns.handoff import StreamHandoff
from gateway.campaigns.service import CampaignService, NewCampaign
from gateway.campaigns.store import CampaignStore
from gateway.catalog.store import CatalogStore
from tests.catalog.templates import catalog

PREFIX = "wag:"
SECRET = b"test-consent-secret"
BUSINESS = "156305421874268"
TEXT_SHA256 = hashlib.sha256(b"Ja, ich moechte WhatsApp-Nachrichten erhalten.").hexdigest()

ConsentSetter = Callable[..., Awaitable[None]]


def phone_of(number: int) -> str:
    """Return a valid German mobile number, distinct per `number` (below 10 million)."""
    return f"+49151{number:08d}"


def order_csv(phones: Sequence[str]) -> str:
    lines = ["phone,body.1,body.2,button.0"]
    lines += [f"{phone},Kunde {i},{4700 + i},{4700 + i}" for i, phone in enumerate(phones)]
    return "\n".join(lines) + "\n"


def sale_csv(phones: Sequence[str]) -> str:
    lines = ["phone,body.first_name,button.0"]
    lines += [f"{phone},Kunde {i},SPRING20" for i, phone in enumerate(phones)]
    return "\n".join(lines) + "\n"


SALE_DEFAULTS: dict[str, Any] = {
    "header": {"type": "image", "link": "https://cdn.example/spring.jpg"},
    "body": {"discount": "20 %"},
}


def sale_campaign(phones: Sequence[str], name: str = "Frühling") -> NewCampaign:
    return NewCampaign(
        name=name,
        template="spring_sale",
        language="de",
        phone_number_id=BUSINESS,
        recipients=sale_csv(phones),
        content_type="text/csv",
        defaults=SALE_DEFAULTS,
    )


@pytest.fixture
async def catalog_store(redis: Redis, clock: ManualClock) -> CatalogStore:
    store = CatalogStore(redis, PREFIX)
    await store.store_synced(catalog(), clock.now_ms(), pages=1)
    return store


@pytest.fixture
def ledger(redis: Redis, clock: ManualClock) -> Ledger:
    return Ledger(redis, PREFIX, clock, SECRET)


@pytest.fixture
def gate(redis: Redis, clock: ManualClock) -> Gate:
    return Gate(redis, PREFIX, clock, SECRET)


@pytest.fixture
def consent(ledger: Ledger, clock: ManualClock) -> ConsentSetter:
    """Record consent events for phones: `await consent(phones, EventType.CONFIRMED)`."""

    async def record(phones: Sequence[str], *types: EventType, purpose: str = "marketing") -> None:
        for event_type in types:
            records = [_record(phone, event_type, purpose, clock) for phone in phones]
            for start in range(0, len(records), 500):
                await ledger.append(records[start : start + 500])

    return record


def _record(phone: str, event_type: EventType, purpose: str, clock: ManualClock) -> ConsentRecord:
    values: dict[str, Any] = {
        "business_number": BUSINESS,
        "phone": phone,
        "purpose": purpose,
        "type": event_type,
        "method": Method.WEB_FORM,
        "occurred_ms": clock.now_ms(),
        "text_version_id": f"{purpose}.de.v1",
        "text_sha256": TEXT_SHA256,
        "language": "de",
        "checkbox_default": False,
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (test)",
    }
    if event_type in (EventType.CONFIRMED, EventType.RECONFIRMED):
        values["method"] = Method.WHATSAPP_CODE
        values["evidence"] = "wamid.confirm"
    if event_type is EventType.WITHDRAWN:
        values["method"] = Method.KEYWORD
    return ConsentRecord(**values)


@pytest.fixture
def campaign_store(redis: Redis) -> CampaignStore:
    return CampaignStore(redis, PREFIX)


@pytest.fixture
def service(
    campaign_store: CampaignStore, catalog_store: CatalogStore, gate: Gate, clock: ManualClock
) -> CampaignService:
    return CampaignService(campaign_store, catalog_store, gate, clock)


@pytest.fixture
def dispatcher(
    redis: Redis,
    campaign_store: CampaignStore,
    catalog_store: CatalogStore,
    gate: Gate,
    clock: ManualClock,
) -> Dispatcher:
    return Dispatcher(
        redis,
        campaign_store,
        catalog_store,
        gate,
        StreamHandoff(redis, PREFIX, clock, campaign_store),
        clock,
        owner="test-dispatcher",
        pacing=Pacing(batch_size=20, rate_per_s=100_000.0),
    )
