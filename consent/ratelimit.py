"""Fixed-window rate limits for the public consent form, keyed by hashes, never by raw values."""

from __future__ import annotations

from redis.asyncio import Redis

from common.clock import Clock
from consent.keys import ConsentKeys


class RateLimiter:
    def __init__(
        self, redis: Redis, prefix: str, clock: Clock, window_ms: int = 3600 * 1000
    ) -> None:
        self._redis = redis
        self._keys = ConsentKeys(prefix)
        self._clock = clock
        self._window_ms = window_ms

    async def hit(self, scope: str, key: str, limit: int) -> bool:
        """Count one request of `key` in the current window.

        Return False once `limit` is exceeded.
        """
        window = self._clock.now_ms() // self._window_ms
        name = self._keys.rate(scope, key, window)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.pexpire(name, self._window_ms * 2)
            count, _ = await pipe.execute()
        return int(count) <= limit
