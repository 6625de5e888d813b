"""Redis clients with explicit timeouts, so that a dead server is noticed within a second."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.settings import Settings


def create_redis(
    url: str,
    settings: Settings,
    *,
    socket_timeout_s: float | None = None,
    max_connections: int = 64,
) -> Redis:
    """Create a client for `url`.

    redis-py's default retry lets a command against a dead server take 3-4 s. One quick
    retry keeps a server restart invisible while the webhook still answers 503 in well
    under a second when the server is gone. Blocking reads (XREADGROUP BLOCK) need a
    larger `socket_timeout_s` than the default.
    """
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout_s or settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        retry=Retry(ConstantBackoff(0.05), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        max_connections=max_connections,
        health_check_interval=0,
        decode_responses=False,
    )
