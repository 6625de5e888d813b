"""Service window and free entry point window, computed from the conversation hash."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from sessions.keys import SessionKeys
from sessions.windows import (
    FREE_ENTRY_POINT_MS,
    SERVICE_WINDOW_MS,
    WindowStore,
    compute_window,
    warning_due,
)

PREFIX = "wag:"
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


async def seed(redis: Redis, conversation_id: str, **fields: int | str) -> None:
    mapping = {"id": conversation_id, "phone_number_id": "pn1", "customer_id": "491511", **fields}
    await redis.hset(SessionKeys(PREFIX).conversation(conversation_id), mapping=mapping)


@pytest.fixture
def store(redis: Redis, clock: ManualClock) -> WindowStore:
    return WindowStore(redis, PREFIX, clock)


def test_window_from_message_timestamp() -> None:
    """The window runs 24 h from Meta's timestamp, not from when the webhook arrived."""
    sent_ms = 1_000_000_000_000
    window = compute_window({"last_customer_message_at_ms": str(sent_ms)}, sent_ms + HOUR_MS)
    assert window.open
    assert window.expires_at_ms == sent_ms + SERVICE_WINDOW_MS


def test_three_days_late_stays_closed() -> None:
    """A message delivered three days after Meta's timestamp opens no window."""
    sent_ms = 1_000_000_000_000
    window = compute_window({"last_customer_message_at_ms": str(sent_ms)}, sent_ms + 72 * HOUR_MS)
    assert not window.open
    assert window.expires_at_ms == sent_ms + SERVICE_WINDOW_MS


def test_no_customer_message_closed() -> None:
    window = compute_window({}, 1_000)
    assert not window.open
    assert window.expires_at_ms is None


@pytest.mark.parametrize(
    ("reply_after_ms", "expected_open"),
    [(HOUR_MS, True), (23 * HOUR_MS, True), (25 * HOUR_MS, False)],
    ids=["answered-after-1h", "answered-after-23h", "answered-after-25h"],
)
def test_free_entry_point_needs_answer_within_24h(reply_after_ms: int, expected_open: bool) -> None:
    referral_ms = 1_000_000_000_000
    reply_ms = referral_ms + reply_after_ms
    fields = {
        "last_customer_message_at_ms": str(referral_ms),
        "referral_at_ms": str(referral_ms),
        "first_business_reply_at_ms": str(reply_ms),
    }
    window = compute_window(fields, reply_ms + 48 * HOUR_MS)
    assert window.free_entry_point_open is expected_open
    if expected_open:
        assert window.free_entry_point_expires_at_ms == reply_ms + FREE_ENTRY_POINT_MS
    assert not window.open  # the service window itself closed 24 h after the message


@pytest.mark.parametrize(
    ("remaining_min", "expected"),
    [(90, None), (60, 60), (59, 60), (15, 15), (1, 15)],
    ids=["90-min", "60-min", "59-min", "15-min", "1-min"],
)
def test_warning_threshold(remaining_min: int, expected: int | None) -> None:
    now_ms = 1_000_000_000_000
    last_ms = now_ms + remaining_min * MINUTE_MS - SERVICE_WINDOW_MS
    window = compute_window({"last_customer_message_at_ms": str(last_ms)}, now_ms)
    assert warning_due(window, now_ms, [60, 15]) == expected


async def test_store_unknown_conversation(store: WindowStore) -> None:
    assert await store.get("c_missing") is None


async def test_business_reply_opens_free_entry_point(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    now_ms = clock.now_ms()
    await seed(redis, "c1", last_customer_message_at_ms=now_ms, referral_at_ms=now_ms)
    clock.advance(HOUR_MS)

    opened = await store.record_business_reply("c1", clock.now_ms())
    window = await store.get("c1")

    assert opened
    assert window is not None
    assert window.free_entry_point_expires_at_ms == clock.now_ms() + FREE_ENTRY_POINT_MS


async def test_second_reply_keeps_free_entry_point(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    """Only the first answer after a referral starts the 72 h."""
    now_ms = clock.now_ms()
    await seed(redis, "c1", last_customer_message_at_ms=now_ms, referral_at_ms=now_ms)
    first_ms = clock.advance(HOUR_MS)
    await store.record_business_reply("c1", first_ms)
    second_ms = clock.advance(HOUR_MS)

    opened = await store.record_business_reply("c1", second_ms)
    window = await store.get("c1")

    assert not opened
    assert window is not None
    assert window.free_entry_point_expires_at_ms == first_ms + FREE_ENTRY_POINT_MS


async def test_reply_without_referral_no_free_entry(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    await seed(redis, "c1", last_customer_message_at_ms=clock.now_ms())
    assert not await store.record_business_reply("c1", clock.now_ms())
    window = await store.get("c1")
    assert window is not None
    assert window.free_entry_point_expires_at_ms is None


async def test_close_by_meta_until_customer_writes(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    """Meta's 131047 closes the window; the customer's next message reopens it."""
    last_ms = clock.now_ms()
    await seed(redis, "c1", last_customer_message_at_ms=last_ms)
    sent_ms = clock.advance(MINUTE_MS)

    assert await store.close_by_meta("c1", sent_ms)
    closed = await store.get("c1")
    key = SessionKeys(PREFIX).conversation("c1")
    await redis.hset(key, "last_customer_message_at_ms", clock.advance(MINUTE_MS))
    reopened = await store.get("c1")

    assert closed is not None
    assert not closed.open
    assert closed.closed_by_meta
    assert closed.expires_at_ms == sent_ms
    assert reopened is not None
    assert reopened.open


async def test_close_ignored_after_newer_message(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    """A 131047 for a send older than the customer's newest message changes nothing."""
    sent_ms = clock.now_ms()
    await seed(redis, "c1", last_customer_message_at_ms=clock.advance(MINUTE_MS))

    assert not await store.close_by_meta("c1", sent_ms)
    window = await store.get("c1")
    assert window is not None
    assert window.open


async def test_customer_activity_never_moves_back(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    newest_ms = clock.now_ms()
    await seed(redis, "c1", last_customer_message_at_ms=newest_ms)

    await store.record_customer_activity("c1", newest_ms - HOUR_MS)
    window = await store.get("c1")

    assert window is not None
    assert window.last_customer_message_at_ms == newest_ms


async def test_warnings_claimed_once(redis: Redis, store: WindowStore, clock: ManualClock) -> None:
    """Each threshold is claimed once per expiry, however often the scan runs."""
    await seed(redis, "c1", last_customer_message_at_ms=clock.now_ms())
    await store.track("c1")
    clock.advance(SERVICE_WINDOW_MS - 59 * MINUTE_MS)

    first = await store.claim_due_warnings([60, 15])
    again = await store.claim_due_warnings([60, 15])
    clock.advance(45 * MINUTE_MS)
    tighter = await store.claim_due_warnings([60, 15])

    assert [(w.conversation_id, w.minutes) for w in first] == [("c1", 60)]
    assert again == []
    assert [w.minutes for w in tighter] == [15]


async def test_new_message_restarts_warnings(
    redis: Redis, store: WindowStore, clock: ManualClock
) -> None:
    await seed(redis, "c1", last_customer_message_at_ms=clock.now_ms())
    await store.track("c1")
    clock.advance(SERVICE_WINDOW_MS - 10 * MINUTE_MS)
    assert len(await store.claim_due_warnings([60, 15])) == 1

    key = SessionKeys(PREFIX).conversation("c1")
    await redis.hset(key, "last_customer_message_at_ms", clock.now_ms())
    await store.track("c1")
    clock.advance(SERVICE_WINDOW_MS - 30 * MINUTE_MS)

    assert [w.minutes for w in await store.claim_due_warnings([60, 15])] == [60]


async def test_expired_leaves_index(redis: Redis, store: WindowStore, clock: ManualClock) -> None:
    await seed(redis, "c1", last_customer_message_at_ms=clock.now_ms())
    await store.track("c1")
    clock.advance(SERVICE_WINDOW_MS + 1)

    assert await store.claim_due_warnings([60, 15]) == []
    assert await store.expiry_of(["c1"]) == {"c1": None}
