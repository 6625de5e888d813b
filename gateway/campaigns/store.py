"""Campaigns in Redis: the campaign, its recipients and each recipient's state."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from common.lua import load_script
from gateway.campaigns.keys import CampaignKeys
from gateway.campaigns.model import ALLOWED_FROM, Campaign, CampaignState
from gateway.campaigns.recipients import Recipient, RecipientList

WRITE_BATCH = 1000
# Funnel counts over time are kept per minute.
TIMELINE_BUCKET_MS = 60_000
STATE_TIME_FIELDS = {
    CampaignState.RUNNING: "started_at_ms",
    CampaignState.COMPLETED: "finished_at_ms",
    CampaignState.CANCELLED: "finished_at_ms",
}


class CampaignNotFound(LookupError):
    pass


class WrongState(ValueError):
    """The campaign is in a state from which the requested action is not possible."""

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of dispatching one claimed recipient."""

    index: int
    state: str  # queued, blocked or failed
    detail: str = ""  # the gate's reason or Meta's error code


def bucket_of(at_ms: int) -> int:
    return at_ms - at_ms % TIMELINE_BUCKET_MS


class CampaignStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.keys = CampaignKeys(prefix)
        self._claim = load_script(redis, "gateway.campaigns", "claim.lua")
        self._resolve = load_script(redis, "gateway.campaigns", "resolve.lua")
        self._status = load_script(redis, "gateway.campaigns", "status.lua")
        self._transition = load_script(redis, "gateway.campaigns", "transition.lua")

    # -- creating and reading --------------------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        template: str,
        language: str,
        category: str,
        phone_number_id: str,
        recipients: RecipientList,
        created_by: str,
        now_ms: int,
    ) -> str:
        """Store a new campaign in state draft with its recipients; return its id."""
        campaign_id = "cmp_" + secrets.token_hex(8)
        await self._write_recipients(campaign_id, recipients.recipients)
        if recipients.rejected:
            await self._redis.rpush(
                self.keys.rejected(campaign_id),
                *[orjson.dumps(rejected.to_dict()) for rejected in recipients.rejected],
            )

        # The hash is written last: a campaign that exists is complete.
        await self._redis.hset(
            self.keys.campaign(campaign_id),
            mapping={
                "name": name,
                "template": template,
                "language": language,
                "category": category,
                "phone_number_id": phone_number_id,
                "state": CampaignState.DRAFT.value,
                "total": len(recipients.recipients),
                "next_index": 0,
                "rejected": len(recipients.rejected),
                "created_at_ms": now_ms,
                "created_by": created_by,
            },
        )
        await self._redis.zadd(self.keys.all, {campaign_id: now_ms})
        return campaign_id

    async def _write_recipients(self, campaign_id: str, recipients: Sequence[Recipient]) -> None:
        key = self.keys.recipients(campaign_id)
        for start in range(0, len(recipients), WRITE_BATCH):
            batch = recipients[start : start + WRITE_BATCH]
            mapping = {
                str(start + offset): orjson.dumps(
                    {"line": item.line, "phone": item.phone, "components": item.components}
                )
                for offset, item in enumerate(batch)
            }
            await self._redis.hset(key, mapping=mapping)  # type: ignore[arg-type]  # bytes values

    async def get(self, campaign_id: str) -> Campaign:
        raw = await self._redis.hgetall(self.keys.campaign(campaign_id))
        if not raw:
            raise CampaignNotFound(campaign_id)
        fields = {_text(key): _text(value) for key, value in raw.items()}
        return Campaign(
            campaign_id=campaign_id,
            name=fields["name"],
            template=fields["template"],
            language=fields["language"],
            category=fields["category"],
            phone_number_id=fields["phone_number_id"],
            state=CampaignState(fields["state"]),
            total=int(fields["total"]),
            next_index=int(fields["next_index"]),
            rejected=int(fields.get("rejected", "0")),
            created_at_ms=int(fields["created_at_ms"]),
            created_by=fields.get("created_by", ""),
            scheduled_at_ms=_int_or_none(fields.get("scheduled_at_ms")),
            started_at_ms=_int_or_none(fields.get("started_at_ms")),
            finished_at_ms=_int_or_none(fields.get("finished_at_ms")),
            note=fields.get("note", ""),
        )

    async def list_ids(self, limit: int = 100) -> list[str]:
        members = await self._redis.zrevrange(self.keys.all, 0, limit - 1)
        return [_text(member) for member in members if isinstance(member, bytes | str)]

    async def recipients(self, campaign_id: str, indices: Sequence[int]) -> list[dict[str, Any]]:
        if not indices:
            return []
        raw = await self._redis.hmget(self.keys.recipients(campaign_id), [str(i) for i in indices])
        return [orjson.loads(item) if item else {} for item in raw]

    async def rejected_lines(self, campaign_id: str) -> list[dict[str, Any]]:
        return [
            orjson.loads(item)
            for item in await self._redis.lrange(self.keys.rejected(campaign_id), 0, -1)
        ]

    # -- campaign state ----------------------------------------------------------------------

    async def transition(self, campaign_id: str, to: CampaignState, now_ms: int) -> CampaignState:
        """Move the campaign to `to` if its current state allows it; return the previous state."""
        allowed = [state.value for state in ALLOWED_FROM[to]]
        try:
            previous = await self._transition(
                keys=[self.keys.campaign(campaign_id)],
                args=[to.value, STATE_TIME_FIELDS.get(to, ""), now_ms, *allowed],
            )
        except ResponseError as exc:
            message = str(exc)
            if message == "not_found":
                raise CampaignNotFound(campaign_id) from exc
            if message.startswith("wrong_state "):
                raise WrongState(message.removeprefix("wrong_state ")) from exc
            raise

        await self._track_active(campaign_id, to, now_ms)
        return CampaignState(_text(previous))

    async def schedule(self, campaign_id: str, at_ms: int, now_ms: int) -> None:
        await self.transition(campaign_id, CampaignState.SCHEDULED, now_ms)
        await self._redis.hset(self.keys.campaign(campaign_id), "scheduled_at_ms", at_ms)
        await self._redis.zadd(self.keys.active, {campaign_id: at_ms})

    async def set_note(self, campaign_id: str, note: str) -> None:
        """Store why the campaign stopped by itself (a paused template); empty clears it."""
        await self._redis.hset(self.keys.campaign(campaign_id), "note", note)

    async def _track_active(self, campaign_id: str, state: CampaignState, now_ms: int) -> None:
        # The active set is global (not in the campaign's slot), so it is updated after the
        # state change. The runner reads each member's state and skips stale members.
        if state is CampaignState.RUNNING:
            await self._redis.zadd(self.keys.active, {campaign_id: now_ms})
        elif state in (CampaignState.COMPLETED, CampaignState.CANCELLED):
            await self._redis.zrem(self.keys.active, campaign_id)

    async def active_ids(self, due_by_ms: int) -> list[str]:
        """Return running campaigns and scheduled ones whose start time has come."""
        members = await self._redis.zrangebyscore(self.keys.active, "-inf", due_by_ms)
        return [_text(member) for member in members if isinstance(member, bytes | str)]

    # -- recipients --------------------------------------------------------------------------

    async def claim(self, campaign_id: str, count: int) -> list[int]:
        """Claim up to `count` pending recipients of a running campaign for dispatch."""
        claimed = await self._claim(
            keys=[
                self.keys.campaign(campaign_id),
                self.keys.states(campaign_id),
                self.keys.inflight(campaign_id),
                self.keys.counts(campaign_id),
            ],
            args=[count],
        )
        return [int(index) for index in claimed]

    async def inflight(self, campaign_id: str) -> list[int]:
        """Return recipients claimed by a dispatcher that has not recorded their outcome."""
        return sorted(
            int(index) for index in await self._redis.smembers(self.keys.inflight(campaign_id))
        )

    async def resolve(self, campaign_id: str, outcomes: Sequence[Outcome], now_ms: int) -> int:
        """Record dispatch outcomes; return how many recipients changed state."""
        if not outcomes:
            return 0
        args: list[Any] = [bucket_of(now_ms)]
        for outcome in outcomes:
            args += [outcome.index, outcome.state, outcome.detail]
        changed = await self._resolve(keys=self.recipient_keys(campaign_id), args=args)
        return int(changed)

    async def apply_status(
        self, campaign_id: str, index: int, status: str, error_code: str, at_ms: int
    ) -> bool:
        """Apply a delivery status to one recipient; return whether its state changed."""
        changed = await self._status(
            keys=self.recipient_keys(campaign_id),
            args=[index, status, error_code, bucket_of(at_ms)],
        )
        return bool(changed)

    def recipient_keys(self, campaign_id: str) -> list[str]:
        return [
            self.keys.states(campaign_id),
            self.keys.details(campaign_id),
            self.keys.counts(campaign_id),
            self.keys.timeline(campaign_id),
            self.keys.inflight(campaign_id),
        ]

    async def counts(self, campaign_id: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self.keys.counts(campaign_id))
        return {_text(key): int(value) for key, value in raw.items()}

    async def timeline(self, campaign_id: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self.keys.timeline(campaign_id))
        return {_text(key): int(value) for key, value in raw.items()}

    async def recipient_states(
        self, campaign_id: str, start: int, count: int
    ) -> list[tuple[int, str, str]]:
        """Return (index, state, detail) of recipients `start` .. `start + count - 1`."""
        indices = [str(i) for i in range(start, start + count)]
        if not indices:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.states(campaign_id), indices)
            pipe.hmget(self.keys.details(campaign_id), indices)
            states, details = await pipe.execute()
        return [
            (start + offset, _text(state) if state else "pending", _text(detail) if detail else "")
            for offset, (state, detail) in enumerate(zip(states, details, strict=True))
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None
