"""Withdrawals: STOP keywords, Meta's marketing opt-outs, the business's opt-out button, agents.

GDPR Art. 7(3): withdrawing must be as easy as giving consent, and it takes effect at once.
The gate reads the state written here on its very next decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from consent.errors import InvalidPhone
from consent.keywords import StopKeywords
from consent.ledger import Ledger
from consent.model import (
    CHANNEL_WHATSAPP,
    AppendedEvent,
    ConsentRecord,
    EventType,
    Method,
    State,
    state_field,
)

log = structlog.get_logger(__name__)

DEFAULT_OPTOUT_PAYLOADS = (
    "OPT_OUT",
    "OPTOUT",
    "STOP",
    "STOP_PROMOTIONS",
    "UNSUBSCRIBE",
    "ABMELDEN",
)
MARKETING = "marketing"
USER_STOPPED_MARKETING = (
    131050  # Meta error: the user stopped marketing messages from this business
)


@dataclass(frozen=True, slots=True)
class Contact:
    """The contact of a withdrawal: the wa_id (digits) when Meta sent one, else the business-scoped
    user id.
    """

    wa_id: str | None
    user_id: str | None = None


class Withdrawals:
    def __init__(
        self,
        ledger: Ledger,
        *,
        keywords: StopKeywords | None = None,
        optout_payloads: Iterable[str] = DEFAULT_OPTOUT_PAYLOADS,
    ) -> None:
        self.ledger = ledger
        self.keywords = keywords or StopKeywords()
        self.optout_payloads = frozenset(payload.strip().upper() for payload in optout_payloads)

    async def on_keyword(
        self, *, business: str, contact: Contact, text: str | None, wamid: str, timestamp_ms: int
    ) -> list[AppendedEvent] | None:
        """Withdraw every WhatsApp purpose when the whole message is a STOP keyword.

        None when it is not.
        """
        if not self.keywords.matches(text):
            return None
        return await self.withdraw(
            business=business,
            contact=contact,
            purposes=self.ledger.purposes,
            method=Method.KEYWORD,
            evidence=wamid,
            occurred_ms=timestamp_ms,
            idempotency_key=f"keyword:{wamid}",
            detail="STOP keyword",
            skip_withdrawn=True,
        )

    def is_optout_button(self, message_type: str, payload: str | None) -> bool:
        return (
            message_type in ("button", "interactive")
            and (payload or "").strip().upper() in self.optout_payloads
        )

    async def on_optout_button(
        self, *, business: str, contact: Contact, wamid: str, timestamp_ms: int
    ) -> list[AppendedEvent]:
        """Withdraw marketing after a tap on the business's own opt-out quick-reply button."""
        return await self.withdraw(
            business=business,
            contact=contact,
            purposes=[MARKETING],
            method=Method.WHATSAPP_BUTTON,
            evidence=wamid,
            occurred_ms=timestamp_ms,
            idempotency_key=f"button:{wamid}",
            detail="opt-out button",
        )

    async def on_send_failed(
        self,
        *,
        business: str,
        contact: Contact,
        wamid: str,
        error_code: int | None,
        timestamp_ms: int,
    ) -> list[AppendedEvent]:
        """Withdraw marketing after a send failed with 131050 (user stopped marketing messages)."""
        if error_code != USER_STOPPED_MARKETING:
            return []
        return await self.withdraw(
            business=business,
            contact=contact,
            purposes=[MARKETING],
            method=Method.META_PREFERENCES,
            evidence=wamid,
            occurred_ms=timestamp_ms,
            idempotency_key=f"status131050:{wamid}",
            detail="send failed with 131050: user stopped marketing messages",
        )

    async def on_user_preferences(
        self, *, business: str, value: dict[str, Any], event_id: str, received_ms: int
    ) -> list[AppendedEvent]:
        """Apply Meta's `user_preferences` webhook: `stop` withdraws marketing, `resume` is only
        recorded.
        """
        written: list[AppendedEvent] = []
        for index, preference in enumerate(value.get("user_preferences") or []):
            if preference.get("category") != "marketing_messages":
                continue
            action = preference.get("value")
            if action not in ("stop", "resume"):
                log.warning("consent_preference_unknown", business=business, value=str(action)[:32])
                continue
            contact = Contact(
                wa_id=preference.get("wa_id") or None, user_id=preference.get("user_id") or None
            )
            timestamp_s = preference.get("timestamp")
            occurred_ms = int(timestamp_s) * 1000 if timestamp_s else received_ms
            written += await self.withdraw(
                business=business,
                contact=contact,
                purposes=[MARKETING],
                method=Method.META_PREFERENCES,
                evidence=f"user_preferences:{event_id}:{index}",
                occurred_ms=occurred_ms,
                idempotency_key=f"preferences:{event_id}:{index}",
                event_type=EventType.WITHDRAWN if action == "stop" else EventType.RESUMED,
                detail=str(preference.get("detail") or f"Meta user preference: {action}")[:200],
            )
        return written

    async def withdraw(
        self,
        *,
        business: str,
        contact: Contact,
        purposes: Iterable[str],
        method: Method,
        evidence: str | None,
        occurred_ms: int,
        idempotency_key: str | None,
        actor: str = "customer",
        detail: str | None = None,
        event_type: EventType = EventType.WITHDRAWN,
        skip_withdrawn: bool = False,
    ) -> list[AppendedEvent]:
        """Record a withdrawal (or Meta's resume) of `purposes` on WhatsApp for one contact."""
        phone, subject = await self._resolve(business, contact)
        if subject is None:
            log.info("consent_withdrawal_unknown_contact", business=business, evidence=evidence)
            return []

        purposes = list(purposes)
        if skip_withdrawn:
            # A repeated STOP adds nothing new for purposes that are already withdrawn.
            states = await self.ledger.states_of_subject(business, subject)
            open_purposes = [
                purpose
                for purpose in purposes
                if states.get(state_field(CHANNEL_WHATSAPP, purpose), None) is None
                or states[state_field(CHANNEL_WHATSAPP, purpose)].state is not State.WITHDRAWN
            ]
            purposes = open_purposes or purposes[:1]

        records = [
            ConsentRecord(
                business_number=business,
                phone=phone or "",
                subject=subject,
                purpose=purpose,
                type=event_type,
                method=method,
                occurred_ms=occurred_ms,
                evidence=evidence,
                actor=actor,
                detail=detail,
                user_id=contact.user_id,
            )
            for purpose in purposes
        ]
        return await self.ledger.append(records, idempotency_key=idempotency_key)

    async def _resolve(self, business: str, contact: Contact) -> tuple[str | None, str | None]:
        if contact.wa_id:
            try:
                phone, subject = self.ledger.subject_of(contact.wa_id)
            except InvalidPhone:
                log.warning("consent_contact_invalid_wa_id", business=business)
            else:
                return phone, subject
        if contact.user_id:
            return None, await self.ledger.subject_of_user(business, contact.user_id)
        return None, None
