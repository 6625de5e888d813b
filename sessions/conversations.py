"""Conversations: one per (business phone_number_id, customer), created or reopened by messages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from common.text import as_str
from sessions.keys import SessionKeys


def conversation_id_for(phone_number_id: str, customer_id: str) -> str:
    """Return the conversation id of a (business number, customer) pair.

    Deterministic, so that every process and every redelivery finds the same conversation
    without a lookup, and opaque, so that ids in logs and URLs reveal no phone number.
    """
    digest = hashlib.sha256(f"{phone_number_id}:{customer_id}".encode()).hexdigest()
    return "c_" + digest[:24]


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    phone_number_id: str
    customer_id: str
    wa_id: str | None
    user_id: str | None
    created_at_ms: int
    last_customer_message_at_ms: int | None
    referral_at_ms: int | None
    referral: dict[str, Any] | None
    fields: dict[str, str]  # every stored field, for the window and routing readers


def _int(value: str | None) -> int | None:
    return int(value) if value else None


class ConversationStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = SessionKeys(prefix)

    async def get(self, conversation_id: str) -> Conversation | None:
        raw = await self._redis.hgetall(self._keys.conversation(conversation_id))
        if not raw:
            return None
        fields = {as_str(key): as_str(value) for key, value in raw.items()}
        return Conversation(
            id=fields["id"],
            phone_number_id=fields.get("phone_number_id", ""),
            customer_id=fields.get("customer_id", ""),
            wa_id=fields.get("wa_id") or None,
            user_id=fields.get("user_id") or None,
            created_at_ms=int(fields.get("created_at_ms", "0")),
            last_customer_message_at_ms=_int(fields.get("last_customer_message_at_ms")),
            referral_at_ms=_int(fields.get("referral_at_ms")),
            referral=orjson.loads(fields["referral"]) if fields.get("referral") else None,
            fields=fields,
        )

    async def list_ids(self, limit: int = 200, offset: int = 0) -> list[str]:
        """Return conversation ids, newest first."""
        ids = await self._redis.zrevrange(self._keys.conversations(), offset, offset + limit - 1)
        return [as_str(value) for value in ids]

    async def ensure(
        self,
        conversation_id: str,
        *,
        phone_number_id: str,
        customer_id: str,
        wa_id: str | None,
        created_at_ms: int,
    ) -> None:
        """Create the conversation record if it is missing, as a business-started send does.

        Every field is written with HSETNX, so a record that a customer message created
        first, or creates at the same moment, keeps its own values.
        """
        key = self._keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "id", conversation_id)
            pipe.hsetnx(key, "phone_number_id", phone_number_id)
            pipe.hsetnx(key, "customer_id", customer_id)
            pipe.hsetnx(key, "created_at_ms", created_at_ms)
            if wa_id:
                pipe.hsetnx(key, "wa_id", wa_id)
            pipe.zadd(self._keys.conversations(), {conversation_id: created_at_ms}, nx=True)
            await pipe.execute()

    async def index(self, conversation_id: str, created_at_ms: int) -> None:
        await self._redis.zadd(
            self._keys.conversations(), {conversation_id: created_at_ms}, nx=True
        )

    async def resolve_customer_id(
        self, phone_number_id: str, wa_id: str | None, user_id: str | None
    ) -> str:
        """Return the customer id for a sender, remembering wa_id -> user id links.

        A customer who is known by a business-scoped user id keeps it when a later update
        carries only the wa_id.
        """
        if user_id:
            if wa_id:
                await self._redis.set(self._keys.identity(phone_number_id, wa_id), user_id)
            return user_id
        if not wa_id:
            msg = "a customer needs a wa_id or a business-scoped user id"
            raise ValueError(msg)
        known = await self._redis.get(self._keys.identity(phone_number_id, wa_id))
        return as_str(known) if known else wa_id

    async def link_number_change(
        self, phone_number_id: str, customer_id: str, new_wa_id: str
    ) -> None:
        """Map a customer's new number to the same customer (system `user_changed_number`)."""
        await self._redis.set(self._keys.identity(phone_number_id, new_wa_id), customer_id)
        conversation_id = conversation_id_for(phone_number_id, customer_id)
        await self._redis.hset(
            self._keys.conversation(conversation_id), mapping={"wa_id": new_wa_id}
        )
