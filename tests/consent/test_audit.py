"""Verification of the ledger chain, rebuilding the state, and erasure."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.audit import rebuild_states, verify_ledger
from consent.erasure import erase_subject
from consent.gate import Gate
from consent.keys import ConsentKeys
from consent.ledger import Ledger
from consent.model import EventType, Method, State
from tests.consent.conftest import (
    BUSINESS,
    OTHER_PHONE,
    PHONE,
    PREFIX,
    SECRET,
    RecordFactory,
    opt_in,
)

KEYS = ConsentKeys(PREFIX)


async def _five_events(ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)
    await opt_in(ledger, make_record, phone=OTHER_PHONE)
    await ledger.append([make_record(EventType.WITHDRAWN, method=Method.KEYWORD)])


async def test_intact_ledger_verifies(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)

    report = await verify_ledger(redis, PREFIX, BUSINESS)

    assert report.ok
    assert report.entries == 5


async def test_edited_entry_breaks(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)
    entry = orjson.loads(await redis.lindex(KEYS.ledger(BUSINESS), 2))
    entry["type"] = "confirmed"
    await redis.lset(KEYS.ledger(BUSINESS), 2, orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))

    report = await verify_ledger(redis, PREFIX, BUSINESS)

    assert report.broken is not None
    assert report.broken.position == 2
    assert "edited" in report.broken.reason


async def test_deleted_entry_breaks(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)
    entry = await redis.lindex(KEYS.ledger(BUSINESS), 1)
    await redis.lrem(KEYS.ledger(BUSINESS), 1, entry)

    report = await verify_ledger(redis, PREFIX, BUSINESS)

    assert report.broken is not None
    assert report.broken.position == 1


async def test_deleted_tail_breaks(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)
    await redis.rpop(KEYS.ledger(BUSINESS))

    report = await verify_ledger(redis, PREFIX, BUSINESS)

    assert report.broken is not None
    assert report.broken.position == 4


async def test_edited_personal_field_breaks(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)
    _, subject = ledger.subject_of(PHONE)
    key = KEYS.personal(BUSINESS, subject)
    event_id, raw = next(iter((await redis.hgetall(key)).items()))
    personal = orjson.loads(raw)
    personal["ip"] = "198.51.100.1"
    await redis.hset(key, event_id, orjson.dumps(personal))

    report = await verify_ledger(redis, PREFIX, BUSINESS)

    assert report.broken is not None
    assert "`ip`" in report.broken.reason


async def test_rebuild_gives_same_state(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)
    _, subject = ledger.subject_of(PHONE)
    before = await ledger.states_of_subject(BUSINESS, subject)
    await redis.delete(KEYS.state(BUSINESS, subject))

    result = await rebuild_states(redis, PREFIX, BUSINESS)

    assert result == {"subjects": 2, "differences": 1}
    assert await ledger.states_of_subject(BUSINESS, subject) == before


async def test_erasure_keeps_chain_valid(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)

    report = await erase_subject(ledger, PHONE, actor="admin:test")

    assert report.erased_events == 3
    assert (await verify_ledger(redis, PREFIX, BUSINESS)).ok


async def test_erasure_leaves_no_phone(
    ledger: Ledger, make_record: RecordFactory, redis: Redis
) -> None:
    await _five_events(ledger, make_record)
    await erase_subject(ledger, PHONE, actor="admin:test")

    dump = b"".join([await redis.dump(key) or b"" async for key in redis.scan_iter("*")])

    assert b"4915112345678" not in dump
    assert b"203.0.113.7" in dump  # the other contact's IP is still there


async def test_erasure_keeps_withdrawal(
    ledger: Ledger, make_record: RecordFactory, gate: Gate
) -> None:
    """After erasure the person stays withdrawn, and an old consent cannot be imported back."""
    occurred_ms = ledger.clock.now_ms()
    await opt_in(ledger, make_record)
    await erase_subject(ledger, PHONE, actor="admin:test")

    decision = await gate.check(BUSINESS, PHONE, purpose="marketing")
    assert not decision.allowed
    assert decision.reason == "consent_withdrawn"

    from consent.errors import Suppressed

    with pytest.raises(Suppressed):
        await ledger.append(
            [make_record(method=Method.IMPORT, evidence="crm:123", occurred_ms=occurred_ms)]
        )


async def test_erased_history_is_marked(ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)
    report = await erase_subject(ledger, PHONE, actor="admin:test")

    history = await ledger.history(BUSINESS, report.subject)

    assert [event["personal"] for event in history] == [None, None, None]
    assert history[-1]["state"] == State.WITHDRAWN.value


async def test_two_writers_one_chain(
    redis: Redis, clock: ManualClock, make_record: RecordFactory
) -> None:
    """Two ledgers (as in two gateway processes) appending at once keep one unbroken chain."""
    import asyncio

    first = Ledger(redis, PREFIX, clock, SECRET)
    second = Ledger(redis, PREFIX, clock, SECRET)
    phones = [f"+4915112345{index:03d}" for index in range(40)]

    await asyncio.gather(
        *(
            (first if index % 2 else second).append([make_record(phone=phone)])
            for index, phone in enumerate(phones)
        )
    )
    report = await verify_ledger(redis, PREFIX, BUSINESS)

    assert report.ok
    assert report.entries == 40
