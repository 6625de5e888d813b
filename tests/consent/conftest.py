"""Fixtures of the consent tests: a ledger, a gate and a record factory on the test Redis."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.gate import Gate
from consent.ledger import Ledger
from consent.model import ConsentRecord, EventType, Method

PREFIX = "wag:"
SECRET = b"test-consent-secret"
BUSINESS = "156305421874268"
PHONE = "+4915112345678"
OTHER_PHONE = "+4917612345678"
TEXT_SHA256 = hashlib.sha256(
    b"Ja, ich moechte WhatsApp-Nachrichten erhalten. Antworten Sie STOP."
).hexdigest()

RecordFactory = Callable[..., ConsentRecord]


@pytest.fixture
def ledger(redis: Redis, clock: ManualClock) -> Ledger:
    return Ledger(redis, PREFIX, clock, SECRET)


@pytest.fixture
def gate(redis: Redis, clock: ManualClock) -> Gate:
    return Gate(redis, PREFIX, clock, SECRET)


@pytest.fixture
def make_record(clock: ManualClock) -> RecordFactory:
    """Build a valid record; keyword arguments override single fields."""

    def build(event_type: EventType = EventType.GIVEN, **overrides: Any) -> ConsentRecord:
        values: dict[str, Any] = {
            "business_number": BUSINESS,
            "phone": PHONE,
            "purpose": "marketing",
            "type": event_type,
            "method": Method.WEB_FORM,
            "occurred_ms": clock.now_ms(),
            "text_version_id": "marketing.de.v1",
            "text_sha256": TEXT_SHA256,
            "language": "de",
            "checkbox_default": False,
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (test)",
        }
        if event_type in (EventType.CONFIRMED, EventType.RECONFIRMED):
            values["method"] = Method.WHATSAPP_CODE
            values["evidence"] = "wamid.confirm"
        values.update(overrides)
        return ConsentRecord(**values)

    return build


async def opt_in(ledger: Ledger, make_record: RecordFactory, **overrides: Any) -> str:
    """Record a given and a confirmed event; return the confirmation's event id."""
    await ledger.append([make_record(EventType.GIVEN, **overrides)])
    confirmed = await ledger.append([make_record(EventType.CONFIRMED, **overrides)])
    return confirmed[0].event_id


@pytest.fixture(autouse=True)
async def _empty_database(redis: Redis) -> None:
    """Every consent test starts on an empty database (the `redis` fixture flushes it)."""
