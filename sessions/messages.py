"""Message history and delivery statuses, inbound and outbound.

Inbound messages are keyed by wamid. Outbound messages are keyed by our own message id
from the moment they are accepted, and linked to Meta's wamid once the Graph API returns
it; statuses that arrive before that link are parked and applied when it appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from common.clock import Clock
from common.lua import load_script
from common.text import as_str
from sessions.keys import SessionKeys
from sessions.model import InboundMessage, StatusUpdate

# Higher ranks win, so statuses applied in any order end in the same final status.
# `failed` is final: a message that failed stays failed, with its error.
STATUS_RANK = {
    "accepted": 0,
    "queued": 0,
    "blocked": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "played": 5,
    "failed": 6,
    "unknown": -1,
}
PENDING_STATUS_TTL_MS = 30 * 24 * 3600 * 1000
# A window-opening message: every customer message except system notices.
NON_WINDOW_TYPES = frozenset({"system"})


@dataclass(frozen=True, slots=True)
class StoreResult:
    conversation_id: str
    is_new: bool
    conversation_created: bool
    processed: bool


def _status_event(status: str, timestamp_ms: int, **extra: Any) -> bytes:
    event = {"status": status, "timestamp_ms": timestamp_ms}
    event.update({key: value for key, value in extra.items() if value is not None})
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


class MessageStore:
    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self._redis = redis
        self._keys = SessionKeys(prefix)
        self._clock = clock
        self._store_inbound = load_script(redis, "sessions", "store_inbound.lua")
        self._apply_status = load_script(redis, "sessions", "apply_status.lua")
        self._link_or_pend = load_script(redis, "sessions", "link_or_pend.lua")
        self._attach = load_script(redis, "sessions", "attach_wamid.lua")

    # -- inbound ---------------------------------------------------------------------------

    async def store_inbound(self, conversation_id: str, message: InboundMessage) -> StoreResult:
        """Store a customer message once; a redelivered wamid changes nothing."""
        fields = {
            "wamid": message.wamid,
            "direction": "in",
            "type": message.type,
            "timestamp_ms": str(message.timestamp_ms),
            "received_ms": str(self._clock.now_ms()),
            "text": message.text or "",
            "payload": message.payload or "",
            "context_wamid": message.context_wamid or "",
            "forwarded": "1" if message.forwarded else "0",
            "content": orjson.dumps(message.content).decode(),
            "errors": orjson.dumps(message.errors).decode() if message.errors else "",
            "customer_id": message.customer.customer_id,
            "processed": "0",
        }
        keys = [
            self._keys.conversation(conversation_id),
            self._keys.history(conversation_id),
            self._keys.message(conversation_id, message.wamid),
        ]
        args: list[str | int] = [
            conversation_id,
            message.wamid,
            message.timestamp_ms,
            self._clock.now_ms(),
            message.phone_number_id,
            message.customer.customer_id,
            message.customer.wa_id or "",
            message.customer.user_id or "",
            "0" if message.type in NON_WINDOW_TYPES else "1",
            orjson.dumps(message.referral).decode() if message.referral else "",
            orjson.dumps(fields).decode(),
        ]
        is_new, created, processed = await self._store_inbound(keys=keys, args=args)
        await self._redis.set(
            self._keys.wamid_link(message.wamid), f"{conversation_id} {message.wamid}"
        )
        return StoreResult(
            conversation_id=conversation_id,
            is_new=bool(is_new),
            conversation_created=bool(created),
            processed=processed in (b"1", "1"),
        )

    async def mark_processed(self, conversation_id: str, wamid: str) -> None:
        await self._redis.hset(self._keys.message(conversation_id, wamid), "processed", "1")

    # -- outbound --------------------------------------------------------------------------

    async def append_outbound(
        self,
        conversation_id: str,
        message_id: str,
        type: str,
        text: str | None,
        content: dict[str, Any],
        created_at_ms: int,
    ) -> None:
        """Add an outbound message to the history with status `accepted`."""
        message_key = self._keys.message(conversation_id, message_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                message_key,
                mapping={
                    "message_id": message_id,
                    "direction": "out",
                    "type": type,
                    "text": text or "",
                    "content": orjson.dumps(content).decode(),
                    "timestamp_ms": created_at_ms,
                    "status": "accepted",
                    "status_rank": STATUS_RANK["accepted"],
                    "status_at_ms": created_at_ms,
                    "seen:accepted": created_at_ms,
                },
            )
            pipe.rpush(
                self._keys.message_statuses(conversation_id, message_id),
                _status_event("accepted", created_at_ms),
            )
            pipe.zadd(self._keys.history(conversation_id), {message_id: created_at_ms})
            await pipe.execute()
        await self._redis.set(self._keys.message_id_link(message_id), conversation_id)

    async def attach_wamid(self, message_id: str, wamid: str) -> None:
        """Link Meta's wamid to our message and apply statuses that arrived before it."""
        conversation_id = await self._conversation_of(message_id)
        if conversation_id is None:
            msg = f"unknown message id {message_id!r}; append_outbound must come first"
            raise KeyError(msg)
        await self._redis.hset(self._keys.message(conversation_id, message_id), "wamid", wamid)
        pending = await self._attach(
            keys=[self._keys.wamid_link(wamid), self._keys.wamid_pending(wamid)],
            args=[f"{conversation_id} {message_id}"],
        )
        for raw in pending:
            event = orjson.loads(raw)
            await self._apply(conversation_id, message_id, event, raw)
            await self._redis.srem(self._keys.wamid_pending(wamid), raw)

    async def set_local_status(
        self,
        message_id: str,
        status: str,
        timestamp_ms: int,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> None:
        """Record a status decided here (`failed` after a send error, `blocked` by the gate)."""
        conversation_id = await self._conversation_of(message_id)
        if conversation_id is None:
            msg = f"unknown message id {message_id!r}"
            raise KeyError(msg)
        event = {"status": status, "timestamp_ms": timestamp_ms, "source": "gateway"}
        if error_code is not None:
            event["error_code"] = error_code
        if error_message:
            event["error_message"] = error_message
        await self._apply(
            conversation_id, message_id, event, orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
        )

    # -- statuses from Meta ----------------------------------------------------------------

    async def apply_status(self, status: StatusUpdate) -> str:
        """Apply a status webhook; return `applied`, `duplicate` or `pending`."""
        raw = _status_event(
            status.status,
            status.timestamp_ms,
            error_code=status.error_code,
            error_title=status.error_title,
            error_message=status.error_message,
            pricing=status.pricing,
        )
        link = await self._link_or_pend(
            keys=[self._keys.wamid_link(status.wamid), self._keys.wamid_pending(status.wamid)],
            args=[raw, PENDING_STATUS_TTL_MS],
        )
        if not link:
            return "pending"
        conversation_id, message_key = as_str(link).split(" ", 1)
        applied = await self._apply(conversation_id, message_key, orjson.loads(raw), raw)
        return "applied" if applied == 1 else "duplicate"

    async def _apply(
        self, conversation_id: str, message_key: str, event: dict[str, Any], raw: bytes
    ) -> int:
        status = str(event["status"])
        code = event.get("error_code")
        result: int = await self._apply_status(
            keys=[
                self._keys.message(conversation_id, message_key),
                self._keys.message_statuses(conversation_id, message_key),
            ],
            args=[
                status,
                STATUS_RANK.get(status, -1),
                event["timestamp_ms"],
                "" if code is None else code,
                event.get("error_title") or "",
                event.get("error_message") or "",
                raw,
            ],
        )
        return result

    # -- reads -----------------------------------------------------------------------------

    async def _conversation_of(self, message_id: str) -> str | None:
        value = await self._redis.get(self._keys.message_id_link(message_id))
        return as_str(value) if value else None

    async def get(self, conversation_id: str, message_key: str) -> dict[str, Any] | None:
        raw = await self._redis.hgetall(self._keys.message(conversation_id, message_key))
        if not raw:
            return None
        fields = {as_str(key): as_str(value) for key, value in raw.items()}
        statuses = await self._redis.lrange(
            self._keys.message_statuses(conversation_id, message_key), 0, -1
        )
        return _public_message(conversation_id, fields, [orjson.loads(s) for s in statuses])

    async def get_by_message_id(self, message_id: str) -> dict[str, Any] | None:
        conversation_id = await self._conversation_of(message_id)
        if conversation_id is None:
            return None
        return await self.get(conversation_id, message_id)

    async def get_by_wamid(self, wamid: str) -> dict[str, Any] | None:
        """Return the message, or what its parked statuses tell about it, or None."""
        link = await self._redis.get(self._keys.wamid_link(wamid))
        if link:
            conversation_id, message_key = as_str(link).split(" ", 1)
            return await self.get(conversation_id, message_key)

        parked = [
            orjson.loads(raw) for raw in await self._redis.smembers(self._keys.wamid_pending(wamid))
        ]
        if not parked:
            return None
        parked.sort(key=lambda event: (event["timestamp_ms"], STATUS_RANK.get(event["status"], -1)))
        final = max(parked, key=lambda event: STATUS_RANK.get(event["status"], -1))
        errors = [event for event in parked if event.get("error_code") is not None]
        return {
            "wamid": wamid,
            "direction": "out",
            "conversation_id": None,
            "status": final["status"],
            "error_code": errors[0]["error_code"] if errors else None,
            "statuses": parked,
        }

    async def history(
        self, conversation_id: str, limit: int = 100, before_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Return up to `limit` messages of a conversation, oldest first."""
        upper = "+inf" if before_ms is None else f"({before_ms}"
        keys = await self._redis.zrevrangebyscore(
            self._keys.history(conversation_id), upper, "-inf", start=0, num=limit
        )
        items = []
        for key in reversed(keys):
            message = await self.get(conversation_id, as_str(key))
            if message is not None:
                items.append(message)
        return items


def _public_message(
    conversation_id: str, fields: dict[str, str], statuses: list[dict[str, Any]]
) -> dict[str, Any]:
    direction = fields.get("direction", "in")
    message: dict[str, Any] = {
        "wamid": fields.get("wamid") or None,
        "message_id": fields.get("message_id") or None,
        "conversation_id": conversation_id,
        "direction": direction,
        "type": fields.get("type"),
        "text": fields.get("text") or None,
        "timestamp_ms": int(fields.get("timestamp_ms", "0")),
    }
    if fields.get("payload"):
        message["payload"] = fields["payload"]
    if fields.get("context_wamid"):
        message["context_wamid"] = fields["context_wamid"]
    if fields.get("content"):
        message["content"] = orjson.loads(fields["content"])
    if fields.get("errors"):
        message["errors"] = orjson.loads(fields["errors"])
    if direction == "out" or statuses:
        message["status"] = fields.get("status")
        message["error_code"] = int(fields["error_code"]) if fields.get("error_code") else None
        message["statuses"] = statuses
    return message
