"""Queue order: priority first, then waiting time; a closing WhatsApp window moves ahead."""

from __future__ import annotations

from tests.routing.conftest import Desk

HOUR_MS = 3_600_000


async def test_priority_before_wait(desk: Desk) -> None:
    await desk.chat("old-low", priority=0)
    desk.clock.advance(1000)
    await desk.chat("new-high", priority=5)

    assert await desk.waiting() == ["new-high", "old-low"]


async def test_longer_wait_first(desk: Desk) -> None:
    for name in ("first", "second", "third"):
        await desk.chat(name)
        desk.clock.advance(1000)

    assert await desk.waiting() == ["first", "second", "third"]


async def test_oldest_offered_first(desk: Desk) -> None:
    await desk.chat("first")
    desk.clock.advance(1000)
    await desk.chat("second")
    await desk.agent("a1", capacity={"whatsapp": 1})

    assert list(await desk.offers("a1")) == ["first"]


async def test_closing_window_moves_ahead(desk: Desk) -> None:
    now = desk.clock.now_ms()
    await desk.chat("plenty", window_expires_at_ms=now + 20 * HOUR_MS)
    desk.clock.advance(1000)
    await desk.chat("closing", window_expires_at_ms=now + HOUR_MS // 2)

    assert await desk.waiting() == ["closing", "plenty"]


async def test_urgency_below_higher_priority(desk: Desk) -> None:
    now = desk.clock.now_ms()
    await desk.chat("closing", priority=0, window_expires_at_ms=now + HOUR_MS // 2)
    desk.clock.advance(1000)
    await desk.chat("important", priority=1, window_expires_at_ms=now + 20 * HOUR_MS)

    assert await desk.waiting() == ["important", "closing"]


async def test_window_urgency_applies_on_time(desk: Desk) -> None:
    now = desk.clock.now_ms()
    await desk.chat("plenty", window_expires_at_ms=now + 20 * HOUR_MS)
    desk.clock.advance(1000)
    await desk.chat("later-urgent", window_expires_at_ms=now + 2 * HOUR_MS)
    assert await desk.waiting() == ["plenty", "later-urgent"]

    result = await desk.tick(HOUR_MS)

    assert result["urgent"] == 1
    assert await desk.waiting() == ["later-urgent", "plenty"]


async def test_window_close_abandons_waiting(desk: Desk) -> None:
    now = desk.clock.now_ms()
    await desk.chat("c1", window_expires_at_ms=now + HOUR_MS)

    await desk.tick(HOUR_MS)

    state = await desk.state("c1")
    assert state["state"] == "abandoned"
    assert state["abandon_reason"] == "window_closed"
    assert await desk.waiting() == []
