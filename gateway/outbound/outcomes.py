"""Failure handling after a send: retry, close the window, mark, report, pause.

`FailureHandler.on_send_error` handles an error response of the Graph API;
`FailureHandler.on_failed_status` handles the same codes when Meta reports them later as a
`failed` status webhook (131047 often arrives that way after a 200).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import structlog
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from common.clock import Clock
from gateway.outbound.errors import FailureClass, SendFailure, classify_code
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.records import OutboundJob
from gateway.outbound.service import UPLOAD_TTL_S, OutboundService, new_message_id, schedule
from sessions.keys import SessionKeys
from sessions.messages import MessageStore
from sessions.model import StatusUpdate
from sessions.windows import WindowStore

log = structlog.get_logger(__name__)

# A paused send is looked at again after this time.
PAUSE_RECHECK_MS = 5_000
EVENTS_MAXLEN = 100_000
RESEND_MARKER_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class OutboundFailureEvent:
    """A failure that other parts may act on (for example 131050 as a consent withdrawal)."""

    type: str  # FailureClass value
    message_id: str
    conversation_id: str
    phone_number_id: str
    customer_id: str
    code: int | None
    message: str
    at_ms: int
    source: str  # `send` (error response) or `status` (failed status webhook)


FailureCallback = Callable[[OutboundFailureEvent], Awaitable[None]]


@dataclass
class OutboundHooks:
    """Callbacks for failures that need action beyond this path; each must be idempotent."""

    on_failure: list[FailureCallback] = field(default_factory=list)


def token_fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def backoff_ms(attempt: int, base_ms: int, max_ms: int, rng: random.Random) -> int:
    """Return the delay after failed attempt `attempt`: exponential, capped, with jitter.

    The jitter takes a random point in the upper half of the step, so that senders that
    failed together do not retry together, and no retry comes sooner than half a step.
    """
    step_ms = min(max_ms, base_ms * 2 ** (attempt - 1))
    return int(rng.uniform(step_ms / 2, step_ms))


class PauseState:
    """Sending paused for every process, for example while the access token is expired."""

    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self._redis = redis
        self._key = OutboundKeys(prefix).paused
        self._clock = clock

    async def pause(self, reason: str, fingerprint: str) -> None:
        mapping: dict[FieldT, EncodableT] = {
            "reason": reason,
            "token_fingerprint": fingerprint,
            "at_ms": self._clock.now_ms(),
        }
        await self._redis.hset(self._key, mapping=mapping)

    async def get(self) -> dict[str, str] | None:
        raw = await self._redis.hgetall(self._key)
        if not raw:
            return None
        return {_text(key): _text(value) for key, value in raw.items()}

    async def resume(self) -> bool:
        return bool(await self._redis.delete(self._key))


class FailureHandler:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        *,
        service: OutboundService,
        hooks: OutboundHooks,
        max_attempts: int,
        backoff_base_ms: int,
        backoff_max_ms: int,
        token_fingerprint: str,
        rng: random.Random | None = None,
    ) -> None:
        self._redis = redis
        self._keys = OutboundKeys(prefix)
        self._session_keys = SessionKeys(prefix)
        self._clock = clock
        self._service = service
        self._hooks = hooks
        self._messages = MessageStore(redis, prefix, clock)
        self._windows = WindowStore(redis, prefix, clock)
        self.pause = PauseState(redis, prefix, clock)
        self._max_attempts = max_attempts
        self._backoff = (backoff_base_ms, backoff_max_ms)
        self._fingerprint = token_fingerprint
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not a secret

    # Error responses of the Graph API

    async def on_send_error(self, job: OutboundJob, failure: SendFailure, sent_at_ms: int) -> str:
        """Handle a failed call for `job`; return the outcome name for the summary log."""
        kind = failure.failure_class
        if kind is FailureClass.TRANSIENT:
            if job.attempt < self._max_attempts:
                delay_ms = max(self._delay(job.attempt), failure.retry_floor_ms)
                await schedule(
                    self._redis, self._keys, job.next_attempt(), self._clock.now_ms() + delay_ms
                )
                log.warning(
                    "outbound_retry_scheduled",
                    message_id=job.message_id,
                    conversation_id=job.conversation_id,
                    code=failure.code,
                    attempt=job.attempt,
                    delay_ms=delay_ms,
                    error=failure.message,
                )
                return "retry_scheduled"
            await self._fail(job, failure)
            return "failed"

        if kind is FailureClass.WINDOW_CLOSED:
            window = await self._windows.get(job.conversation_id)
            if window is not None and window.open and not job.window_retry:
                # Meta occasionally returns 131047 inside an open window, and one retry works.
                await self._redis.xadd(
                    self._keys.stream, job.next_attempt(window_retry=True).to_fields()
                )
                log.warning(
                    "outbound_window_retry",
                    message_id=job.message_id,
                    conversation_id=job.conversation_id,
                )
                return "window_retry"
            await self._windows.close_by_meta(job.conversation_id, sent_at_ms)

        if kind is FailureClass.TOKEN_EXPIRED:
            await self.pause.pause("access_token_expired", self._fingerprint)
            await schedule(self._redis, self._keys, job, self._clock.now_ms() + PAUSE_RECHECK_MS)
            log.error(
                "outbound_paused",
                reason="access_token_expired",
                code=failure.code,
                message_id=job.message_id,
                error=failure.message,
                action="replace WAG_ACCESS_TOKEN and restart, or run "
                "`wa-gateway outbound resume` after renewing it at Meta",
            )
            return "paused"

        await self._side_effects(kind, job.as_content(), failure, "send")
        await self._fail(job, failure)
        return "failed"

    # Status webhooks

    async def recover_wamid(self, status: StatusUpdate) -> bool:
        """Link a status's wamid to our message when the send's own response was lost.

        A sender that dies (or times out) after Meta accepted a message never stores the
        wamid. The status webhook carries our message id as `biz_opaque_callback_data`,
        so storing the sent marker here stops the sender from sending it again.
        """
        message_id = status.biz_opaque_callback_data
        if not message_id or not message_id.startswith("m_"):
            return False
        marked = await self._redis.set(
            self._keys.sent_marker(message_id), status.wamid, nx=True, ex=RESEND_MARKER_TTL_S
        )
        if not marked:
            return False
        if await self._messages.get_by_message_id(message_id) is None:
            return False
        await self._messages.attach_wamid(message_id, status.wamid)
        log.info("outbound_wamid_recovered", message_id=message_id, wamid=status.wamid)
        return True

    async def on_failed_status(self, status: StatusUpdate) -> None:
        """Apply the same handling to a `failed` status; the inbound worker stored it already."""
        if status.status != "failed" or status.error_code is None:
            return
        message = await self._find_message(status)
        if message is None:
            log.info("outbound_status_unknown_message", wamid=status.wamid, code=status.error_code)
            return

        content = message.get("content") or {}
        failure = SendFailure(
            classify_code(status.error_code),
            status.error_code,
            status.error_message or status.error_title or "",
        )
        job = _job_from_content(content)
        if job is None:
            return
        log.warning(
            "outbound_failed_status",
            message_id=job.message_id,
            wamid=status.wamid,
            conversation_id=job.conversation_id,
            code=status.error_code,
            failure_class=failure.failure_class.value,
        )

        kind = failure.failure_class
        if kind is FailureClass.WINDOW_CLOSED:
            window = await self._windows.get(job.conversation_id)
            if (
                window is not None
                and window.open
                and not job.window_retry
                and await self._claim_resend(job.message_id)
            ):
                await self._resend(job, window_retry=True, delay_ms=0)
                return
            await self._windows.close_by_meta(job.conversation_id, status.timestamp_ms)
        elif kind is FailureClass.TRANSIENT:
            chain = int(content.get("chain_attempts", 1))
            if chain < self._max_attempts and await self._claim_resend(job.message_id):
                await self._resend(
                    job, window_retry=False, delay_ms=self._delay(chain), chain=chain + 1
                )
                return

        await self._side_effects(kind, content, failure, "status")

    # Helpers

    def _delay(self, attempt: int) -> int:
        return backoff_ms(attempt, *self._backoff, self._rng)

    async def _fail(self, job: OutboundJob, failure: SendFailure) -> None:
        await self._messages.set_local_status(
            job.message_id,
            "failed",
            self._clock.now_ms(),
            error_code=failure.code,
            error_message=failure.message,
        )
        log.warning(
            "outbound_failed",
            message_id=job.message_id,
            conversation_id=job.conversation_id,
            code=failure.code,
            failure_class=failure.failure_class.value,
            attempt=job.attempt,
            error=failure.message,
        )

    async def _side_effects(
        self, kind: FailureClass, content: dict[str, Any], failure: SendFailure, source: str
    ) -> None:
        conversation_id = str(content.get("conversation_id", ""))
        if kind is FailureClass.UNDELIVERABLE:
            await self._redis.hset(
                self._session_keys.conversation(conversation_id),
                mapping={
                    "undeliverable_at_ms": self._clock.now_ms(),
                    "undeliverable_code": failure.code or 0,
                },
            )
        if kind not in (
            FailureClass.UNDELIVERABLE,
            FailureClass.MARKETING_STOPPED,
            FailureClass.TEMPLATE,
            FailureClass.WINDOW_CLOSED,
            FailureClass.NO_RETRY,
        ):
            return

        event = OutboundFailureEvent(
            type=kind.value,
            message_id=str(content.get("message_id", "")),
            conversation_id=conversation_id,
            phone_number_id=str(content.get("phone_number_id", "")),
            customer_id=str(content.get("to", "")),
            code=failure.code,
            message=failure.message,
            at_ms=self._clock.now_ms(),
            source=source,
        )
        await self._redis.xadd(
            self._keys.events, _event_fields(event), maxlen=EVENTS_MAXLEN, approximate=True
        )
        for callback in self._hooks.on_failure:
            await callback(event)

    async def _claim_resend(self, message_id: str) -> bool:
        # Status webhooks are redelivered: only the first one may send the message again.
        claimed = await self._redis.set(
            self._keys.resend_marker(message_id), "1", nx=True, ex=RESEND_MARKER_TTL_S
        )
        return bool(claimed)

    async def _resend(
        self, job: OutboundJob, *, window_retry: bool, delay_ms: int, chain: int = 1
    ) -> None:
        # The failed message keeps its final `failed` status; the new one has its own id
        # and history entry, linked by `retry_of`.
        retry = replace(
            job,
            message_id=new_message_id(),
            attempt=1,
            window_retry=window_retry,
            retry_of=job.message_id,
            enqueued_at_ms=self._clock.now_ms(),
        )
        if job.upload:
            upload = await self._redis.hgetall(self._keys.upload(job.message_id))
            if not upload:
                log.warning("outbound_resend_upload_expired", message_id=job.message_id)
                return
            copy = cast("dict[FieldT, EncodableT]", upload)
            await self._redis.hset(self._keys.upload(retry.message_id), mapping=copy)
            await self._redis.expire(self._keys.upload(retry.message_id), UPLOAD_TTL_S)
        due_ms = self._clock.now_ms() + delay_ms if delay_ms else None
        await self._service.enqueue(retry, due_ms=due_ms, chain_attempts=chain)

    async def _find_message(self, status: StatusUpdate) -> dict[str, Any] | None:
        if status.biz_opaque_callback_data:
            message = await self._messages.get_by_message_id(status.biz_opaque_callback_data)
            if message is not None:
                return message
        message = await self._messages.get_by_wamid(status.wamid)
        if message is None or not message.get("message_id"):
            return None
        return message


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event_fields(event: OutboundFailureEvent) -> dict[FieldT, EncodableT]:
    return {
        name: "" if getattr(event, name) is None else str(getattr(event, name))
        for name in OutboundFailureEvent.__slots__
    }


def _job_from_content(content: dict[str, Any]) -> OutboundJob | None:
    try:
        return OutboundJob(
            message_id=content["message_id"],
            conversation_id=content["conversation_id"],
            phone_number_id=content["phone_number_id"],
            to=content["to"],
            kind=content["kind"],
            body=content["body"],
            reason=content.get("reason", ""),
            enqueued_at_ms=int(content.get("enqueued_at_ms", 0)),
            reply_to=content.get("reply_to"),
            window_retry=bool(content.get("window_retry")),
            upload=bool(content.get("upload")),
            retry_of=content.get("retry_of"),
        )
    except (KeyError, TypeError) as exc:
        log.warning("outbound_content_unreadable", error=str(exc))
        return None
