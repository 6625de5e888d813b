"""Apply the updates of one stored webhook body: messages, statuses and other changes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import orjson
import structlog
from redis.asyncio import Redis

from common.clock import Clock
from gateway.inbound.hooks import InboundHooks
from gateway.inbound.parse import ParsedUpdate, parse_body
from gateway.keys import GatewayKeys
from gateway.logs import pseudonym
from routing.intake import Intake
from sessions.conversations import ConversationStore, conversation_id_for
from sessions.messages import MessageStore
from sessions.model import FieldEvent, InboundMessage, StatusUpdate

log = structlog.get_logger(__name__)

FIELD_EVENTS_MAXLEN = 100_000
FIELD_EVENT_SEEN_TTL_S = 8 * 24 * 3600
# Webhook fields the gateway stores for its features; Meta's other fields are ignored.
KNOWN_FIELDS = frozenset(
    {
        "messages.errors",
        "user_preferences",
        "account_update",
        "calls",
        "message_template_status_update",
        "template_category_update",
        "message_template_quality_update",
        "message_template_components_update",
        "phone_number_quality_update",
        "phone_number_name_update",
        "account_review_update",
        "account_alerts",
        "business_capability_update",
        "security",
    }
)
# Message types that reach the assigned agent but never open or enqueue a conversation.
NON_ROUTING_TYPES = frozenset({"reaction", "system", "edit", "revoke"})


@dataclass
class BodyOutcome:
    applied: int = 0
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (locator, error)


class InboundProcessor:
    def __init__(
        self, redis: Redis, prefix: str, clock: Clock, hooks: InboundHooks | None = None
    ) -> None:
        self._redis = redis
        self._keys = GatewayKeys(prefix)
        self._clock = clock
        self._hooks = hooks or InboundHooks()
        self.conversations = ConversationStore(redis, prefix)
        self.messages = MessageStore(redis, prefix, clock)
        self.intake = Intake(redis, prefix, clock)

    async def process_body(
        self,
        body: bytes,
        received_ms: int,
        on_progress: Callable[[], Awaitable[None]] | None = None,
    ) -> BodyOutcome:
        """Apply every update; failures are collected per update, never raised.

        `on_progress` runs after each update, so that a worker can keep its claim on a body
        of a thousand updates alive.
        """
        outcome = BodyOutcome()
        for parsed in parse_body(body, received_ms):
            await self._process_one(parsed, outcome)
            if on_progress is not None:
                await on_progress()
        return outcome

    async def _process_one(self, parsed: ParsedUpdate, outcome: BodyOutcome) -> None:
        if parsed.update is None:
            outcome.failures.append((parsed.locator, parsed.error or "unparseable update"))
            log.warning("update_unparseable", locator=parsed.locator)
            return

        started = time.perf_counter()
        structlog.contextvars.bind_contextvars(locator=parsed.locator)
        try:
            result = await self._apply(parsed.update)
            if result == "duplicate":
                outcome.duplicates += 1
            else:
                outcome.applied += 1
            log.info(
                "update_processed",
                kind=type(parsed.update).__name__,
                outcome=result,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        except Exception as exc:  # one failing update must not stop the others
            outcome.failures.append((parsed.locator, f"{type(exc).__name__}: {exc}"))
            log.exception("update_failed", error_type=type(exc).__name__)
        finally:
            structlog.contextvars.unbind_contextvars("locator", "wamid", "conversation_id")

    async def _apply(self, update: InboundMessage | StatusUpdate | FieldEvent) -> str:
        if isinstance(update, InboundMessage):
            return await self._apply_message(update)
        if isinstance(update, StatusUpdate):
            return await self._apply_status(update)
        return await self._apply_field(update)

    async def _apply_message(self, message: InboundMessage) -> str:
        customer = message.customer
        customer_id = await self.conversations.resolve_customer_id(
            message.phone_number_id, customer.wa_id, customer.user_id
        )
        conversation_id = conversation_id_for(message.phone_number_id, customer_id)
        structlog.contextvars.bind_contextvars(wamid=message.wamid, conversation_id=conversation_id)
        if customer_id != customer.customer_id:
            message = _with_customer_id(message, customer_id)

        stored = await self.messages.store_inbound(conversation_id, message)
        if not stored.is_new and stored.processed:
            return "duplicate"
        if stored.conversation_created:
            await self.conversations.index(conversation_id, self._clock.now_ms())

        await self._follow_up(conversation_id, message)
        await self.messages.mark_processed(conversation_id, message.wamid)
        return "stored" if stored.is_new else "resumed"

    async def _follow_up(self, conversation_id: str, message: InboundMessage) -> None:
        """Steps after storing; each is idempotent, because a worker may die before the end."""
        if message.type == "system" and message.content.get("type") == "user_changed_number":
            new_wa_id = message.content.get("wa_id")
            if new_wa_id:
                await self.conversations.link_number_change(
                    message.phone_number_id, message.customer.customer_id, str(new_wa_id)
                )

        # NOTE: reactions, edits and revokes never reach routing, so the agent assigned to the
        # conversation sees them only in the history, not as a live `message` event.
        if message.type not in NON_ROUTING_TYPES:
            referral_source = (message.referral or {}).get("source_type")
            routed = await self.intake.on_customer_message(
                conversation_id,
                phone_number_id=message.phone_number_id,
                referral_source=referral_source,
                customer_id=message.customer.customer_id,
                wamid=message.wamid,
                message_type=message.type,
                timestamp_ms=message.timestamp_ms,
            )
            log.debug(
                "inbound_routed", outcome=routed, customer=pseudonym(message.customer.customer_id)
            )

        for hook in self._hooks.on_message:
            await hook(message, conversation_id)

    async def _apply_status(self, status: StatusUpdate) -> str:
        structlog.contextvars.bind_contextvars(wamid=status.wamid)
        result = await self.messages.apply_status(status)
        if result == "duplicate":
            return "duplicate"
        for hook in self._hooks.on_status:
            await hook(status)
        return result

    async def _apply_field(self, event: FieldEvent) -> str:
        if event.field not in KNOWN_FIELDS:
            log.debug("field_ignored", field=event.field)
            return "ignored"
        # SET NX first: a redelivered change must not be stored twice. If a hook fails,
        # the marker is removed again so that the retry runs the hooks.
        seen_key = self._keys.field_event_seen(event.event_id)
        if not await self._redis.set(seen_key, "1", nx=True, ex=FIELD_EVENT_SEEN_TTL_S):
            return "duplicate"
        try:
            await self._redis.xadd(
                self._keys.field_events(),
                {
                    "field": event.field,
                    "event_id": event.event_id,
                    "phone_number_id": event.phone_number_id or "",
                    "waba_id": event.waba_id or "",
                    "received_ms": str(event.received_ms),
                    "value": orjson.dumps(event.value),
                },
                maxlen=FIELD_EVENTS_MAXLEN,
                approximate=True,
            )
            for hook in self._hooks.on_field:
                await hook(event)
        except BaseException:
            await self._redis.delete(seen_key)
            raise
        log.debug("field_event_stored", field=event.field, event_id=event.event_id)
        return "stored"


def _with_customer_id(message: InboundMessage, customer_id: str) -> InboundMessage:
    return replace(message, customer=replace(message.customer, customer_id=customer_id))
