"""Accept outbound messages: check the conversation and its window, record, enqueue.

Other parts call this service through `request.app[OUTBOUND]` (or build one with a Redis
client): agent replies, consent confirmations (`send_text`), template sends and campaigns
(`send_template`). Each call writes the history entry (direction `out`, status `accepted`)
and appends one entry to the outbound stream (format in `gateway.outbound.records`), and
returns our message id. Nothing here calls Meta; sender workers do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiohttp import web
from redis.asyncio import Redis

from common.clock import Clock
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.records import FREE_FORM_KINDS, OutboundJob
from sessions.conversations import ConversationStore, conversation_id_for
from sessions.messages import MessageStore
from sessions.windows import Window, WindowStore

log = structlog.get_logger(__name__)

UPLOAD_TTL_S = 24 * 3600


def new_message_id() -> str:
    return "m_" + secrets.token_hex(12)


class OutboundError(Exception):
    """A send that is not accepted; nothing was recorded or enqueued."""


class ConversationNotFoundError(OutboundError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


class WindowClosedError(OutboundError):
    """The service window is closed, so only a template may be sent."""

    def __init__(self, conversation_id: str, window: Window) -> None:
        super().__init__(
            f"the service window of conversation {conversation_id} is closed; send a template"
        )
        self.conversation_id = conversation_id
        self.window = window


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """Media bytes to upload to Meta right before the send."""

    content: bytes
    mime_type: str
    filename: str


def history_text(kind: str, body: dict[str, Any]) -> str | None:
    """Return the history text of a send of `kind`, as agents read it."""
    if kind == "text":
        return str(body.get("body", ""))
    if kind == "interactive":
        return str((body.get("body") or {}).get("text", ""))
    if kind == "template":
        return None
    caption = body.get("caption")
    return str(caption) if caption else None


class OutboundService:
    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self._redis = redis
        self._keys = OutboundKeys(prefix)
        self._clock = clock
        self._messages = MessageStore(redis, prefix, clock)
        self._conversations = ConversationStore(redis, prefix)
        self._windows = WindowStore(redis, prefix, clock)

    async def send_text(
        self, conversation_id: str, text: str, *, reason: str, reply_to: str | None = None
    ) -> str:
        """Send a free-form text inside the open service window; return our message id.

        Raises `ConversationNotFoundError` or `WindowClosedError`.
        """
        body = {"body": text, "preview_url": False}
        return await self.send_message(
            conversation_id, "text", body, reason=reason, reply_to=reply_to
        )

    async def send_message(
        self,
        conversation_id: str,
        kind: str,
        body: dict[str, Any],
        *,
        reason: str,
        reply_to: str | None = None,
        upload: MediaUpload | None = None,
    ) -> str:
        """Send a free-form message of `kind` with Meta's object `body`; return our message id.

        The window is checked here and again by the sender right before the call to Meta.
        """
        if kind not in FREE_FORM_KINDS:
            msg = f"{kind!r} is no free-form message kind; templates go through send_template"
            raise ValueError(msg)

        conversation = await self._conversations.get(conversation_id)
        if conversation is None:
            raise ConversationNotFoundError(conversation_id)
        window = await self._windows.get(conversation_id)
        if window is None or not window.open:
            raise WindowClosedError(conversation_id, window or _closed_window())

        if kind == "document" and upload is not None and not body.get("filename"):
            # pywa 4.5 cannot serialise a document without a filename: keep the upload's.
            body = {**body, "filename": upload.filename or "document"}

        job = OutboundJob(
            message_id=new_message_id(),
            conversation_id=conversation_id,
            phone_number_id=conversation.phone_number_id,
            to=conversation.wa_id or conversation.user_id or conversation.customer_id,
            kind=kind,
            body=body,
            reason=reason,
            enqueued_at_ms=self._clock.now_ms(),
            reply_to=reply_to,
            upload=upload is not None,
        )
        if upload is not None:
            await self._store_upload(job.message_id, upload)
        return await self.enqueue(job)

    async def send_template(
        self,
        *,
        phone_number_id: str,
        to: str,
        name: str,
        language: str,
        components: list[dict[str, Any]] | None = None,
        reason: str,
        conversation_id: str | None = None,
    ) -> str:
        """Send an approved template to `to` (wa_id or business-scoped user id).

        No window check: templates are allowed outside the window. The caller has checked
        consent and the template's parameters. Without `conversation_id`, the customer's
        conversation is found or created, so the send shows in its history.
        """
        body: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            body["components"] = components
        if conversation_id is None:
            # A wa_id once seen with a business-scoped user id maps to that customer, so the
            # send lands in the conversation the customer's messages use.
            customer_id = await self._conversations.resolve_customer_id(phone_number_id, to, None)
            conversation_id = conversation_id_for(phone_number_id, customer_id)
            await self._conversations.ensure(
                conversation_id,
                phone_number_id=phone_number_id,
                customer_id=customer_id,
                wa_id=to if to.isdigit() else None,
                created_at_ms=self._clock.now_ms(),
            )
        job = OutboundJob(
            message_id=new_message_id(),
            conversation_id=conversation_id,
            phone_number_id=phone_number_id,
            to=to,
            kind="template",
            body=body,
            reason=reason,
            enqueued_at_ms=self._clock.now_ms(),
        )
        return await self.enqueue(job)

    async def enqueue(
        self, job: OutboundJob, *, due_ms: int | None = None, chain_attempts: int = 1
    ) -> str:
        """Record `job` in the history and put it on the stream (or the delayed set).

        `chain_attempts` counts sends of the same content after failed status webhooks.
        """
        text = history_text(job.kind, job.body)
        content = {**job.as_content(), "chain_attempts": chain_attempts}
        await self._messages.append_outbound(
            job.conversation_id, job.message_id, job.kind, text, content, job.enqueued_at_ms
        )
        if due_ms is None:
            await self._redis.xadd(self._keys.stream, job.to_fields())
        else:
            await schedule(self._redis, self._keys, job, due_ms)
        log.info(
            "outbound_accepted",
            message_id=job.message_id,
            conversation_id=job.conversation_id,
            kind=job.kind,
            reason=job.reason,
            retry_of=job.retry_of,
        )
        return job.message_id

    async def _store_upload(self, message_id: str, upload: MediaUpload) -> None:
        key = self._keys.upload(message_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "content": upload.content,
                    "mime_type": upload.mime_type,
                    "filename": upload.filename,
                },
            )
            pipe.expire(key, UPLOAD_TTL_S)
            await pipe.execute()


async def schedule(redis: Redis, keys: OutboundKeys, job: OutboundJob, due_ms: int) -> None:
    """Put `job` into the delayed set; the sender moves it to the stream at `due_ms`."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(keys.delayed_jobs, job.message_id, orjson.dumps(job.to_fields()))
        pipe.zadd(keys.delayed, {job.message_id: due_ms})
        await pipe.execute()


def _closed_window() -> Window:
    return Window(
        open=False,
        expires_at_ms=None,
        free_entry_point_open=False,
        free_entry_point_expires_at_ms=None,
        last_customer_message_at_ms=None,
    )


OUTBOUND = web.AppKey("outbound", OutboundService)
