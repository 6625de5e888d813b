"""Walk a ledger: verify its hash chain, rebuild the derived state, stream events for export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from consent.chain import ChainBreak, ChainVerifier, Head
from consent.keys import ConsentKeys
from consent.ledger import PERSONAL_FIELDS, personal_digest
from consent.model import CurrentState, EventType, Method, State, as_text, state_field
from consent.rules import next_state

PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Result of walking one chain: how many entries were checked and the first break, if any."""

    business_number: str
    entries: int
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def iter_entries(redis: Redis, list_key: str, start: int = 0) -> AsyncIterator[bytes]:
    """Yield the raw entries of a chain list from position `start`, a page at a time."""
    position = start
    while True:
        page = await redis.lrange(list_key, position, position + PAGE_SIZE - 1)
        if not page:
            return
        for raw in page:
            yield raw if isinstance(raw, bytes) else raw.encode()
        position += len(page)


async def verify_chain(redis: Redis, list_key: str, head_key: str, business: str) -> VerifyReport:
    """Check every link of the chain stored in `list_key` against the head in `head_key`."""
    verifier = ChainVerifier()
    page: list[bytes] = []
    async for raw in iter_entries(redis, list_key):
        page.append(raw)
        if len(page) >= PAGE_SIZE:
            if verifier.feed(page) is not None:
                break
            page = []
    verifier.feed(page)
    broken = verifier.finish(Head.decode(await redis.get(head_key)))
    return VerifyReport(business, verifier.position, broken)


async def verify_ledger(redis: Redis, prefix: str, business: str) -> VerifyReport:
    """Verify the ledger chain of one business number, then the personal fields still stored."""
    keys = ConsentKeys(prefix)
    report = await verify_chain(redis, keys.ledger(business), keys.ledger_head(business), business)
    if not report.ok:
        return report
    broken = await _verify_personal(redis, keys, business)
    return VerifyReport(business, report.entries, broken)


async def _verify_personal(redis: Redis, keys: ConsentKeys, business: str) -> ChainBreak | None:
    # Erased personal fields are simply absent. Stored ones must still match the digests that
    # the chain covers, so a changed IP or phone number is detected too.
    async for event in iter_events(redis, keys, business):
        raw = await redis.hget(
            keys.personal(business, str(event["subject"])), str(event["event_id"])
        )
        if raw is None:
            continue
        stored = orjson.loads(raw)
        digests = event.get("personal_digests") or {}
        for name in PERSONAL_FIELDS:
            if personal_digest(stored["salt"], stored.get(name)) != digests.get(name):
                return ChainBreak(
                    int(event["seq"]),
                    f"the stored personal field `{name}` does not match its digest",
                )
    return None


async def iter_events(
    redis: Redis, keys: ConsentKeys, business: str, since_ms: int | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield the events of one ledger, oldest first; with `since_ms`, only those received since."""
    async for raw in iter_entries(redis, keys.ledger(business)):
        event = orjson.loads(raw)
        if since_ms is None or int(event["received_ms"]) >= since_ms:
            yield event


def derive_states(events: list[dict[str, Any]]) -> dict[str, dict[str, CurrentState]]:
    """Replay events through the state rules; return subject -> field -> state."""
    states: dict[str, dict[str, CurrentState]] = {}
    for event in events:
        subject_states = states.setdefault(str(event["subject"]), {})
        field = state_field(str(event["channel"]), str(event["purpose"]))
        current = subject_states.get(field, CurrentState(State.NONE))
        event_type = EventType(str(event["type"]))
        if event_type is EventType.RESUMED:
            subject_states[field] = current
            continue
        new_state = next_state(
            current, event_type, Method(str(event["method"])), event.get("evidence")
        )
        subject_states[field] = CurrentState(
            new_state, str(event["event_id"]), int(event["occurred_ms"])
        )
    return states


async def rebuild_states(
    redis: Redis, prefix: str, business: str, *, write: bool = True
) -> dict[str, Any]:
    """Derive the state of every contact from the ledger; write it, or only count differences.

    Returns `{"subjects": n, "differences": m}`; the differences are counted against the
    stored state before it is replaced.
    """
    keys = ConsentKeys(prefix)
    events = [event async for event in iter_events(redis, keys, business)]
    derived = derive_states(events)

    differences = 0
    for subject, fields in derived.items():
        stored = await redis.hgetall(keys.state(business, subject))
        encoded = {field: state.encode() for field, state in fields.items()}
        current = {as_text(name): as_text(value) for name, value in stored.items()}
        if current != encoded:
            differences += 1
            if write:
                async with redis.pipeline(transaction=True) as pipe:
                    pipe.delete(keys.state(business, subject))
                    pipe.hset(keys.state(business, subject), mapping=dict(encoded))  # type: ignore[arg-type]  # redis-py types the mapping invariantly
                    await pipe.execute()
    return {"subjects": len(derived), "differences": differences}
