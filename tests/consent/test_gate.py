"""The gate: what it allows, what it denies, and the decision log it keeps."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.audit import verify_chain
from consent.gate import Gate
from consent.keys import ConsentKeys
from consent.ledger import Ledger
from consent.model import EventType, Method
from consent.templates import TemplateCategories
from tests.consent.conftest import (
    BUSINESS,
    OTHER_PHONE,
    PHONE,
    PREFIX,
    SECRET,
    RecordFactory,
    opt_in,
)


async def test_active_consent_allows(
    gate: Gate, ledger: Ledger, make_record: RecordFactory
) -> None:
    event_id = await opt_in(ledger, make_record)

    decision = await gate.check(BUSINESS, PHONE, purpose="marketing")

    assert decision.allowed
    assert decision.reason == "consent_active"
    assert decision.consent_event_id == event_id


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([], "consent_none"),
        ([EventType.GIVEN], "consent_pending_confirmation"),
        ([EventType.REFUSED], "consent_refused"),
        ([EventType.GIVEN, EventType.CONFIRMED, EventType.WITHDRAWN], "consent_withdrawn"),
        ([EventType.GIVEN, EventType.CONFIRMED, EventType.EXPIRED], "consent_expired"),
        ([EventType.GIVEN, EventType.CONFIRMED, EventType.INVALIDATED], "consent_invalidated"),
    ],
    ids=["none", "pending", "refused", "withdrawn", "expired", "invalidated"],
)
async def test_denies_without_active(
    gate: Gate, ledger: Ledger, make_record: RecordFactory, events: list[EventType], reason: str
) -> None:
    for event_type in events:
        await ledger.append([make_record(event_type)])

    decision = await gate.check(BUSINESS, PHONE, purpose="marketing")

    assert not decision.allowed
    assert decision.reason == reason


async def test_withdrawal_then_send_denied(
    gate: Gate, ledger: Ledger, make_record: RecordFactory
) -> None:
    """A withdrawal is effective on the very next decision."""
    await opt_in(ledger, make_record)
    assert (await gate.check(BUSINESS, PHONE, purpose="marketing")).allowed

    await ledger.append([make_record(EventType.WITHDRAWN, method=Method.KEYWORD)])

    assert not (await gate.check(BUSINESS, PHONE, purpose="marketing")).allowed


async def test_email_consent_not_whatsapp(
    gate: Gate, ledger: Ledger, make_record: RecordFactory
) -> None:
    """Consent given for e-mail never unlocks WhatsApp (consent is per channel)."""
    await opt_in(ledger, make_record, channel="email")

    decision = await gate.check(BUSINESS, PHONE, purpose="marketing")

    assert not decision.allowed
    assert decision.reason == "consent_none"


async def test_other_purpose_not_enough(
    gate: Gate, ledger: Ledger, make_record: RecordFactory
) -> None:
    await opt_in(ledger, make_record, purpose="service_updates")

    assert not (await gate.check(BUSINESS, PHONE, purpose="marketing")).allowed
    assert (await gate.check(BUSINESS, PHONE, purpose="service_updates")).allowed


async def test_other_business_not_enough(
    gate: Gate, ledger: Ledger, make_record: RecordFactory
) -> None:
    await opt_in(ledger, make_record)

    assert not (await gate.check("999999999", PHONE, purpose="marketing")).allowed


async def test_recategorised_template_regated(
    gate: Gate, ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    """A template that Meta moved from utility to marketing needs marketing consent from then on."""
    await opt_in(ledger, make_record, purpose="service_updates")
    templates = TemplateCategories(redis, PREFIX)
    await templates.set("order_update", "UTILITY")
    assert (await gate.check(BUSINESS, PHONE, template_name="order_update")).allowed

    await templates.set("order_update", "MARKETING")
    decision = await gate.check(
        BUSINESS, PHONE, template_name="order_update", template_category="utility"
    )

    assert not decision.allowed
    assert decision.purpose == "marketing"
    assert decision.category == "marketing"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"template_name": "never_synced"}, "unknown_template"),
        ({"template_category": "promotional"}, "unknown_category"),
        ({"purpose": "newsletter"}, "unknown_purpose"),
        ({}, "purpose_missing"),
    ],
    ids=["unknown-template", "unknown-category", "unknown-purpose", "no-purpose"],
)
async def test_fails_closed_unknown(
    gate: Gate, ledger: Ledger, make_record: RecordFactory, kwargs: dict[str, str], reason: str
) -> None:
    await opt_in(ledger, make_record)

    decision = await gate.check(BUSINESS, PHONE, **kwargs)

    assert not decision.allowed
    assert decision.reason == reason


async def test_redis_error_denies(clock: ManualClock) -> None:
    """A gate that cannot reach Redis denies."""
    # Port 1 on the loopback address: nothing listens there, so every command fails at once.
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2, retry=None)
    gate = Gate(dead, PREFIX, clock, SECRET)

    decision = await gate.check(BUSINESS, PHONE, purpose="marketing")

    assert not decision.allowed
    assert decision.reason == "gate_unavailable"
    await dead.aclose()


async def test_decisions_are_chained(
    gate: Gate, ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    event_id = await opt_in(ledger, make_record)
    await gate.check(BUSINESS, PHONE, purpose="marketing")
    await gate.check(BUSINESS, OTHER_PHONE, purpose="marketing")
    keys = ConsentKeys(PREFIX)

    report = await verify_chain(
        redis, keys.decisions(BUSINESS), keys.decisions_head(BUSINESS), BUSINESS
    )
    relied = await gate.log.relied_on(BUSINESS, event_id)

    assert report.ok
    assert report.entries == 2
    assert [entry["allowed"] for entry in relied] == [True]


async def test_bulk_matches_single(gate: Gate, ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)
    phones = [PHONE, OTHER_PHONE, "not a number", "0151 12345678"]

    decisions = await gate.check_many(BUSINESS, phones, purpose="marketing", batch_size=3)

    assert [decision.allowed for decision in decisions] == [True, False, False, True]
    assert decisions[2].reason == "invalid_phone"


async def test_two_gates_share_chain(
    redis: Redis, ledger: Ledger, make_record: RecordFactory
) -> None:
    """Two processes appending decisions keep one unbroken chain."""
    first = Gate(redis, PREFIX, ManualClock(), SECRET)
    second = Gate(redis, PREFIX, ManualClock(), SECRET)
    for _ in range(3):
        await first.check(BUSINESS, PHONE, purpose="marketing")
        await second.check(BUSINESS, PHONE, purpose="marketing")
    keys = ConsentKeys(PREFIX)

    report = await verify_chain(
        redis, keys.decisions(BUSINESS), keys.decisions_head(BUSINESS), BUSINESS
    )

    assert report.ok
    assert report.entries == 6


async def test_bulk_keeps_order(
    gate: Gate, ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    """Overlapping batches still log every decision once, in the order of the phones."""
    await opt_in(ledger, make_record)
    phones = [PHONE if index % 3 == 0 else OTHER_PHONE for index in range(10)]
    keys = ConsentKeys(PREFIX)

    decisions = await gate.check_many(BUSINESS, phones, purpose="marketing", batch_size=3)
    report = await verify_chain(
        redis, keys.decisions(BUSINESS), keys.decisions_head(BUSINESS), BUSINESS
    )
    logged = [orjson.loads(raw) for raw in await redis.lrange(keys.decisions(BUSINESS), 0, -1)]

    assert [decision.allowed for decision in decisions] == [index % 3 == 0 for index in range(10)]
    assert report.ok
    assert [entry["decision_id"] for entry in logged] == [
        decision.decision_id for decision in decisions
    ]
