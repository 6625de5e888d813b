"""Consumer-group worker over the inbound stream.

Several workers, in one process or many, share the stream through one consumer group.
An entry is acknowledged only after all its updates were applied, or after its failing
updates went to the dead-letter stream. Entries of a worker that died stay pending and
are claimed by another worker once they have been idle for `claim_idle_ms`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from common.clock import Clock
from common.tasks import raise_if_cancelling
from common.text import as_str
from gateway.inbound.hooks import InboundHooks
from gateway.inbound.parse import PayloadError
from gateway.inbound.processor import InboundProcessor
from gateway.keys import GatewayKeys

log = structlog.get_logger(__name__)

GROUP = "inbound"
READ_COUNT = 32
BLOCK_MS = 1000
DEAD_LETTER_MAXLEN = 100_000


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class InboundWorker:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        *,
        hooks: InboundHooks | None = None,
        max_attempts: int = 5,
        claim_idle_ms: int = 15_000,
        retention_ms: int = 7 * 24 * 3600 * 1000,
        name: str | None = None,
    ) -> None:
        self._redis = redis
        self._keys = GatewayKeys(prefix)
        self._clock = clock
        self._processor = InboundProcessor(redis, prefix, clock, hooks)
        self._max_attempts = max_attempts
        self._claim_idle_ms = claim_idle_ms
        self._retention_ms = retention_ms
        self.name = name or consumer_name()
        self._stopping = asyncio.Event()
        self.processed_entries = 0

    def stop(self) -> None:
        self._stopping.set()

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._keys.inbound_stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Process entries until `stop()`; Redis outages are waited out, never fatal."""
        log.info("inbound_worker_started", worker=self.name)
        last_maintenance = 0.0
        failures = 0
        try:
            while not self._stopping.is_set():
                raise_if_cancelling()
                try:
                    await self.ensure_group()
                    await self._heartbeat()
                    if time.monotonic() - last_maintenance > 1.0:
                        await self.claim_stale()
                        last_maintenance = time.monotonic()
                    await self.read_once(BLOCK_MS)
                    failures = 0
                except (RedisError, OSError) as exc:
                    raise_if_cancelling()
                    failures += 1
                    # One line when the outage starts, then one per 20 attempts.
                    if failures == 1 or failures % 20 == 0:
                        log.warning(
                            "inbound_worker_redis_error",
                            worker=self.name,
                            error=str(exc),
                            attempts=failures,
                        )
                    await asyncio.sleep(min(0.1 * 2**failures, 2.0))
        finally:
            log.info("inbound_worker_stopped", worker=self.name)
            await self._leave_group()

    async def _leave_group(self) -> None:
        # A consumer with nothing pending leaves no trace; one with pending entries stays,
        # so that another worker claims them.
        with contextlib.suppress(RedisError, OSError, asyncio.CancelledError):
            pending: Any = await self._redis.xpending_range(
                self._keys.inbound_stream, GROUP, "-", "+", 1, consumername=self.name
            )
            if not pending:
                await self._redis.xgroup_delconsumer(self._keys.inbound_stream, GROUP, self.name)
            await self._redis.zrem(self._keys.workers(), self.name)

    async def read_once(self, block_ms: int | None = None) -> int:
        """Read and process one batch of new entries; return how many were read."""
        response: Any = await self._redis.xreadgroup(
            GROUP, self.name, {self._keys.inbound_stream: ">"}, count=READ_COUNT, block=block_ms
        )
        count = 0
        for _stream, entries in response or []:
            for entry_id, fields in entries:
                await self._handle(as_str(entry_id), fields)
                count += 1
        return count

    async def claim_stale(self) -> int:
        """Claim and process entries left pending by dead or failing workers."""
        cursor = "0-0"
        count = 0
        while True:
            claimed: Any = await self._redis.xautoclaim(
                self._keys.inbound_stream,
                GROUP,
                self.name,
                self._claim_idle_ms,
                cursor,
                count=READ_COUNT,
            )
            cursor = as_str(claimed[0])
            for entry_id, fields in claimed[1]:
                if fields is None:
                    continue  # the entry was trimmed away; nothing left to process
                await self._handle(as_str(entry_id), fields)
                count += 1
            if cursor == "0-0":
                return count

    async def drain(self) -> int:
        """Process everything that is waiting now; for tests and `worker --once`."""
        await self.ensure_group()
        total = 0
        while True:
            count = await self.read_once(None) + await self.claim_stale()
            total += count
            if count == 0:
                return total

    async def _handle(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        started = time.perf_counter()
        structlog.contextvars.bind_contextvars(entry_id=entry_id)
        body = fields.get(b"body", b"")
        received_ms = int(fields.get(b"received_ms", b"0"))
        touched = time.monotonic()

        async def keep_claim() -> None:
            # Reset the entry's idle time now and then, so that no other worker claims a body
            # of a thousand updates while this one is still working on it.
            nonlocal touched
            if time.monotonic() - touched > self._claim_idle_ms / 3000:
                await self._redis.xclaim(
                    self._keys.inbound_stream, GROUP, self.name, 0, [entry_id], justid=True
                )
                touched = time.monotonic()

        try:
            outcome = await self._processor.process_body(body, received_ms, keep_claim)
        except PayloadError as exc:
            # Retrying cannot fix a body that is not a webhook: dead-letter it at once.
            await self._dead_letter(entry_id, body, received_ms, [("body", str(exc))], 1)
            await self._ack(entry_id)
            log.warning("webhook_processed", outcome="dead_lettered", reason="payload")
            return
        finally:
            structlog.contextvars.unbind_contextvars("entry_id")

        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if not outcome.failures:
            await self._ack(entry_id)
            self.processed_entries += 1
            log.info(
                "webhook_processed",
                entry_id=entry_id,
                outcome="ok",
                applied=outcome.applied,
                duplicates=outcome.duplicates,
                duration_ms=duration_ms,
            )
            return

        attempts = await self._redis.hincrby(self._keys.inbound_failures, entry_id, 1)
        if attempts >= self._max_attempts:
            await self._dead_letter(entry_id, body, received_ms, outcome.failures, attempts)
            await self._ack(entry_id)
            outcome_name = "dead_lettered"
        else:
            outcome_name = "retry_pending"  # stays pending; claimed again after claim_idle_ms
        log.warning(
            "webhook_processed",
            entry_id=entry_id,
            outcome=outcome_name,
            attempts=attempts,
            failed=len(outcome.failures),
            applied=outcome.applied,
            duration_ms=duration_ms,
        )

    async def _ack(self, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.inbound_stream, GROUP, entry_id)
            pipe.hdel(self._keys.inbound_failures, entry_id)
            await pipe.execute()

    async def _dead_letter(
        self,
        entry_id: str,
        body: bytes,
        received_ms: int,
        failures: list[tuple[str, str]],
        attempts: int,
    ) -> None:
        for locator, error in failures:
            await self._redis.xadd(
                self._keys.inbound_dead,
                {
                    "entry_id": entry_id,
                    "locator": locator,
                    "error": error,
                    "attempts": str(attempts),
                    "failed_at_ms": str(self._clock.now_ms()),
                    "received_ms": str(received_ms),
                    "body": body,
                },
                maxlen=DEAD_LETTER_MAXLEN,
                approximate=True,
            )
            log.error(
                "update_dead_lettered",
                entry_id=entry_id,
                locator=locator,
                attempts=attempts,
                error=error[:200],
            )

    async def _heartbeat(self) -> None:
        await self._redis.zadd(self._keys.workers(), {self.name: self._clock.now_ms()})

    async def trim(self) -> None:
        """Drop raw bodies older than the retention, but never one that is still pending."""
        cutoff_ms = self._clock.now_ms() - self._retention_ms
        min_id = f"{cutoff_ms}-0"
        summary = await self._redis.xpending(self._keys.inbound_stream, GROUP)
        if summary and summary.get("min"):
            oldest_pending = as_str(summary["min"])
            if _id_less(oldest_pending, min_id):
                min_id = oldest_pending
        await self._redis.xtrim(self._keys.inbound_stream, minid=min_id, approximate=True)


def _id_less(left: str, right: str) -> bool:
    l_ms, _, l_seq = left.partition("-")
    r_ms, _, r_seq = right.partition("-")
    return (int(l_ms), int(l_seq or 0)) < (int(r_ms), int(r_seq or 0))


async def dead_letters(redis: Redis, prefix: str, count: int = 100) -> list[dict[str, str]]:
    """Return the newest dead letters, without their bodies."""
    entries: Any = await redis.xrevrange(GatewayKeys(prefix).inbound_dead, count=count)
    return [
        {
            "id": as_str(entry_id),
            **{as_str(k): as_str(v) for k, v in fields.items() if k != b"body"},
        }
        for entry_id, fields in entries
    ]


async def replay_dead_letter(redis: Redis, prefix: str, dead_id: str) -> str | None:
    """Put a dead letter's body back on the inbound stream and delete its dead letters.

    The whole body is replayed; its updates that were applied before are recognised as
    duplicates, so only the failed ones take effect. Every dead letter of the same stream
    entry is deleted with it, because one replay covers all of them.
    """
    keys = GatewayKeys(prefix)
    try:
        entries: Any = await redis.xrange(keys.inbound_dead, dead_id, dead_id)
    except ResponseError as exc:
        msg = f"invalid dead letter id {dead_id!r}; copy one from `wa-gateway dead-letters list`"
        raise ValueError(msg) from exc
    if not entries:
        return None
    _dead_id, fields = entries[0]
    new_id = await redis.xadd(
        keys.inbound_stream,
        {
            b"body": fields[b"body"],
            b"received_ms": fields.get(b"received_ms", b"0"),
            b"replayed_from": dead_id.encode(),
        },
    )
    siblings = [
        letter["id"]
        for letter in await dead_letters(redis, prefix, DEAD_LETTER_MAXLEN)
        if letter["entry_id"] == as_str(fields[b"entry_id"])
    ]
    await redis.xdel(keys.inbound_dead, *siblings)
    return as_str(new_id)
