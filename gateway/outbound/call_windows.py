"""Customer calls open the service window like messages do (Meta's `calls` webhook field).

A user-initiated call (`calls[].direction` USER_INITIATED, the caller in `from`) moves the
window of the caller's existing conversation forward to the call's own timestamp. Calls
of customers without a conversation change nothing, because no window can be tracked.
"""

from __future__ import annotations

import structlog
from redis.asyncio import Redis

from common.clock import Clock
from sessions.conversations import ConversationStore, conversation_id_for
from sessions.model import FieldEvent
from sessions.windows import WindowStore

log = structlog.get_logger(__name__)

USER_INITIATED = "USER_INITIATED"


class CallWindows:
    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self._conversations = ConversationStore(redis, prefix)
        self._windows = WindowStore(redis, prefix, clock)

    async def on_field(self, event: FieldEvent) -> int:
        """Apply the calls of a `calls` field event; return how many windows it touched."""
        if event.field != "calls" or not event.phone_number_id:
            return 0
        calls = event.value.get("calls")
        if not isinstance(calls, list):
            return 0

        touched = 0
        for call in calls:
            if (
                not isinstance(call, dict)
                or str(call.get("direction", "")).upper() != USER_INITIATED
            ):
                continue
            caller = str(call.get("from") or "")
            timestamp = str(call.get("timestamp") or "")
            if not caller or not timestamp.isdigit():
                log.warning("call_event_incomplete", call_id=call.get("id"))
                continue
            customer_id = await self._conversations.resolve_customer_id(
                event.phone_number_id, caller, None
            )
            conversation_id = conversation_id_for(event.phone_number_id, customer_id)
            await self._windows.record_customer_activity(conversation_id, int(timestamp) * 1000)
            touched += 1
        return touched
