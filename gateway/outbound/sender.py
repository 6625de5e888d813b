"""Sender workers: read the outbound stream, pace, call the Graph API, record the outcome.

Several processes may run senders against one Redis: they share the stream through a
consumer group, the throttle through token buckets in Redis, and the pause flag.

A sender killed mid-send leaves its entry pending, and another sender claims it after
`claim_idle_ms`. If Meta had already accepted it (the sent marker exists), the claimer
only finishes the bookkeeping instead of sending twice. A crash between Meta's 200 and
the marker write can still send twice, because the Graph API has no idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx
import structlog
from pywa.errors import WhatsAppError
from pywa_async.client import WhatsApp
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from common.clock import Clock
from common.lua import load_script
from gateway.outbound.dispatch import dispatch
from gateway.outbound.errors import classify_exception
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.outcomes import PAUSE_RECHECK_MS, FailureHandler
from gateway.outbound.records import OutboundJob
from gateway.outbound.service import schedule
from gateway.outbound.throttle import Throttle
from sessions.messages import MessageStore
from sessions.windows import WindowStore

log = structlog.get_logger(__name__)

GROUP = "senders"
SENT_MARKER_TTL_S = 7 * 24 * 3600
READ_BLOCK_MS = 1_000
PROMOTE_BATCH = 200
# Maximum wait for the business number's bucket inside one send. A longer wait goes back
# to the delayed set, so that the worker slot is free for other numbers.
MAX_INLINE_WAIT_MS = 1_000
# Default of `SenderConfig.status_grace_ms` (WAG_OUTBOUND_STATUS_GRACE_MS).
STATUS_GRACE_MS = 10_000
# Paused senders log the pause at most this often.
PAUSE_LOG_INTERVAL_S = 30.0


@dataclass(frozen=True, slots=True)
class SenderConfig:
    concurrency: int
    claim_idle_ms: int
    # A send whose call may have reached Meta (its sender died or timed out during it)
    # waits this long for a status webhook that names it before it is sent again.
    status_grace_ms: int = STATUS_GRACE_MS


class Sender:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        *,
        blocking_redis: Redis,
        whatsapp: WhatsApp,
        throttle: Throttle,
        failures: FailureHandler,
        config: SenderConfig,
        token_fingerprint: str,
        name: str | None = None,
        dispatch_check: Callable[[OutboundJob], Awaitable[bool]] | None = None,
    ) -> None:
        # Sends in flight use `redis`; only the blocking stream read holds `blocking_redis`,
        # so that a full pool of one never stalls the other.
        self._redis = redis
        self._blocking = blocking_redis
        self._keys = OutboundKeys(prefix)
        self._clock = clock
        self._wa = whatsapp
        self._throttle = throttle
        self._failures = failures
        self._config = config
        self._fingerprint = token_fingerprint
        # The second consent check of a template, at the moment it leaves; it records a
        # denied send as blocked itself.
        self._dispatch_check = dispatch_check
        self._messages = MessageStore(redis, prefix, clock)
        self._windows = WindowStore(redis, prefix, clock)
        self._promote = load_script(redis, "gateway.outbound", "promote_delayed.lua")
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{id(self) % 10_000}"
        self._slots = asyncio.Semaphore(config.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        # Stream entries this sender is working on; see `_keep_claims`.
        self._working: set[bytes] = set()
        self._stopping = False
        self._pause_logged_at = 0.0

    # Loop

    async def run(self) -> None:
        """Send until `stop()`; Redis errors are logged and retried after a second."""
        await self.ensure_group()
        log.info("sender_started", sender=self.name, concurrency=self._config.concurrency)
        keeper = asyncio.create_task(self._keep_claims())
        try:
            while not self._stopping:
                try:
                    await self.step()
                except asyncio.CancelledError:
                    raise
                except (RedisError, OSError) as exc:
                    log.warning("sender_redis_error", sender=self.name, error=str(exc))
                    await asyncio.sleep(1.0)
            await self.drain()
        finally:
            keeper.cancel()
        log.info("sender_stopped", sender=self.name)

    async def _keep_claims(self) -> None:
        """Reset the idle time of entries in work, so that no sender claims them meanwhile.

        A send may wait for the throttle or for a slow Graph API call longer than
        `claim_idle_ms`. Without this, another sender (or this one) would claim the entry
        and send the message a second time.
        """
        interval_s = self._config.claim_idle_ms / 3000
        while True:
            await asyncio.sleep(interval_s)
            if not self._working:
                continue
            try:
                await self._redis.xclaim(
                    self._keys.stream, GROUP, self.name, 0, list(self._working), justid=True
                )
            except (RedisError, OSError) as exc:
                log.warning("sender_claim_refresh_failed", sender=self.name, error=str(exc))

    def stop(self) -> None:
        self._stopping = True

    async def drain(self) -> None:
        """Wait for sends in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def abort(self) -> None:
        """Cancel sends in flight; their entries stay pending and are claimed again later."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._keys.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, block_ms: int = READ_BLOCK_MS) -> int:
        """Move due delayed sends, claim stale ones, read new ones; return how many started."""
        await self._promote(
            keys=[self._keys.delayed, self._keys.delayed_jobs, self._keys.stream],
            args=[self._clock.now_ms(), PROMOTE_BATCH],
        )
        await self._wait_for_slot()
        free = self._free_slots()

        # XAUTOCLAIM returns [next start id, claimed entries, deleted ids].
        claim_reply: list[Any] = await self._redis.xautoclaim(
            self._keys.stream, GROUP, self.name, self._config.claim_idle_ms, "0-0", count=free
        )
        entries: list[Any] = list(claim_reply[1])
        if len(entries) < free:
            read = await self._blocking.xreadgroup(
                GROUP,
                self.name,
                {self._keys.stream: ">"},
                count=free - len(entries),
                block=block_ms,
            )
            streams = cast("list[Any]", read or [])
            for _, stream_entries in streams:
                entries.extend(stream_entries)

        for entry_id, fields in entries:
            if entry_id in self._working:
                continue
            await self._slots.acquire()
            self._working.add(entry_id)
            task = asyncio.create_task(self._handle_entry(entry_id, fields))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(entries)

    def _free_slots(self) -> int:
        return max(1, self._config.concurrency - len(self._tasks))

    async def _wait_for_slot(self) -> None:
        await self._slots.acquire()
        self._slots.release()

    async def _handle_entry(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            try:
                job = OutboundJob.from_fields(fields)
            except (KeyError, ValueError) as exc:
                log.error("outbound_entry_malformed", entry_id=entry_id.decode(), error=str(exc))
            else:
                await self.process(job)
            await self._ack(entry_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left pending: another sender (or this one) claims it after claim_idle_ms.
            log.exception("outbound_entry_error", entry_id=entry_id.decode())
        finally:
            self._working.discard(entry_id)
            self._slots.release()

    async def _ack(self, entry_id: bytes) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.stream, GROUP, entry_id)
            pipe.xdel(self._keys.stream, entry_id)
            await pipe.execute()

    # One send

    async def process(self, job: OutboundJob) -> str:
        """Send one job and record its outcome; return the outcome for the summary log."""
        started = time.perf_counter()
        structlog.contextvars.bind_contextvars(
            message_id=job.message_id, conversation_id=job.conversation_id
        )
        try:
            outcome = await self._process(job)
        finally:
            structlog.contextvars.unbind_contextvars("message_id", "conversation_id")
        log.info(
            "outbound_processed",
            message_id=job.message_id,
            conversation_id=job.conversation_id,
            kind=job.kind,
            attempt=job.attempt,
            outcome=outcome,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return outcome

    async def _process(self, job: OutboundJob) -> str:
        sent_wamid = await self._redis.get(self._keys.sent_marker(job.message_id))
        if sent_wamid is not None:
            # Meta accepted it before a crash: finish the bookkeeping, never send twice.
            await self._messages.attach_wamid(job.message_id, _text(sent_wamid))
            return "already_sent"

        unconfirmed_since_ms = await self._unconfirmed_call(job)
        if unconfirmed_since_ms is not None:
            due_ms = unconfirmed_since_ms + self._config.status_grace_ms
            if self._clock.now_ms() < due_ms:
                await schedule(self._redis, self._keys, job, due_ms)
                return "awaiting_status"
            log.warning(
                "outbound_resend_unconfirmed",
                message_id=job.message_id,
                conversation_id=job.conversation_id,
                started_ms=unconfirmed_since_ms,
            )

        if await self._paused():
            await schedule(self._redis, self._keys, job, self._clock.now_ms() + PAUSE_RECHECK_MS)
            return "paused"

        if job.free_form:
            window = await self._windows.get(job.conversation_id)
            if window is None or not window.open:
                await self._messages.set_local_status(
                    job.message_id,
                    "failed",
                    self._clock.now_ms(),
                    error_code=131047,
                    error_message="the service window closed before the message could be sent",
                )
                return "window_closed"

        wait_ms = await self._throttle.take_recipient(job.conversation_id)
        if wait_ms:
            await schedule(self._redis, self._keys, job, self._clock.now_ms() + wait_ms)
            return "paced_recipient"
        if not await self._wait_for_number(job):
            return "paced_number"

        check = self._dispatch_check
        if job.kind == "template" and check is not None and not await check(job):
            return "blocked"

        return await self._send(job)

    async def _wait_for_number(self, job: OutboundJob) -> bool:
        waited_ms = 0
        while True:
            wait_ms = await self._throttle.take_number(job.phone_number_id)
            if wait_ms == 0:
                return True
            # Many senders may contend for one number: bound the total wait, not each one.
            if waited_ms + wait_ms > MAX_INLINE_WAIT_MS:
                await schedule(self._redis, self._keys, job, self._clock.now_ms() + wait_ms)
                return False
            await asyncio.sleep(wait_ms / 1000)
            waited_ms += wait_ms

    async def _send(self, job: OutboundJob) -> str:
        sent_at_ms = self._clock.now_ms()
        inflight = self._keys.inflight_marker(job.message_id)
        await self._redis.set(inflight, sent_at_ms, ex=SENT_MARKER_TTL_S)
        try:
            media_id = await self._upload(job) if job.upload else None
            wamid = await dispatch(self._wa, job, media_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = classify_exception(exc)
            if isinstance(exc, WhatsAppError | httpx.ConnectError):
                # An HTTP error response, or no connection at all: nothing was sent. Only a
                # timeout leaves the doubt that Meta accepted the message.
                await self._redis.delete(inflight)
            return await self._failures.on_send_error(job, failure, sent_at_ms)

        await self._redis.set(self._keys.sent_marker(job.message_id), wamid, ex=SENT_MARKER_TTL_S)
        await self._redis.delete(inflight)
        await self._messages.attach_wamid(job.message_id, wamid)
        await self._windows.record_business_reply(job.conversation_id, sent_at_ms)
        await self._clear_pause_of_old_token()
        structlog.contextvars.bind_contextvars(wamid=wamid)
        return "sent"

    async def _unconfirmed_call(self, job: OutboundJob) -> int | None:
        """Return when an earlier call for `job` started if its outcome is unknown."""
        started = await self._redis.get(self._keys.inflight_marker(job.message_id))
        return int(started) if started is not None else None

    async def _upload(self, job: OutboundJob) -> str:
        raw = await self._redis.hgetall(self._keys.upload(job.message_id))
        if not raw:
            msg = f"the media of message {job.message_id} is no longer stored (kept for 24 h)"
            raise LookupError(msg)
        media = await self._wa.upload_media(
            media=raw[b"content"],
            mime_type=_text(raw[b"mime_type"]),
            filename=_text(raw[b"filename"]),
            phone_id=job.phone_number_id,
        )
        return str(media.id)

    async def _paused(self) -> bool:
        state = await self._failures.pause.get()
        if state is None or state.get("token_fingerprint") != self._fingerprint:
            # A process started with another token may try; its success lifts the pause.
            return False
        now = time.monotonic()
        if now - self._pause_logged_at > PAUSE_LOG_INTERVAL_S:
            self._pause_logged_at = now
            log.error(
                "outbound_paused",
                reason=state.get("reason"),
                since_ms=state.get("at_ms"),
                action="replace WAG_ACCESS_TOKEN and restart, or run `wa-gateway outbound resume`",
            )
        return True

    async def _clear_pause_of_old_token(self) -> None:
        state = await self._failures.pause.get()
        if state is not None and state.get("token_fingerprint") != self._fingerprint:
            await self._failures.pause.resume()
            log.info("outbound_resumed", reason="send with a new access token succeeded")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def stop_senders(
    senders: list[Sender], tasks: list[asyncio.Task[None]], grace_s: float = 5.0
) -> None:
    """Stop sender loops: let sends in flight finish for `grace_s`, then cancel the rest.

    A send can wait longer than that (a paced number, a slow Graph API call). Its entry
    then stays pending, and another sender claims it after `claim_idle_ms`.
    """
    for sender in senders:
        sender.stop()
    for sender in senders:
        try:
            await asyncio.wait_for(sender.drain(), timeout=grace_s)
        except TimeoutError:
            log.warning("sender_stop_timeout", sender=sender.name, grace_s=grace_s)
            await sender.abort()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
