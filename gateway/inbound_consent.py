"""Consent reactions of inbound processing: opt-in codes, STOP keywords, Meta's opt-outs.

Registered as inbound hooks. Each hook may run more than once for the same update, because
the work of a worker that died mid-way is retried. So every ledger write is keyed on the
evidence (the wamid or the webhook change id), and each reply is sent at most once per wamid.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from consent.forms import FormStore
from consent.messages import message as customer_message
from consent.messages import purpose_names
from consent.model import AppendedEvent, Method
from consent.withdrawal import MARKETING, USER_STOPPED_MARKETING, Contact
from gateway.appkeys import REDIS, SETTINGS
from gateway.inbound.hooks import INBOUND_HOOKS, InboundHooks
from sessions.model import FieldEvent, InboundMessage, StatusUpdate

log = structlog.get_logger(__name__)

REPLY_MARKER_TTL_S = 30 * 24 * 3600
TEXT_TYPES = ("text", "button", "interactive")


class ConsentReactions:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    @property
    def services(self):  # type: ignore[no-untyped-def]  # ConsentServices; imported late to avoid a cycle
        from gateway.consent_feature import CONSENT

        return self.app[CONSENT]

    async def on_message(self, message: InboundMessage, conversation_id: str) -> None:
        """Withdraw on a STOP keyword or opt-out button, or confirm an opt-in code.

        Reply inside the window.
        """
        if message.type not in TEXT_TYPES:
            return
        services = self.services
        business = message.phone_number_id
        contact = Contact(wa_id=message.customer.wa_id, user_id=message.customer.user_id)

        withdrawn = await services.withdrawals.on_keyword(
            business=business,
            contact=contact,
            text=message.text,
            wamid=message.wamid,
            timestamp_ms=message.timestamp_ms,
        )
        if withdrawn is not None:
            await self._reply(
                business,
                conversation_id,
                message.wamid,
                customer_message(
                    "stop_confirmed",
                    await self._language(business, withdrawn),
                    business=await self._name(message),
                ),
            )
            return

        if services.withdrawals.is_optout_button(message.type, message.payload):
            await services.withdrawals.on_optout_button(
                business=business,
                contact=contact,
                wamid=message.wamid,
                timestamp_ms=message.timestamp_ms,
            )
            return

        confirmation = await services.optins.confirm(
            business=business,
            wa_id=message.customer.wa_id,
            user_id=message.customer.user_id,
            text=message.text,
            wamid=message.wamid,
            timestamp_ms=message.timestamp_ms,
        )
        if confirmation is None:
            return
        if confirmation.status == "confirmed":
            text = customer_message(
                "optin_confirmed",
                confirmation.language,
                business=await self._name(message),
                purposes=purpose_names(confirmation.purposes, confirmation.language),
            )
            await self._reply(business, conversation_id, message.wamid, text)
        elif confirmation.status == "expired":
            await self._reply(
                business,
                conversation_id,
                message.wamid,
                customer_message(
                    "optin_expired", confirmation.language, business=await self._name(message)
                ),
            )

    async def on_status(self, status: StatusUpdate) -> None:
        """Withdraw marketing after a send failed with 131050 (user stopped marketing messages)."""
        if status.status != "failed" or status.error_code is None:
            return
        await self.services.withdrawals.on_send_failed(
            business=status.phone_number_id,
            contact=Contact(wa_id=status.recipient_id or None, user_id=status.recipient_user_id),
            wamid=status.wamid,
            error_code=status.error_code,
            timestamp_ms=status.timestamp_ms,
        )

    async def on_field(self, event: FieldEvent) -> None:
        """Apply Meta's `user_preferences` webhook: `stop` withdraws marketing, `resume` is recorded
        only.
        """
        if event.field != "user_preferences" or not event.phone_number_id:
            return
        await self.services.withdrawals.on_user_preferences(
            business=event.phone_number_id,
            value=event.value,
            event_id=event.event_id,
            received_ms=event.received_ms,
        )

    async def on_send_failure(self, failure: Any) -> None:
        """Withdraw marketing when a send was rejected with 131050 in the Graph API's response.

        `failure` is the outbound path's `OutboundFailureEvent`; a 131050 that arrives as a
        failed status webhook is handled by `on_status` instead.
        """
        if failure.code != USER_STOPPED_MARKETING or failure.source == "status":
            return
        customer = str(failure.customer_id)
        contact = Contact(
            wa_id=customer if customer.isdigit() else None,
            user_id=None if customer.isdigit() else customer,
        )
        await self.services.withdrawals.withdraw(
            business=failure.phone_number_id,
            contact=contact,
            purposes=[MARKETING],
            method=Method.META_PREFERENCES,
            evidence=f"send {failure.message_id} rejected with 131050",
            occurred_ms=int(failure.at_ms),
            idempotency_key=f"send131050:{failure.message_id}",
            detail="send rejected with 131050: user stopped marketing messages",
        )

    async def _name(self, message: InboundMessage) -> str:
        """Return the business name the customer agreed to: the setting, else the default
        form's name, else the business number."""
        settings = self.app[SETTINGS]
        if settings.consent_business_name:
            return settings.consent_business_name
        form = await FormStore(self.app[REDIS], settings.redis_prefix).get("default")
        if form is not None and form.business_name:
            return form.business_name
        return message.display_phone_number or "WhatsApp"

    async def _language(self, business: str, withdrawn: list[AppendedEvent]) -> str:
        """Return the language of the customer's newest event that has one; German by default."""
        if not withdrawn:
            return "de"
        history = await self.services.ledger.history(business, str(withdrawn[0].event["subject"]))
        for event in reversed(history):
            if event.get("language"):
                return str(event["language"])
        return "de"

    async def _reply(self, business: str, conversation_id: str, wamid: str, text: str) -> None:
        # At most once per inbound wamid: the marker is set before sending, so a retried hook
        # never sends a second reply (a lost reply is better than a repeated one here).
        marker = self.services.ledger.keys.reply_sent(business, wamid)
        if not await self.app[REDIS].set(marker, "1", nx=True, ex=REPLY_MARKER_TTL_S):
            return
        await send_consent_reply(self.app, conversation_id, text)


async def send_consent_reply(app: web.Application, conversation_id: str, text: str) -> None:
    """Send a consent confirmation inside the window that the customer's message just opened."""
    try:
        from gateway.outbound.service import OUTBOUND, OutboundError
    except ImportError:
        log.warning(
            "consent_reply_not_sent", conversation_id=conversation_id, reason="no outbound service"
        )
        return
    if OUTBOUND not in app:
        log.warning(
            "consent_reply_not_sent",
            conversation_id=conversation_id,
            reason="outbound feature not set up",
        )
        return
    try:
        message_id = await app[OUTBOUND].send_text(
            conversation_id, text, reason="consent_confirmation"
        )
    except OutboundError as exc:
        log.warning("consent_reply_failed", conversation_id=conversation_id, error=str(exc))
        return
    log.info("consent_reply_queued", conversation_id=conversation_id, message_id=message_id)


def setup(app: web.Application) -> None:
    if INBOUND_HOOKS not in app:
        app[INBOUND_HOOKS] = InboundHooks()
    reactions = ConsentReactions(app)
    hooks = app[INBOUND_HOOKS]
    hooks.on_message.append(reactions.on_message)
    hooks.on_status.append(reactions.on_status)
    hooks.on_field.append(reactions.on_field)
    _register_send_failures(app, reactions)


def _register_send_failures(app: web.Application, reactions: ConsentReactions) -> None:
    # The outbound feature reports sends that Meta rejected at once (no status webhook follows).
    try:
        from gateway.outbound.feature import OUTBOUND_HOOKS
    except ImportError:
        return
    if OUTBOUND_HOOKS not in app:
        log.warning(
            "consent_send_failures_not_hooked", detail="set up gateway.outbound.feature first"
        )
        return
    app[OUTBOUND_HOOKS].on_failure.append(reactions.on_send_failure)
