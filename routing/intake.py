"""The hand-off from inbound processing to routing.

Inbound processing calls `Intake.on_customer_message` once per new customer message. A
conversation that is new or closed is enqueued; one that is already waiting stays where
it is; one that an agent holds is delivered to that agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from common.clock import Clock
from routing.keys import RoutingKeys

DEFAULT_QUEUE = "default"
# Priority dominates the score: one priority step outranks ~31 years of waiting time.
PRIORITY_WEIGHT_MS = 10**12


@dataclass(frozen=True, slots=True)
class InteractionView:
    state: str
    queue: str | None
    agent_id: str | None


def queue_score(priority: int, enqueued_at_ms: int) -> float:
    """Lower scores come first: higher priority, then longer waiting."""
    return float(-priority * PRIORITY_WEIGHT_MS + enqueued_at_ms)


class Intake:
    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self._redis = redis
        self._keys = RoutingKeys(prefix)
        self._clock = clock

    async def on_customer_message(
        self,
        conversation_id: str,
        *,
        phone_number_id: str,
        referral_source: str | None = None,
        language: str | None = None,
    ) -> str:
        """Enqueue or deliver; return `queued`, `waiting` or `delivered`."""
        key = self._keys.interaction(conversation_id)
        state = await self._redis.hget(key, "state")
        if state in (b"assigned", b"held", b"offered"):
            return "delivered" if state != b"offered" else "waiting"
        if state == b"queued":
            return "waiting"

        now_ms = self._clock.now_ms()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "channel": "whatsapp",
                    "state": "queued",
                    "queue": DEFAULT_QUEUE,
                    "priority": 0,
                    "enqueued_at_ms": now_ms,
                    "phone_number_id": phone_number_id,
                },
            )
            pipe.zadd(self._keys.queue(DEFAULT_QUEUE), {conversation_id: queue_score(0, now_ms)})
            await pipe.execute()
        return "queued"

    async def describe(self, conversation_id: str) -> InteractionView:
        raw = await self._redis.hmget(
            self._keys.interaction(conversation_id), ["state", "queue", "agent_id"]
        )
        state, queue, agent_id = (value.decode() if value else None for value in raw)
        return InteractionView(state=state or "new", queue=queue, agent_id=agent_id)
