"""Append webhook bodies to the inbound stream, sharing round trips between requests.

Group commit: the first request starts a flush, and requests that arrive while that
flush is on the wire wait for the next one, which carries all of them in one pipeline.
No request waits for a timer, and under load one round trip serves many requests.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# A pipeline of this many XADDs is well under a millisecond of server time; larger
# batches only delay the first request in them.
MAX_BATCH = 256


class IngestUnavailableError(Exception):
    """Redis did not confirm the write; the webhook must answer 503 so that Meta retries."""


@dataclass(slots=True)
class _Pending:
    fields: dict[bytes, bytes]
    done: asyncio.Future[bytes]


class StreamAppender:
    def __init__(self, redis: Redis, stream: str) -> None:
        self._redis = redis
        self._stream = stream
        self._queue: list[_Pending] = []
        self._flushing = False

    async def append(self, body: bytes, received_ms: int) -> str:
        """Store `body` durably and return its stream entry id; raise IngestUnavailableError."""
        fields = {
            b"body": body,
            b"received_ms": str(received_ms).encode(),
            b"sha256": hashlib.sha256(body).hexdigest().encode(),
        }
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(fields, done))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush_loop())
        entry_id = await done
        return entry_id.decode()

    async def _flush_loop(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._flush(batch)
        finally:
            self._flushing = False

    async def _flush(self, batch: list[_Pending]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for pending in batch:
                    pipe.xadd(self._stream, pending.fields)  # type: ignore[arg-type]
                results = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            log.error("ingest_write_failed", error=type(exc).__name__, batch=len(batch))
            results = [exc] * len(batch)

        for pending, result in zip(batch, results, strict=True):
            if pending.done.done():
                continue  # the request was cancelled (client went away); nothing to tell
            if isinstance(result, bytes):
                pending.done.set_result(result)
            else:
                pending.done.set_exception(IngestUnavailableError(str(result)))
