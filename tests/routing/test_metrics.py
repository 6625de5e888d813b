"""Supervisor figures: waiting, longest wait, service level, speed of answer, abandoned."""

from __future__ import annotations

from routing.metrics import queue_summary, supervisor_overview
from tests.routing.conftest import Desk


async def test_waiting_and_longest_wait(desk: Desk) -> None:
    queue = await desk.queue("default")
    await desk.chat("old")
    desk.clock.advance(40_000)
    await desk.chat("new", priority=9)
    desk.clock.advance(5000)

    summary = await queue_summary(desk.router, queue)

    assert summary["waiting"] == 2
    assert summary["longest_wait_ms"] == 45_000


async def test_service_level_and_speed(desk: Desk) -> None:
    queue = await desk.queue(
        "default", service_level={"percent": 80, "within_s": 60}, offer_timeout_s=300
    )
    await desk.agent("a1", capacity={"whatsapp": 5}, available=False)
    await desk.chat("fast")
    await desk.chat("slow")
    await desk.chat("gone")
    desk.clock.advance(10_000)
    await desk.router.abandon("gone")
    await desk.router.set_presence("a1", "available")
    await desk.assign("a1", "fast")
    desk.clock.advance(80_000)
    await desk.assign("a1", "slow")

    summary = await queue_summary(desk.router, queue)

    assert summary["answered"] == 2
    assert summary["abandoned"] == 1
    assert summary["service_level"]["today_percent"] == 33.3
    assert summary["average_speed_of_answer_ms"] == (10_000 + 90_000) // 2


async def test_missed_offers_counted(desk: Desk) -> None:
    queue = await desk.queue("default")
    await desk.agent("a1")
    await desk.chat("c1")

    await desk.router.reject(await desk.offer_for("a1", "c1"), "a1")

    assert (await queue_summary(desk.router, queue))["offers_missed"] == 1


async def test_agents_by_presence(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 3, "email": 2})
    await desk.agent("a2", available=False)
    await desk.chat("c1")
    await desk.assign("a1", "c1")

    overview = await supervisor_overview(desk.router, desk.queues, desk.agents)

    assert overview["agents"]["by_presence"]["available"] == 1
    assert overview["agents"]["by_presence"]["offline"] == 1
    row = next(agent for agent in overview["agents"]["list"] if agent["id"] == "a1")
    assert row["usage"]["whatsapp"] == {"open": 1, "capacity": 3}
    assert row["usage"]["email"] == {"open": 0, "capacity": 2}
