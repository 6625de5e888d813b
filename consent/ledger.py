"""The consent ledger: append-only, hash-chained, one chain per business number.

`Ledger.append` validates records, derives the state each one leads to, chains them and
writes events, state and personal fields in one Lua script. Personal fields (phone, user id,
IP, user agent) live in a separate hash per contact: the chain covers only their salted
SHA-256 digests, so erasing them for one person leaves the chain verifiable.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis

from common.clock import Clock
from common.lua import load_script
from consent.chain import Head, seal
from consent.errors import ChainConflict, InvalidRecord, InvalidTransition, Suppressed
from consent.keys import ConsentKeys
from consent.model import (
    DEFAULT_PURPOSES,
    AppendedEvent,
    ConsentRecord,
    CurrentState,
    EventType,
    Method,
    State,
    as_text,
    state_field,
)
from consent.phones import DEFAULT_REGION, normalize_phone, subject_id, user_id_digest
from consent.rules import next_state, validate_record

log = structlog.get_logger(__name__)

MAX_APPEND_ATTEMPTS = 50
IDEMPOTENCY_TTL_MS = 30 * 24 * 3600 * 1000  # Meta redelivers webhooks for up to 7 days.
PERSONAL_FIELDS = ("phone", "user_id", "ip", "user_agent")
# Events that raise a state towards consent; they must not undo a newer refusal or withdrawal.
RAISING_EVENTS = frozenset({EventType.GIVEN, EventType.CONFIRMED, EventType.RECONFIRMED})
CLOSED_STATES = frozenset({State.WITHDRAWN, State.REFUSED, State.INVALIDATED})


def personal_digest(salt: str, value: str | None) -> str | None:
    """Return the salted SHA-256 of one personal field.

    The salt is erased together with the value.
    """
    if value is None:
        return None
    return hashlib.sha256(f"{salt}|{value}".encode()).hexdigest()


@dataclass(slots=True)
class _Prepared:
    record: ConsentRecord
    phone: str | None
    subject: str


class Ledger:
    """Append consent events and read the state derived from them.

    `secret` keys the subject ids (keyed hashes of phone numbers). `purposes` are the purposes
    a record may name. With `outbox` set, each new event id is also added to the business
    number's outbox stream for the CRM webhook sender.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        secret: bytes,
        *,
        purposes: tuple[str, ...] = DEFAULT_PURPOSES,
        default_region: str = DEFAULT_REGION,
        outbox: bool = False,
    ) -> None:
        self.redis = redis
        self.keys = ConsentKeys(prefix)
        self.clock = clock
        self.secret = secret
        self.purposes = purposes
        self.default_region = default_region
        self.outbox = outbox
        self._append = load_script(redis, "consent", "ledger_append.lua")
        self._locks: dict[str, asyncio.Lock] = {}

    def subject_of(self, phone: str) -> tuple[str, str]:
        """Return `(e164, subject_id)` of a phone number; raise InvalidPhone."""
        e164 = normalize_phone(phone, self.default_region)
        return e164, subject_id(self.secret, e164)

    def subject_of_ip(self, ip: str) -> str:
        """Return a keyed hash of an IP address, for rate limits that must not store the address."""
        return subject_id(self.secret, "ip:" + ip)

    async def states(self, business: str, phone: str) -> dict[str, CurrentState]:
        """Return the current state per `<channel>:<purpose>` of one contact."""
        _, subject = self.subject_of(phone)
        return await self.states_of_subject(business, subject)

    async def states_of_subject(self, business: str, subject: str) -> dict[str, CurrentState]:
        raw = await self.redis.hgetall(self.keys.state(business, subject))
        return {as_text(name): CurrentState.decode(value) for name, value in raw.items()}

    async def subject_of_user(self, business: str, user_id: str) -> str | None:
        """Return the subject id last seen with a business-scoped user id, if any."""
        raw = await self.redis.get(
            self.keys.user_subject(business, user_id_digest(self.secret, user_id))
        )
        return as_text(raw) if raw else None

    async def append(
        self, records: list[ConsentRecord], *, idempotency_key: str | None = None
    ) -> list[AppendedEvent]:
        """Validate, chain and store `records` of one business number as one atomic step.

        Raises InvalidRecord, InvalidPhone, InvalidTransition or Suppressed before anything is
        written. A repeated `idempotency_key` (for example `stop:<wamid>`) returns the events
        of the first call with `duplicate=True` and writes nothing.
        """
        if not records:
            return []
        business = records[0].business_number
        if any(record.business_number != business for record in records):
            raise InvalidRecord(
                "one append may only touch one business number", field="business_number"
            )

        now_ms = self.clock.now_ms()
        prepared = [self._prepare(record, now_ms) for record in records]
        await self._check_suppression(prepared)
        await self.redis.sadd(self.keys.businesses, business)

        # One writer per business number in this process; other processes are handled by
        # the compare-and-set on the chain head inside the script.
        lock = self._locks.setdefault(business, asyncio.Lock())
        async with lock:
            for _ in range(MAX_APPEND_ATTEMPTS):
                written = await self._try_append(business, prepared, idempotency_key, now_ms)
                if written is not None:
                    await self._remember_users(business, prepared)
                    return written
                await asyncio.sleep(0.001 + secrets.randbelow(5) / 1000)

        raise ChainConflict(
            f"the ledger of business number {business} kept changing during {MAX_APPEND_ATTEMPTS} "
            "attempts; retry the request"
        )

    def _prepare(self, record: ConsentRecord, now_ms: int) -> _Prepared:
        validate_record(record, self.purposes, now_ms)
        if not record.phone and record.subject:
            return _Prepared(record, None, record.subject)
        phone, subject = self.subject_of(record.phone)
        return _Prepared(record, phone, subject)

    async def _check_suppression(self, prepared: list[_Prepared]) -> None:
        # An erased person stays suppressed: a CRM sync or import must not bring back a
        # consent that is older than the erasure. A new opt-in by the person still works.
        for item in prepared:
            record = item.record
            if record.type not in RAISING_EVENTS or record.method not in (
                Method.IMPORT,
                Method.CRM_SYNC,
            ):
                continue
            erased_ms = await self.redis.hget(self.keys.suppressed, item.subject)
            if erased_ms is not None and (record.occurred_ms or 0) <= int(erased_ms):
                raise Suppressed(
                    "this person's data was erased and they are on the suppression list; "
                    "only a new "
                    "opt-in by the person can record consent again",
                    field="phone",
                )

    async def _try_append(
        self, business: str, prepared: list[_Prepared], idempotency_key: str | None, now_ms: int
    ) -> list[AppendedEvent] | None:
        subjects = sorted({item.subject for item in prepared})
        idem_key = self.keys.idempotency(business, idempotency_key or "-")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.ledger_head(business))
            pipe.get(idem_key)
            for subject in subjects:
                pipe.hgetall(self.keys.state(business, subject))
            raw_head, seen, *raw_states = await pipe.execute()

        if idempotency_key and seen is not None:
            return await self._load_duplicates(business, orjson.loads(seen))

        working: dict[tuple[str, str], CurrentState] = {}
        for subject, raw in zip(subjects, raw_states, strict=True):
            for name, value in raw.items():
                working[(subject, name.decode())] = CurrentState.decode(value)

        head = Head.decode(raw_head)
        expected = raw_head.decode() if raw_head else ""
        keys = [
            self.keys.ledger(business),
            self.keys.ledger_head(business),
            self.keys.event_index(business),
            self.keys.outbox(business),
            idem_key,
        ]
        args: list[Any] = []
        appended: list[AppendedEvent] = []
        for item in prepared:
            entry, personal, state = self._build(item, working, head, now_ms)
            head = Head(int(entry["seq"]), str(entry["hash"]))
            working[(item.subject, state_field(item.record.channel, item.record.purpose))] = state
            appended.append(AppendedEvent(event=entry, state=state))
            keys += [
                self.keys.state(business, item.subject),
                self.keys.personal(business, item.subject),
                self.keys.subject_events(business, item.subject),
            ]
            args += [
                orjson.dumps(entry, option=orjson.OPT_SORT_KEYS),
                entry["event_id"],
                entry["seq"],
                state_field(item.record.channel, item.record.purpose),
                state.encode(),
                orjson.dumps(personal),
            ]

        idem_value = (
            orjson.dumps([event.event_id for event in appended]) if idempotency_key else b""
        )
        header = [
            expected,
            head.encode(),
            idem_value,
            "1" if self.outbox else "0",
            len(appended),
            IDEMPOTENCY_TTL_MS,
        ]
        status, value = await self._append(keys=keys, args=header + args)
        if status == 2:
            return await self._load_duplicates(business, orjson.loads(value))
        if status == 0:
            log.debug("consent_append_conflict", business=business)
            return None

        for event in appended:
            log.info(
                "consent_event_appended",
                business=business,
                event_id=event.event_id,
                type=event.event["type"],
                purpose=event.event["purpose"],
                method=event.event["method"],
                state=event.state.state.value,
                seq=event.event["seq"],
            )
        return appended

    def _build(
        self, item: _Prepared, working: dict[tuple[str, str], CurrentState], head: Head, now_ms: int
    ) -> tuple[dict[str, Any], dict[str, Any], CurrentState]:
        record = item.record
        assert record.method is not None and record.occurred_ms is not None  # validated
        field = state_field(record.channel, record.purpose)
        current = working.get((item.subject, field), CurrentState(State.NONE))

        if (
            record.type in RAISING_EVENTS
            and current.state in CLOSED_STATES
            and record.occurred_ms < (current.since_ms or 0)
        ):
            raise InvalidTransition(
                f"this `{record.type.value}` happened before the current `{current.state.value}` "
                f"(occurred_ms {record.occurred_ms} < {current.since_ms}); a newer refusal or "
                "withdrawal wins",
                field="occurred_ms",
                value=record.occurred_ms,
            )
        new_state = next_state(current, record.type, record.method, record.evidence)

        salt = secrets.token_hex(16)
        personal_values = {
            "phone": item.phone,
            "user_id": record.user_id,
            "ip": record.ip,
            "user_agent": record.user_agent,
        }
        event_id = "cev_" + secrets.token_hex(12)
        body: dict[str, Any] = {
            "event_id": event_id,
            "business_number": record.business_number,
            "subject": item.subject,
            "channel": record.channel,
            "purpose": record.purpose,
            "type": record.type.value,
            "method": record.method.value,
            "occurred_ms": record.occurred_ms,
            "received_ms": now_ms,
            "capture_source": record.capture_source,
            "text_version_id": record.text_version_id,
            "text_sha256": record.text_sha256,
            "language": record.language,
            "checkbox_default": record.checkbox_default,
            "evidence": record.evidence,
            "actor": record.actor,
            "lawful_basis": record.lawful_basis,
            "detail": record.detail,
            "state": new_state.value,
            "personal_digests": {
                name: personal_digest(salt, value) for name, value in personal_values.items()
            },
        }
        entry = seal(body, head.seq + 1, head.hash)

        # A `resumed` event is kept for the proof only: the state and the event it rests on stay.
        state = (
            current
            if record.type is EventType.RESUMED
            else CurrentState(new_state, event_id, record.occurred_ms)
        )
        return entry, {"salt": salt, **personal_values}, state

    async def _remember_users(self, business: str, prepared: list[_Prepared]) -> None:
        for item in prepared:
            if item.record.user_id:
                key = self.keys.user_subject(
                    business, user_id_digest(self.secret, item.record.user_id)
                )
                await self.redis.set(key, item.subject)

    async def _load_duplicates(self, business: str, event_ids: list[str]) -> list[AppendedEvent]:
        events = await self.events_by_id(business, event_ids)
        return [
            AppendedEvent(
                event=event,
                state=CurrentState(
                    State(str(event["state"])), str(event["event_id"]), int(event["occurred_ms"])
                ),
                duplicate=True,
            )
            for event in events
        ]

    async def events_by_id(self, business: str, event_ids: list[str]) -> list[dict[str, Any]]:
        """Return the stored events with these ids, in the given order; unknown ids are skipped."""
        if not event_ids:
            return []
        seqs = await self.redis.hmget(self.keys.event_index(business), event_ids)
        return await self.events_at(business, [int(seq) for seq in seqs if seq is not None])

    async def events_at(self, business: str, seqs: list[int]) -> list[dict[str, Any]]:
        """Return the events at these list positions of the ledger."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for seq in seqs:
                pipe.lindex(self.keys.ledger(business), seq)
            raw = await pipe.execute()
        return [orjson.loads(entry) for entry in raw if entry is not None]

    async def history(self, business: str, subject: str) -> list[dict[str, Any]]:
        """Return one contact's events, oldest first, with their personal fields unless erased."""
        seqs = [
            int(seq)
            for seq in await self.redis.lrange(self.keys.subject_events(business, subject), 0, -1)
        ]
        events = await self.events_at(business, seqs)
        personal = await self.redis.hgetall(self.keys.personal(business, subject))
        for event in events:
            raw = personal.get(str(event["event_id"]).encode())
            stored = orjson.loads(raw) if raw else None
            event["personal"] = (
                {name: stored.get(name) for name in PERSONAL_FIELDS} if stored else None
            )
        return events

    async def businesses(self) -> list[str]:
        return sorted(as_text(member) for member in await self.redis.smembers(self.keys.businesses))

    async def head(self, business: str) -> Head:
        return Head.decode(await self.redis.get(self.keys.ledger_head(business)))
