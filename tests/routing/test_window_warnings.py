"""Warnings to the assigned agent before the customer's service window closes."""

from __future__ import annotations

from routing.intake import Intake
from tests.routing.conftest import PREFIX, Desk

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


async def _assigned_chat(desk: Desk, window_left_ms: int) -> None:
    await desk.agent("a1")
    await desk.chat("c1", window_expires_at_ms=desk.clock.now_ms() + window_left_ms)
    await desk.assign("a1", "c1")


async def _warnings(desk: Desk) -> list[dict[str, object]]:
    events = await desk.events.after("0-0", count=10_000)
    return [event.data for event in events if event.type == "window_warning"]


async def test_warned_hour_before(desk: Desk) -> None:
    await _assigned_chat(desk, 2 * HOUR_MS)

    result = await desk.tick(HOUR_MS)

    assert result["warn"] == 1
    warning = (await _warnings(desk))[0]
    assert warning["conversation_id"] == "c1"
    assert warning["minutes_left"] == 60
    assert "window_warning" in await desk.event_types("a1")


async def test_warned_again_quarter_before(desk: Desk) -> None:
    await _assigned_chat(desk, 2 * HOUR_MS)
    await desk.tick(HOUR_MS)

    await desk.tick(45 * MINUTE_MS)

    assert [w["minutes_left"] for w in await _warnings(desk)] == [60, 15]


async def test_waiting_chat_not_warned(desk: Desk) -> None:
    await desk.chat("c1", window_expires_at_ms=desk.clock.now_ms() + 2 * HOUR_MS)

    await desk.tick(HOUR_MS)

    assert await _warnings(desk) == []


async def test_closed_chat_not_warned(desk: Desk) -> None:
    await _assigned_chat(desk, 2 * HOUR_MS)
    await desk.router.close("c1", "a1")

    await desk.tick(HOUR_MS)

    assert await _warnings(desk) == []


async def test_new_message_moves_warning(desk: Desk) -> None:
    intake = Intake(desk.router.redis, PREFIX, desk.clock, router=desk.router)
    await desk.agent("a1")
    await intake.on_customer_message(
        "conv-1", phone_number_id="pn", timestamp_ms=desk.clock.now_ms() - 22 * HOUR_MS
    )
    await desk.assign("a1", "conv-1")
    await intake.on_customer_message(
        "conv-1", phone_number_id="pn", timestamp_ms=desk.clock.now_ms()
    )

    await desk.tick(HOUR_MS)

    assert await _warnings(desk) == []
