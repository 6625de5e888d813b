"""Fan the routing event stream out to the SSE connections of this process.

One task per process reads the Redis stream (XREAD BLOCK) and hands each event to the
subscribers that may see it, so a thousand open SSE streams cost one Redis reader.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from redis.exceptions import RedisError

from common.tasks import raise_if_cancelling
from routing.events import RoutingEvent, RoutingEvents

log = structlog.get_logger(__name__)

SUBSCRIBER_BUFFER = 1000
BLOCK_MS = 5000


@dataclass(eq=False)
class Subscription:
    """One SSE connection: an agent's (`agent_id` set) or a supervisor's (all events)."""

    agent_id: str | None
    queue: asyncio.Queue[RoutingEvent | None] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_BUFFER)
    )

    def wants(self, event: RoutingEvent) -> bool:
        return self.agent_id is None or event.agent_id == self.agent_id


class EventHub:
    def __init__(self, events: RoutingEvents) -> None:
        self.events = events
        # Subscribers by agent id; supervisors under None. An event goes to its agent's
        # streams and to the supervisors', without looking at anyone else's.
        self._subscribers: dict[str | None, set[Subscription]] = {}

    def subscribe(self, agent_id: str | None) -> Subscription:
        subscription = Subscription(agent_id)
        self._subscribers.setdefault(agent_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        group = self._subscribers.get(subscription.agent_id)
        if group is None:
            return
        group.discard(subscription)
        if not group:
            del self._subscribers[subscription.agent_id]

    def close_all(self) -> None:
        """End every open stream, so that shutdown does not wait for their keep-alives."""
        for group in self._subscribers.values():
            for subscription in group:
                _end(subscription)
        self._subscribers.clear()

    def deliver(self, event: RoutingEvent) -> None:
        """Queue `event` for every subscriber that may see it; drop subscribers that lag."""
        targets = list(self._subscribers.get(None, ()))
        if event.agent_id is not None:
            targets += self._subscribers.get(event.agent_id, ())
        for subscription in targets:
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                # A client this far behind reconnects with Last-Event-ID and catches up.
                log.warning(
                    "sse_subscriber_dropped",
                    agent_id=subscription.agent_id,
                    buffered=SUBSCRIBER_BUFFER,
                )
                self.unsubscribe(subscription)
                _end(subscription)

    async def run(self) -> None:
        """Read the stream until cancelled; Redis errors are logged and retried."""
        last_id = await self._start_id()
        log.info("routing_event_hub_started", last_id=last_id)
        while True:
            # redis-py may absorb a cancellation that lands while it waits for a blocking
            # read and return normally; without this check the loop would never end.
            raise_if_cancelling()
            try:
                batch = await self.events.wait(last_id, BLOCK_MS)
            except RedisError as exc:
                raise_if_cancelling()
                log.warning("routing_event_hub_read_failed", error=str(exc))
                await asyncio.sleep(0.5)
                continue
            for event in batch:
                self.deliver(event)
                last_id = event.id

    async def _start_id(self) -> str:
        while True:
            try:
                return await self.events.last_id()
            except RedisError as exc:
                log.warning("routing_event_hub_read_failed", error=str(exc))
                await asyncio.sleep(0.5)


def _end(subscription: Subscription) -> None:
    """Queue the end marker, dropping the oldest event when the buffer is full."""
    try:
        subscription.queue.put_nowait(None)
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            subscription.queue.get_nowait()
        subscription.queue.put_nowait(None)
