"""Erase one person's personal fields (GDPR Art. 17) while the ledger still verifies.

The chain covers only salted digests of phone, user id, IP and user agent. Deleting the stored
values and their salts leaves digests that can no longer be linked to the person. The keyed
subject id stays in the ledger, in the state and on the suppression list, so a withdrawal keeps
being honoured and an old consent cannot come back through an import or CRM sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from consent.ledger import Ledger
from consent.model import ConsentRecord, EventType, Method, State

log = structlog.get_logger(__name__)

# States in which a message could still be sent or a confirmation still complete.
OPEN_STATES = frozenset({State.ACTIVE, State.PENDING_CONFIRMATION, State.UNVERIFIED})


@dataclass(frozen=True, slots=True)
class ErasureReport:
    subject: str
    businesses: list[str]
    withdrawn: int
    erased_events: int


async def erase_subject(ledger: Ledger, phone: str, *, actor: str) -> ErasureReport:
    """Withdraw every open consent of `phone`, delete its personal fields, and suppress it."""
    e164, subject = ledger.subject_of(phone)
    now_ms = ledger.clock.now_ms()
    withdrawn = 0
    erased = 0
    touched: list[str] = []

    for business in await ledger.businesses():
        states = await ledger.states_of_subject(business, subject)
        records = [
            _withdrawal(business, e164, field, actor, now_ms)
            for field, state in states.items()
            if state.state in OPEN_STATES
        ]
        if records:
            await ledger.append(records, idempotency_key=f"erasure:{subject}:{now_ms}")
            withdrawn += len(records)

        personal_key = ledger.keys.personal(business, subject)
        count = await ledger.redis.hlen(personal_key)
        if count or states:
            touched.append(business)
        erased += count
        await ledger.redis.delete(personal_key)

    await ledger.redis.hset(ledger.keys.suppressed, subject, now_ms)
    log.info(
        "consent_subject_erased",
        subject=subject,
        businesses=len(touched),
        withdrawn=withdrawn,
        erased_events=erased,
    )
    return ErasureReport(subject, touched, withdrawn, erased)


def _withdrawal(business: str, phone: str, field: str, actor: str, now_ms: int) -> ConsentRecord:
    channel, _, purpose = field.partition(":")
    return ConsentRecord(
        business_number=business,
        phone=phone,
        channel=channel,
        purpose=purpose,
        type=EventType.WITHDRAWN,
        method=Method.AGENT,
        occurred_ms=now_ms,
        actor=actor,
        detail="erasure request (GDPR Art. 17)",
    )
