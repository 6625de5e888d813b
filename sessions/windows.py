"""The 24 h customer service window and the 72 h free entry point window of a conversation.

WhatsApp accepts free-form messages only inside the service window: 24 hours from the
customer's newest message, by Meta's own timestamp. A chat that a click-to-WhatsApp ad or
page button started (`referral`) and that the business replies to within 24 hours also opens
a 72 hour free entry point window, in which every message is free, templates included.

Both windows are computed from fields of the conversation hash:

- `last_customer_message_at_ms`: max of Meta's message timestamps (inbound processing keeps it)
- `referral_at_ms`: timestamp of the newest customer message that carried a referral
- `first_business_reply_at_ms`: first business send after that referral (written here)
- `window_closed_for_ms`, `window_closed_at_ms`: Meta reported the window closed (131047)
  while `last_customer_message_at_ms` had the first value; a newer customer message reopens it
- `window_warned`: `<expires_at_ms>:<minutes>` of the last warning sent, so that each
  warning goes out once even with several processes scanning
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from common.clock import Clock
from common.lua import load_script
from sessions.keys import SessionKeys

SERVICE_WINDOW_MS = 24 * 3_600_000
FREE_ENTRY_POINT_MS = 72 * 3_600_000
# The business must reply to a referral within this time for the free entry point to open.
FREE_ENTRY_POINT_REPLY_WITHIN_MS = 24 * 3_600_000

WINDOW_FIELDS = (
    "last_customer_message_at_ms",
    "referral_at_ms",
    "first_business_reply_at_ms",
    "window_closed_for_ms",
    "window_closed_at_ms",
)


@dataclass(frozen=True, slots=True)
class Window:
    """The windows of one conversation at one moment."""

    open: bool
    expires_at_ms: int | None
    free_entry_point_open: bool
    free_entry_point_expires_at_ms: int | None
    last_customer_message_at_ms: int | None
    closed_by_meta: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the API view (`window` of a conversation)."""
        return {
            "open": self.open,
            "expires_at_ms": self.expires_at_ms,
            "free_entry_point_open": self.free_entry_point_open,
            "free_entry_point_expires_at_ms": self.free_entry_point_expires_at_ms,
            "closed_by_meta": self.closed_by_meta,
        }


def _int(value: str | bytes | None) -> int | None:
    if value is None or value in ("", b""):
        return None
    return int(value)


def compute_window(fields: Mapping[str, str | bytes | None], now_ms: int) -> Window:
    """Compute both windows from the conversation's fields at `now_ms`."""
    last_ms = _int(fields.get("last_customer_message_at_ms"))
    expires_at_ms = last_ms + SERVICE_WINDOW_MS if last_ms is not None else None

    # Meta's 131047 outranks our own arithmetic until the customer writes again.
    closed_for_ms = _int(fields.get("window_closed_for_ms"))
    closed_at_ms = _int(fields.get("window_closed_at_ms"))
    closed_by_meta = (
        closed_for_ms is not None
        and closed_at_ms is not None
        and (last_ms is None or last_ms <= closed_for_ms)
    )
    if closed_by_meta and closed_at_ms is not None and expires_at_ms is not None:
        expires_at_ms = min(expires_at_ms, closed_at_ms)

    free_expires_ms = _free_entry_point_expiry(fields)
    return Window(
        open=expires_at_ms is not None and now_ms < expires_at_ms and not closed_by_meta,
        expires_at_ms=expires_at_ms,
        free_entry_point_open=free_expires_ms is not None and now_ms < free_expires_ms,
        free_entry_point_expires_at_ms=free_expires_ms,
        last_customer_message_at_ms=last_ms,
        closed_by_meta=closed_by_meta,
    )


def _free_entry_point_expiry(fields: Mapping[str, str | bytes | None]) -> int | None:
    referral_ms = _int(fields.get("referral_at_ms"))
    reply_ms = _int(fields.get("first_business_reply_at_ms"))
    if referral_ms is None or reply_ms is None:
        return None

    if not referral_ms <= reply_ms <= referral_ms + FREE_ENTRY_POINT_REPLY_WITHIN_MS:
        return None
    # NOTE: the 72 h run from the business's first reply, because Meta's pricing pages describe
    # the window as opened by that reply; Meta's own `conversation.expiration_timestamp`
    # on a free entry point status is the authoritative value when one arrives.
    return reply_ms + FREE_ENTRY_POINT_MS


def warning_due(window: Window, now_ms: int, warn_minutes: Sequence[int]) -> int | None:
    """Return the tightest warning threshold (minutes) that `now_ms` has crossed, if any."""
    if not window.open or window.expires_at_ms is None:
        return None

    remaining_ms = window.expires_at_ms - now_ms
    crossed = [minutes for minutes in warn_minutes if remaining_ms <= minutes * 60_000]
    return min(crossed) if crossed else None


@dataclass(frozen=True, slots=True)
class WindowWarning:
    conversation_id: str
    expires_at_ms: int
    minutes: int


class WindowStore:
    """Read the windows, record business answers and Meta's closings, schedule warnings."""

    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self._redis = redis
        self._keys = SessionKeys(prefix)
        self._clock = clock
        self._business_reply = load_script(redis, "sessions", "window_business_reply.lua")
        self._close = load_script(redis, "sessions", "window_close.lua")
        self._claim_warning = load_script(redis, "sessions", "window_claim_warning.lua")
        self._customer_activity = load_script(redis, "sessions", "window_customer_activity.lua")

    async def get(self, conversation_id: str) -> Window | None:
        """Return the windows of a conversation, or None when the conversation is unknown."""
        key = self._keys.conversation(conversation_id)
        values = await self._redis.hmget(key, ["id", *WINDOW_FIELDS])
        if values[0] is None:
            return None
        fields = dict(zip(WINDOW_FIELDS, values[1:], strict=True))
        return compute_window(fields, self._clock.now_ms())

    async def record_business_reply(self, conversation_id: str, at_ms: int) -> bool:
        """Note a business send; return True when it opened a free entry point window."""
        key = self._keys.conversation(conversation_id)
        opened = await self._business_reply(
            keys=[key], args=[at_ms, FREE_ENTRY_POINT_REPLY_WITHIN_MS]
        )
        return bool(opened)

    async def record_customer_activity(self, conversation_id: str, at_ms: int) -> None:
        """Open or extend the service window from a customer event other than a message.

        Inbound messages update `last_customer_message_at_ms` in their own script; calls use
        this. The time only moves forward, so a late event never shortens the window.
        """
        key = self._keys.conversation(conversation_id)
        await self._customer_activity(keys=[key], args=[at_ms])
        await self.track(conversation_id)

    async def close_by_meta(self, conversation_id: str, sent_at_ms: int) -> bool:
        """Close the window after Meta rejected a send made at `sent_at_ms` with 131047.

        Returns False when the customer wrote after that send, because their newer message
        reopened the window and Meta's answer no longer applies.
        """
        key = self._keys.conversation(conversation_id)
        closed = await self._close(keys=[key], args=[sent_at_ms, self._clock.now_ms()])
        if closed:
            await self._redis.zrem(self._keys.window_expiry(), conversation_id)
        return bool(closed)

    async def track(self, conversation_id: str) -> None:
        """Put the conversation's current expiry into the expiry index (warnings, routing)."""
        window = await self.get(conversation_id)
        if window is None or window.expires_at_ms is None:
            return
        await self._redis.zadd(
            self._keys.window_expiry(), {conversation_id: window.expires_at_ms}, gt=True
        )

    async def expiry_of(self, conversation_ids: Sequence[str]) -> dict[str, int | None]:
        """Return the indexed service window expiry per conversation (for queue ordering)."""
        if not conversation_ids:
            return {}
        scores = await self._redis.zmscore(self._keys.window_expiry(), list(conversation_ids))
        return {
            conversation_id: int(score) if score is not None else None
            for conversation_id, score in zip(conversation_ids, scores, strict=True)
        }

    async def claim_due_warnings(
        self, warn_minutes: Sequence[int], limit: int = 500
    ) -> list[WindowWarning]:
        """Return the warnings due now, each claimed so that no other process sends it again.

        Expired windows leave the index here.
        """
        if not warn_minutes:
            return []
        now_ms = self._clock.now_ms()
        index = self._keys.window_expiry()
        await self._redis.zremrangebyscore(index, "-inf", now_ms)

        horizon_ms = now_ms + max(warn_minutes) * 60_000
        due = await self._redis.zrangebyscore(index, now_ms, horizon_ms, start=0, num=limit)
        warnings: list[WindowWarning] = []
        for raw_id in due:
            conversation_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            warning = await self._claim_one(conversation_id, now_ms, warn_minutes)
            if warning is not None:
                warnings.append(warning)
        return warnings

    async def _claim_one(
        self, conversation_id: str, now_ms: int, warn_minutes: Sequence[int]
    ) -> WindowWarning | None:
        # The index may lag behind the hash (a newer message, a close by Meta): the hash
        # is authoritative, and the index entry is corrected on the way.
        window = await self.get(conversation_id)
        if window is None or not window.open or window.expires_at_ms is None:
            await self._redis.zrem(self._keys.window_expiry(), conversation_id)
            return None
        await self._redis.zadd(
            self._keys.window_expiry(), {conversation_id: window.expires_at_ms}, gt=True
        )

        minutes = warning_due(window, now_ms, warn_minutes)
        if minutes is None:
            return None
        key = self._keys.conversation(conversation_id)
        claimed = await self._claim_warning(keys=[key], args=[window.expires_at_ms, minutes])
        if not claimed:
            return None
        return WindowWarning(conversation_id, window.expires_at_ms, minutes)
