"""Append webhook bodies to the inbound stream, sharing round trips between requests.

Group commit: the first request starts a flush, and requests that arrive while that
flush is on the wire wait for the next one, which carries all of them in one script call.
No request waits for a timer, and under load one round trip serves many requests.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.lua import load_script

log = structlog.get_logger(__name__)

# A pipeline of this many XADDs is well under a millisecond of server time; larger
# batches only delay the first request in them.
MAX_BATCH = 256


class IngestUnavailableError(Exception):
    """Redis did not confirm the write, so the webhook returns 503 and Meta retries."""


@dataclass(slots=True)
class _Pending:
    body: bytes
    received_ms: int
    done: asyncio.Future[bytes]


class StreamAppender:
    def __init__(self, redis: Redis, stream: str, timeout_s: float = 0.8) -> None:
        self._redis = redis
        self._stream = stream
        self._timeout_s = timeout_s
        self._script = load_script(redis, "gateway", "ingest_append.lua")
        self._queue: list[_Pending] = []
        self._flushing = False
        self._flush_task: asyncio.Task[None] | None = None

    async def append(self, body: bytes, received_ms: int) -> str:
        """Store `body` durably and return its stream entry id; raise IngestUnavailableError."""
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(body, received_ms, done))
        if not self._flushing:
            self._flushing = True
            # Keep a reference: the event loop holds tasks only weakly.
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_loop())
        # A hung server must not hold the request past Meta's patience, so it gets 503 instead.
        # A write that still lands later only causes a duplicate, which the worker drops.
        # A timer on the future costs less per request than wait_for with shield.
        timer = asyncio.get_running_loop().call_later(self._timeout_s, self._expire, done)
        try:
            entry_id = await done
        finally:
            timer.cancel()
        return entry_id.decode()

    def _expire(self, done: asyncio.Future[bytes]) -> None:
        if not done.done():
            msg = f"Redis did not confirm the write within {self._timeout_s} s"
            done.set_exception(IngestUnavailableError(msg))

    async def _flush_loop(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._flush(batch)
        finally:
            self._flushing = False

    async def _flush(self, batch: list[_Pending]) -> None:
        args: list[bytes | int | str] = []
        for pending in batch:
            args += [pending.body, pending.received_ms, hashlib.sha256(pending.body).hexdigest()]
        try:
            ids: list[bytes] = await self._script(keys=[self._stream], args=args)
        except (RedisError, OSError) as exc:
            # Requests queued behind this batch would meet the same dead server: fail them
            # now rather than let each wait for its own timeout.
            batch, self._queue = batch + self._queue, []
            log.error("ingest_write_failed", error=type(exc).__name__, batch=len(batch))
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(IngestUnavailableError(str(exc)))
            return

        for pending, entry_id in zip(batch, ids, strict=True):
            if not pending.done.done():  # a cancelled request has no waiter left
                pending.done.set_result(entry_id)
