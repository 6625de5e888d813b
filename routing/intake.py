"""The hand-off from inbound processing to routing.

Inbound processing calls `Intake.on_customer_message` once per new customer message.
A new or closed conversation is enqueued, and a returning customer is offered first to
their last agent. A waiting conversation keeps its place. The message of an assigned
conversation goes to its agent's event stream, and a conversation in wrap-up goes back
to the agent who closed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from common.clock import Clock
from routing.config import QueueConfig
from routing.engine import WHATSAPP_WINDOW_MS, InteractionSpec, Router
from routing.errors import RoutingError
from routing.keys import RoutingKeys
from routing.model import Channel
from routing.queues import QueueDirectory, choose_queue, parse_queues
from routing.values import text
from sessions.keys import SessionKeys
from sessions.windows import WINDOW_FIELDS, compute_window

DEFAULT_QUEUE = "default"
# 10**12 ms is about 31 years, so waiting time never outranks priority or urgency.
PRIORITY_WEIGHT_MS = 10**12


@dataclass(frozen=True, slots=True)
class InteractionView:
    state: str
    queue: str | None
    agent_id: str | None


def queue_score(priority: int, enqueued_at_ms: int, *, urgent: bool = False) -> float:
    """Lower scores come first: higher priority, then a closing window, then longer waiting.

    The same formula is `score_of` in `lua/lib_core.lua`; an urgent chat moves ahead of
    its own priority but never ahead of a higher one.
    """
    return float(-(priority * 2 + int(urgent)) * PRIORITY_WEIGHT_MS + enqueued_at_ms)


class Intake:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        *,
        router: Router | None = None,
        default_queue: str = DEFAULT_QUEUE,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._router = router
        self._keys = RoutingKeys(prefix)
        self._sessions = SessionKeys(prefix)
        self._clock = clock
        self._default_queue = default_queue

    @property
    def router(self) -> Router:
        # Built on first use: `describe` needs no scripts, and API handlers create an
        # Intake per request.
        if self._router is None:
            self._router = Router(self._redis, self._prefix, self._clock)
        return self._router

    async def on_customer_message(
        self,
        conversation_id: str,
        *,
        phone_number_id: str,
        referral_source: str | None = None,
        language: str | None = None,
        customer_id: str | None = None,
        wamid: str | None = None,
        message_type: str | None = None,
        timestamp_ms: int | None = None,
        window_expires_at_ms: int | None = None,
    ) -> str:
        """Enqueue or deliver; return `queued`, `waiting` or `delivered`.

        The service window expiry is `window_expires_at_ms` when given, else the one that
        `sessions.windows` computes from the conversation, else `timestamp_ms` plus 24 hours.
        Without any of them the chat has no known window.
        """
        # One round trip for both reads: this runs once per inbound message.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.queues)
            pipe.hmget(
                self._sessions.conversation(conversation_id), ["customer_id", *WINDOW_FIELDS]
            )
            raw_queues, stored = await pipe.execute()
        queue = await self._queue_for(
            parse_queues(raw_queues), phone_number_id, language, referral_source
        )
        if window_expires_at_ms is None:
            fields = dict(zip(WINDOW_FIELDS, stored[1:], strict=True))
            window_expires_at_ms = compute_window(fields, self._clock.now_ms()).expires_at_ms
        if window_expires_at_ms is None and timestamp_ms is not None:
            window_expires_at_ms = timestamp_ms + WHATSAPP_WINDOW_MS

        spec = InteractionSpec(
            channel=Channel.WHATSAPP,
            queue=queue.name,
            priority=queue.priority,
            language=language,
            customer_id=customer_id or text(stored[0]),
            window_expires_at_ms=window_expires_at_ms,
            business_number=phone_number_id,
            source=referral_source,
        )
        data = await self.router.customer_message(
            conversation_id,
            spec,
            wamid=wamid,
            message_type=message_type,
            timestamp_ms=timestamp_ms or self._clock.now_ms(),
        )
        return str(data["outcome"])

    async def describe(self, conversation_id: str) -> InteractionView:
        raw = await self._redis.hmget(
            self._keys.interaction(conversation_id), ["state", "queue", "agent_id"]
        )
        state, queue, agent_id = (text(value) or None for value in raw)
        return InteractionView(state=state or "new", queue=queue, agent_id=agent_id)

    async def _queue_for(
        self,
        queues: list[QueueConfig],
        phone_number_id: str,
        language: str | None,
        referral_source: str | None,
    ) -> QueueConfig:
        sources = {referral_source} if referral_source else set()
        try:
            return choose_queue(
                queues,
                channel=Channel.WHATSAPP.value,
                business_number=phone_number_id,
                language=language,
                sources=sources,
                fallback=self._default_queue,
            )
        except RoutingError as exc:
            if exc.code != "queue_not_found":
                raise
        # Without any configuration the default queue is created, so no chat is lost.
        queue = QueueConfig(name=self._default_queue)
        await QueueDirectory(self.router).save(queue)
        return queue
