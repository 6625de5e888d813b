"""The routing event stream that feeds the agent and supervisor SSE streams.

The Lua scripts append events to one Redis stream, and other features may add theirs
with `publish`. Each entry has
`agent` (the agent it is for, or empty for supervisors only) and `data` (JSON with a
`type`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from common.clock import Clock
from routing.keys import RoutingKeys
from routing.values import RawHash, text, text_hash


@dataclass(frozen=True, slots=True)
class RoutingEvent:
    id: str  # the stream entry id, usable as SSE `id` and `Last-Event-ID`
    agent_id: str | None
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Return a stream id as (ms, sequence), so ids compare in stream order."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _parse(entry_id: bytes | str, raw: RawHash) -> RoutingEvent:
    fields = text_hash(raw)
    return RoutingEvent(
        id=text(entry_id), agent_id=fields.get("agent") or None, data=orjson.loads(fields["data"])
    )


def _parse_entries(entries: Any) -> list[RoutingEvent]:
    # redis-py types stream replies loosely; each entry is (id, {field: value}).
    return [_parse(entry_id, fields) for entry_id, fields in entries or []]


class RoutingEvents:
    def __init__(self, redis: Redis, prefix: str, clock: Clock, *, maxlen: int = 100_000) -> None:
        self._redis = redis
        self._key = RoutingKeys(prefix).events
        self._clock = clock
        self._maxlen = maxlen

    async def publish(self, agent_id: str | None, data: dict[str, Any]) -> str:
        """Append an event for `agent_id` (None: supervisors only); return its id."""
        body = {**data, "ts_ms": self._clock.now_ms()}
        entry_id = await self._redis.xadd(
            self._key,
            {"agent": agent_id or "", "data": orjson.dumps(body)},
            maxlen=self._maxlen,
            approximate=True,
        )
        return text(entry_id)

    async def last_id(self) -> str:
        """Return the id of the newest event, or `0-0` for an empty stream."""
        newest = _parse_entries(await self._redis.xrevrange(self._key, count=1))
        return newest[0].id if newest else "0-0"

    async def after(self, entry_id: str, count: int = 1000) -> list[RoutingEvent]:
        """Return up to `count` events that follow `entry_id`."""
        return _parse_entries(await self._redis.xrange(self._key, min=f"({entry_id}", count=count))

    async def wait(self, entry_id: str, block_ms: int, count: int = 1000) -> list[RoutingEvent]:
        """Block up to `block_ms` for events after `entry_id` and return them."""
        reply: Any = await self._redis.xread({self._key: entry_id}, count=count, block=block_ms)
        if not reply:
            return []
        _, entries = reply[0]
        return _parse_entries(entries)
