"""The ledger: validation, derived state, idempotency and the order of events."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.errors import InvalidPhone, InvalidRecord, InvalidTransition
from consent.ledger import Ledger
from consent.model import EventType, Method, State
from tests.consent.conftest import BUSINESS, PHONE, RecordFactory, opt_in


async def test_given_is_pending(ledger: Ledger, make_record: RecordFactory) -> None:
    """A ticked box leaves the consent pending until the customer proves control of the number."""
    [event] = await ledger.append([make_record()])

    assert event.state.state is State.PENDING_CONFIRMATION
    assert (await ledger.states(BUSINESS, PHONE))[
        "whatsapp:marketing"
    ].state is State.PENDING_CONFIRMATION


async def test_confirmed_is_active(ledger: Ledger, make_record: RecordFactory) -> None:
    """The confirmation makes the consent active and becomes the event it rests on."""
    event_id = await opt_in(ledger, make_record)

    state = (await ledger.states(BUSINESS, PHONE))["whatsapp:marketing"]
    assert state.state is State.ACTIVE
    assert state.event_id == event_id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("occurred_ms", None, "occurred_ms is missing"),
        ("checkbox_default", True, "pre-ticked"),
        ("text_sha256", None, "text_sha256 is missing"),
        ("text_sha256", "abc", "64 lowercase hex"),
        ("method", None, "method is missing"),
        ("purpose", "newsletter", "purpose `newsletter` is unknown"),
        ("channel", "pigeon", "channel `pigeon` is unknown"),
        ("checkbox_default", None, "checkbox_default is missing"),
    ],
    ids=[
        "no-occurred-time",
        "pre-ticked",
        "no-text-hash",
        "bad-text-hash",
        "no-method",
        "unknown-purpose",
        "unknown-channel",
        "no-checkbox-default",
    ],
)
async def test_record_rejected(
    ledger: Ledger,
    make_record: RecordFactory,
    redis: Redis,
    field: str,
    value: object,
    message: str,
) -> None:
    """A record that cannot serve as evidence is rejected, names the field and writes nothing."""
    with pytest.raises(InvalidRecord, match=message) as caught:
        await ledger.append([make_record(**{field: value})])

    assert caught.value.field == field
    assert await redis.dbsize() == 0


async def test_invalid_phone_rejected(ledger: Ledger, make_record: RecordFactory) -> None:
    with pytest.raises(InvalidPhone, match="not a valid phone number"):
        await ledger.append([make_record(phone="12345")])


async def test_confirm_needs_pending(ledger: Ledger, make_record: RecordFactory) -> None:
    """A code that arrives after a withdrawal must not bring consent back."""
    await ledger.append([make_record()])
    await ledger.append([make_record(EventType.WITHDRAWN, method=Method.KEYWORD, text_sha256=None)])

    with pytest.raises(InvalidTransition, match="nothing to confirm"):
        await ledger.append([make_record(EventType.CONFIRMED)])


async def test_older_given_loses(
    ledger: Ledger, make_record: RecordFactory, clock: ManualClock
) -> None:
    """An imported opt-in that predates the withdrawal does not undo it."""
    before_ms = clock.now_ms()
    clock.advance(60_000)
    await ledger.append([make_record(EventType.WITHDRAWN, method=Method.KEYWORD)])

    with pytest.raises(InvalidTransition, match="a newer refusal or withdrawal wins"):
        await ledger.append(
            [make_record(EventType.GIVEN, method=Method.CHECKOUT, occurred_ms=before_ms)]
        )


async def test_idempotency_key_writes_once(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    """A redelivered webhook returns the first events and appends nothing."""
    record = make_record(EventType.WITHDRAWN, method=Method.KEYWORD, evidence="wamid.stop")
    first = await ledger.append([record], idempotency_key="stop:wamid.stop")
    second = await ledger.append([record], idempotency_key="stop:wamid.stop")

    assert second[0].event_id == first[0].event_id
    assert second[0].duplicate
    assert await redis.llen(f"wag:consent:{{{BUSINESS}}}:ledger") == 1


async def test_resumed_keeps_state(ledger: Ledger, make_record: RecordFactory) -> None:
    """Meta's resume is recorded but is no new consent."""
    await ledger.append([make_record(EventType.WITHDRAWN, method=Method.META_PREFERENCES)])
    await ledger.append([make_record(EventType.RESUMED, method=Method.META_PREFERENCES)])

    assert (await ledger.states(BUSINESS, PHONE))["whatsapp:marketing"].state is State.WITHDRAWN


async def test_history_has_personal_fields(ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)
    _, subject = ledger.subject_of(PHONE)

    history = await ledger.history(BUSINESS, subject)

    assert [event["type"] for event in history] == ["given", "confirmed"]
    assert history[0]["personal"]["ip"] == "203.0.113.7"
    assert history[0]["personal"]["phone"] == PHONE


async def test_key_has_no_phone(ledger: Ledger, make_record: RecordFactory, redis: Redis) -> None:
    """Key names carry a keyed hash, never the phone number."""
    await opt_in(ledger, make_record)

    names = [key.decode() async for key in redis.scan_iter("*")]
    assert not [name for name in names if "4915112345678" in name]
