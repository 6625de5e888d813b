"""Token buckets in Redis, shared by every sender process: per business number and per customer."""

from __future__ import annotations

import math

from redis.asyncio import Redis

from common.clock import Clock
from common.lua import load_script
from gateway.outbound.keys import OutboundKeys


class Throttle:
    """Pace sends at `rate_per_s` per business number and `recipient_rate_per_s` per customer.

    `burst` tokens may be spent at once; after that, tokens come back at the rate. The
    clock is the caller's, so every process must use the wall clock (or one shared test
    clock); the script never moves a bucket's time backwards.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        *,
        rate_per_s: float,
        burst: int,
        recipient_rate_per_s: float,
        recipient_burst: int,
    ) -> None:
        self._keys = OutboundKeys(prefix)
        self._clock = clock
        self._script = load_script(redis, "gateway.outbound", "token_bucket.lua")
        self._number = (rate_per_s / 1000, burst)
        self._recipient = (recipient_rate_per_s / 1000, recipient_burst)

    async def take_number(self, phone_number_id: str) -> int:
        """Take a send from the business number's bucket; return 0 or the ms to wait."""
        return await self._take(self._keys.number_bucket(phone_number_id), *self._number)

    async def take_recipient(self, conversation_id: str) -> int:
        """Take a send from the customer's bucket; return 0 or the ms to wait."""
        return await self._take(self._keys.recipient_bucket(conversation_id), *self._recipient)

    async def _take(self, key: str, rate_per_ms: float, burst: int) -> int:
        # The bucket is full again after burst / rate; keep it no longer than that.
        ttl_ms = max(1_000, math.ceil(burst / rate_per_ms) + 1_000)
        wait_ms = await self._script(
            keys=[key], args=[repr(rate_per_ms), burst, self._clock.now_ms(), ttl_ms]
        )
        return int(wait_ms)
