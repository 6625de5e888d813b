"""The SSE event hub: who receives which event, and what happens to a lagging stream."""

from __future__ import annotations

from redis.asyncio import Redis

from common.clock import ManualClock
from gateway.routing_api.hub import SUBSCRIBER_BUFFER, EventHub
from routing.events import RoutingEvent, RoutingEvents


def _event(n: int, agent_id: str | None) -> RoutingEvent:
    return RoutingEvent(id=f"{n}-0", agent_id=agent_id, data={"type": "offer"})


def _hub(redis: Redis, clock: ManualClock) -> EventHub:
    return EventHub(RoutingEvents(redis, "wag:", clock))


async def test_agent_gets_own_events(redis: Redis, clock: ManualClock) -> None:
    hub = _hub(redis, clock)
    anna = hub.subscribe("anna")
    ben = hub.subscribe("ben")
    lead = hub.subscribe(None)

    hub.deliver(_event(1, "anna"))
    hub.deliver(_event(2, None))

    assert anna.queue.qsize() == 1
    assert ben.queue.qsize() == 0
    assert lead.queue.qsize() == 2


async def test_lagging_stream_ended(redis: Redis, clock: ManualClock) -> None:
    hub = _hub(redis, clock)
    anna = hub.subscribe("anna")

    for n in range(SUBSCRIBER_BUFFER + 1):
        hub.deliver(_event(n, "anna"))
    hub.deliver(_event(SUBSCRIBER_BUFFER + 2, "anna"))

    items = [anna.queue.get_nowait() for _ in range(anna.queue.qsize())]
    assert items[-1] is None
    assert len(items) == SUBSCRIBER_BUFFER


async def test_close_all_ends_streams(redis: Redis, clock: ManualClock) -> None:
    hub = _hub(redis, clock)
    anna = hub.subscribe("anna")

    hub.close_all()

    assert anna.queue.get_nowait() is None
