"""The routing event stream that feeds the agent and supervisor SSE streams.

Events are appended by the Lua scripts (and by `publish` for other packages, such as
window warnings from sessions) to one Redis stream. Each entry has `agent` (the agent it
is for, or empty for supervisors only) and `data` (JSON with a `type`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from common.clock import Clock
from routing.keys import RoutingKeys


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


def _parse(entry_id: bytes, fields: dict[bytes, bytes]) -> RoutingEvent:
    agent = fields.get(b"agent", b"").decode()
    return RoutingEvent(
        id=entry_id.decode(), agent_id=agent or None, data=orjson.loads(fields[b"data"])
    )


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
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def last_id(self) -> str:
        """Return the id of the newest event, or `0-0` for an empty stream."""
        newest = await self._redis.xrevrange(self._key, count=1)
        return newest[0][0].decode() if newest else "0-0"

    async def after(self, entry_id: str, count: int = 1000) -> list[RoutingEvent]:
        """Return up to `count` events that follow `entry_id`."""
        entries = await self._redis.xrange(self._key, min=f"({entry_id}", count=count)
        return [_parse(eid, fields) for eid, fields in entries]

    async def wait(self, entry_id: str, block_ms: int, count: int = 1000) -> list[RoutingEvent]:
        """Block up to `block_ms` for events after `entry_id` and return them."""
        reply = await self._redis.xread({self._key: entry_id}, count=count, block=block_ms)
        if not reply:
            return []
        _, entries = reply[0]
        return [_parse(eid, fields) for eid, fields in entries]
