"""Warn the agent who holds a conversation before its service window closes.

`serve` does not run this loop, because routing's sweeper sends the same `window_warning`
events from each queue's `window_warnings_s`. It is the stand-alone form for deployments
that route elsewhere and read only the sessions package's expiry index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.clock import Clock
from routing.intake import Intake
from sessions.windows import WindowStore

log = structlog.get_logger(__name__)

SCAN_INTERVAL_S = 5.0
HOLDING_STATES = frozenset({"assigned", "held"})

AgentPublisher = Callable[[str, dict[str, Any]], Awaitable[None]]


class WindowWarnings:
    """Claim due warnings and send each as a `window_warning` event to the holding agent."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        *,
        warn_minutes: Sequence[int],
        publish: AgentPublisher,
    ) -> None:
        self._windows = WindowStore(redis, prefix, clock)
        self._intake = Intake(redis, prefix, clock)
        self._warn_minutes = list(warn_minutes)
        self._publish = publish

    async def scan(self) -> int:
        """Send the warnings due now; return how many went to an agent."""
        sent = 0
        for warning in await self._windows.claim_due_warnings(self._warn_minutes):
            interaction = await self._intake.describe(warning.conversation_id)
            if interaction.state not in HOLDING_STATES or interaction.agent_id is None:
                # Nobody holds it: routing reads the expiry to move it ahead in the queue.
                continue
            event = {
                "type": "window_warning",
                "conversation_id": warning.conversation_id,
                "expires_at_ms": warning.expires_at_ms,
                "minutes_left": warning.minutes,
            }
            await self._publish(interaction.agent_id, event)
            log.info(
                "window_warning_sent",
                conversation_id=warning.conversation_id,
                agent_id=interaction.agent_id,
                minutes_left=warning.minutes,
            )
            sent += 1
        return sent

    async def run(self, interval_s: float = SCAN_INTERVAL_S) -> None:
        while True:
            try:
                await self.scan()
            except (RedisError, OSError) as exc:
                log.warning("window_warning_scan_failed", error=str(exc))
            await asyncio.sleep(interval_s)
