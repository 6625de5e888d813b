"""Double opt-in: a given consent waits for a one-time code sent from the customer's own number.

The form (or a checkout) records `given` events and hands out a code inside a `wa.me` link.
When a message with that code arrives from the same number within the validity, the consent
becomes active, with that message's wamid as evidence that the customer controls the number.
The gateway itself never sends an unsolicited "please confirm" message.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

import orjson
import structlog

from consent.errors import InvalidPhone, InvalidTransition
from consent.ledger import Ledger
from consent.messages import message
from consent.model import (
    AppendedEvent,
    ConsentRecord,
    EventType,
    Method,
    State,
    as_text,
    state_field,
)
from consent.texts import TextVersion

log = structlog.get_logger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get typed by hand too
CODE_PATTERN = re.compile(r"(?<![A-Z0-9])([A-HJ-NP-Z2-9]{4})-?([A-HJ-NP-Z2-9]{4})(?![A-Z0-9])")
# After the deadline the code key is kept a while longer, so that a late code is recognised as
# expired.
CODE_GRACE_MS = 7 * 24 * 3600 * 1000


def new_code() -> str:
    """Return a code like `K7F2-9QX4`.

    It always contains a digit, so that words never look like codes.
    """
    while True:
        chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if any(char.isdigit() for char in chars):
            return chars[:4] + "-" + chars[4:]


def find_code(text: str | None) -> str | None:
    """Return the first opt-in code in a message, normalised to `XXXX-XXXX`."""
    if not text:
        return None
    for match in CODE_PATTERN.finditer(text.upper()):
        code = f"{match.group(1)}-{match.group(2)}"
        if any(char.isdigit() for char in code):
            return code
    return None


def wa_me_link(business_display_number: str, text: str) -> str:
    """Return a click-to-chat link to the business number with a prefilled text."""
    digits = "".join(char for char in business_display_number if char.isdigit())
    return f"https://wa.me/{digits}?text={quote(text)}"


@dataclass(frozen=True, slots=True)
class FormOutcome:
    """The events recorded for one form submission.

    `code` is set when at least one purpose was given.
    """

    given: list[AppendedEvent]
    refused: list[AppendedEvent]
    code: str | None = None
    expires_ms: int | None = None
    link: str | None = None
    prefill: str | None = None


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The outcome of a message that carried a code.

    `status` is confirmed, expired, wrong_number, unknown_code or nothing_pending.
    """

    status: str
    code: str
    events: list[AppendedEvent] = field(default_factory=list)
    language: str | None = None
    purposes: list[str] = field(default_factory=list)


class OptIns:
    def __init__(self, ledger: Ledger, validity_ms: int = 24 * 3600 * 1000) -> None:
        self.ledger = ledger
        self.validity_ms = validity_ms

    async def record_submission(
        self,
        *,
        business: str,
        business_display_number: str,
        business_name: str,
        phone: str,
        shown: dict[str, TextVersion],
        ticked: set[str],
        language: str,
        method: Method = Method.WEB_FORM,
        capture_source: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        occurred_ms: int | None = None,
        actor: str = "customer",
    ) -> FormOutcome:
        """Record `given` for each ticked purpose and `refused` for each shown but unticked one."""
        occurred = occurred_ms if occurred_ms is not None else self.ledger.clock.now_ms()
        records = [
            ConsentRecord(
                business_number=business,
                phone=phone,
                purpose=purpose,
                type=EventType.GIVEN if purpose in ticked else EventType.REFUSED,
                method=method,
                occurred_ms=occurred,
                capture_source=capture_source,
                text_version_id=version.version_id,
                text_sha256=version.sha256,
                language=language,
                checkbox_default=False,
                ip=ip,
                user_agent=user_agent,
                actor=actor,
            )
            for purpose, version in shown.items()
        ]
        events = await self.ledger.append(records)
        given = [event for event in events if event.event["type"] == EventType.GIVEN.value]
        refused = [event for event in events if event.event["type"] == EventType.REFUSED.value]
        if not given:
            return FormOutcome(given=[], refused=refused)

        return await self.start_confirmation(
            business=business,
            business_display_number=business_display_number,
            business_name=business_name,
            given=given,
            refused=refused,
            language=language,
            occurred_ms=occurred,
        )

    async def start_confirmation(
        self,
        *,
        business: str,
        business_display_number: str,
        business_name: str,
        given: list[AppendedEvent],
        refused: list[AppendedEvent] | None = None,
        language: str,
        occurred_ms: int,
    ) -> FormOutcome:
        """Create the one-time code of a contact's `given` events and its wa.me link."""
        code = new_code()
        expires_ms = occurred_ms + self.validity_ms
        await self._store_code(business, code, given, language, expires_ms)
        prefill = message("optin_prefill", language, business=business_name, code=code)
        link = wa_me_link(business_display_number, prefill)
        return FormOutcome(given, refused or [], code, expires_ms, link, prefill)

    async def _store_code(
        self, business: str, code: str, given: list[AppendedEvent], language: str, expires_ms: int
    ) -> None:
        subject = str(given[0].event["subject"])
        data = {
            "subject": subject,
            "given": {str(event.event["purpose"]): event.event_id for event in given},
            "language": language,
            "expires_ms": expires_ms,
        }
        keys = self.ledger.keys
        ttl_ms = max(1, expires_ms - self.ledger.clock.now_ms()) + CODE_GRACE_MS
        async with self.ledger.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.code(business, code), orjson.dumps(data), px=ttl_ms)
            for event in given:
                pipe.zadd(
                    keys.pending(business),
                    {f"{subject}:{event.event['purpose']}:{event.event_id}": expires_ms},
                )
            await pipe.execute()

    async def confirm(
        self,
        *,
        business: str,
        wa_id: str | None,
        user_id: str | None,
        text: str | None,
        wamid: str,
        timestamp_ms: int,
    ) -> Confirmation | None:
        """Confirm the opt-in whose code `text` carries, if it came from the number that gave it.

        Returns None when the message carries no code. Idempotent per `wamid`.
        """
        code = find_code(text)
        if code is None:
            return None
        raw = await self.ledger.redis.get(self.ledger.keys.code(business, code))
        if raw is None:
            log.info("consent_code_unknown", business=business, wamid=wamid)
            return Confirmation("unknown_code", code)
        data = orjson.loads(raw)
        language = data.get("language")

        # NOTE: a username user arrives without a wa_id. Their code confirms only when their user
        # id was recorded with an earlier event; a web-form opt-in alone cannot be matched to them.
        sender = None
        if wa_id:
            try:
                sender = self.ledger.subject_of(wa_id)[1]
            except InvalidPhone:
                sender = None
        if sender is None and user_id:
            sender = await self.ledger.subject_of_user(business, user_id)
        if sender != data["subject"]:
            # The same code from another number proves nothing about the number that gave consent.
            log.warning("consent_code_wrong_number", business=business, wamid=wamid)
            return Confirmation("wrong_number", code, language=language)

        if timestamp_ms > int(data["expires_ms"]):
            events = await self._expire(business, data, wamid, timestamp_ms)
            return Confirmation("expired", code, events, language, list(data["given"]))
        return await self._confirm(business, data, code, wa_id, user_id, wamid, timestamp_ms)

    async def _confirm(
        self,
        business: str,
        data: dict[str, object],
        code: str,
        wa_id: str | None,
        user_id: str | None,
        wamid: str,
        timestamp_ms: int,
    ) -> Confirmation:
        given_ids: dict[str, str] = data["given"]  # type: ignore[assignment]
        subject = str(data["subject"])
        language = str(data.get("language") or "de")
        states = await self.ledger.states_of_subject(business, subject)
        given_events = {
            str(event["purpose"]): event
            for event in await self.ledger.events_by_id(business, list(given_ids.values()))
        }

        records = []
        for purpose, event_id in given_ids.items():
            current = states.get(state_field("whatsapp", purpose))
            if (
                current is None
                or current.state is not State.PENDING_CONFIRMATION
                or current.event_id != event_id
            ):
                continue
            given = given_events[purpose]
            records.append(
                ConsentRecord(
                    business_number=business,
                    phone="+" + wa_id if wa_id else "",
                    subject=subject,
                    purpose=purpose,
                    type=EventType.CONFIRMED,
                    method=Method.WHATSAPP_CODE,
                    occurred_ms=timestamp_ms,
                    capture_source="wa.me",
                    text_version_id=str(given["text_version_id"]),
                    text_sha256=str(given["text_sha256"]),
                    language=language,
                    user_id=user_id,
                    evidence=wamid,
                    detail=f"confirms {event_id}",
                )
            )
        if not records:
            return Confirmation("nothing_pending", code, language=language)

        try:
            events = await self.ledger.append(records, idempotency_key=f"code:{wamid}")
        except InvalidTransition:
            return Confirmation("nothing_pending", code, language=language)
        log.info("consent_confirmed", business=business, wamid=wamid, purposes=len(events))
        return Confirmation(
            "confirmed", code, events, language, [str(event.event["purpose"]) for event in events]
        )

    async def _expire(
        self, business: str, data: dict[str, object], wamid: str, timestamp_ms: int
    ) -> list[AppendedEvent]:
        subject = str(data["subject"])
        given_ids: dict[str, str] = data["given"]  # type: ignore[assignment]
        states = await self.ledger.states_of_subject(business, subject)
        records = [
            ConsentRecord(
                business_number=business,
                phone="",
                subject=subject,
                purpose=purpose,
                type=EventType.EXPIRED,
                method=Method.WHATSAPP_CODE,
                occurred_ms=timestamp_ms,
                evidence=wamid,
                actor="system",
                detail=f"code arrived after its deadline; expires {event_id}",
            )
            for purpose, event_id in given_ids.items()
            if (current := states.get(state_field("whatsapp", purpose))) is not None
            and current.state is State.PENDING_CONFIRMATION
            and current.event_id == event_id
        ]
        return await self.ledger.append(records, idempotency_key=f"code:{wamid}") if records else []

    async def expire_due(self, business: str) -> int:
        """Record `expired` for every opt-in whose confirmation deadline passed; return how many."""
        keys = self.ledger.keys
        now_ms = self.ledger.clock.now_ms()
        due = await self.ledger.redis.zrangebyscore(
            keys.pending(business), 0, now_ms, start=0, num=500
        )
        expired = 0
        for member in due:
            assert isinstance(
                member, bytes | str
            )  # ZRANGEBYSCORE without scores returns members only
            subject, purpose, event_id = as_text(member).split(":")
            current = (await self.ledger.states_of_subject(business, subject)).get(
                state_field("whatsapp", purpose)
            )
            if (
                current is not None
                and current.state is State.PENDING_CONFIRMATION
                and current.event_id == event_id
            ):
                record = ConsentRecord(
                    business_number=business,
                    phone="",
                    subject=subject,
                    purpose=purpose,
                    type=EventType.EXPIRED,
                    method=Method.WHATSAPP_CODE,
                    occurred_ms=now_ms,
                    actor="system",
                    detail=f"no confirmation before the deadline; expires {event_id}",
                )
                await self.ledger.append([record], idempotency_key=f"expire:{event_id}")
                expired += 1
            await self.ledger.redis.zrem(keys.pending(business), member)
        return expired
