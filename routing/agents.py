"""Agents: profiles in Redis, and views of their presence, capacity in use and work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from routing.config import AgentSpec
from routing.engine import Router
from routing.errors import RoutingError
from routing.model import Channel
from routing.values import RawHash, text, text_hash


@dataclass(frozen=True, slots=True)
class AgentView:
    id: str
    name: str
    presence: str
    presence_since_ms: int
    skills: dict[str, int]
    languages: list[str]
    capacity: dict[str, int]
    capacity_units: int | None
    channel_costs: dict[str, int]
    queues: list[str]
    open: dict[str, int]
    used_units: int
    missed_in_row: int
    missed_offers: int
    last_assigned_ms: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "presence": self.presence,
            "presence_since_ms": self.presence_since_ms,
            "skills": self.skills,
            "languages": self.languages,
            "capacity": self.capacity,
            "capacity_units": self.capacity_units,
            "channel_costs": self.channel_costs,
            "queues": self.queues,
            "usage": {
                channel: {"open": self.open.get(channel, 0), "capacity": limit}
                for channel, limit in self.capacity.items()
            },
            "used_units": self.used_units,
            "missed_offers_in_row": self.missed_in_row,
            "missed_offers": self.missed_offers,
            "last_assigned_ms": self.last_assigned_ms,
        }


def _json_list(raw: str | None) -> list[Any]:
    # cjson writes an empty Lua table as `{}`, so an empty list may come back as a dict.
    value = orjson.loads(raw) if raw else []
    return value if isinstance(value, list) else []


def view_of(agent_id: str, raw: RawHash) -> AgentView:
    fields = text_hash(raw)
    capacity: dict[str, int] = orjson.loads(fields.get("capacity") or "{}") or {}
    open_counts = {name[2:]: int(value) for name, value in fields.items() if name.startswith("n:")}
    units = fields.get("units") or ""
    last_assigned = fields.get("last_assigned_ms")
    return AgentView(
        id=agent_id,
        name=fields.get("name", ""),
        presence=fields.get("presence", "offline"),
        presence_since_ms=int(fields.get("presence_since_ms") or 0),
        skills=orjson.loads(fields.get("skills") or "{}") or {},
        languages=_json_list(fields.get("languages")),
        capacity=capacity,
        capacity_units=int(units) if units else None,
        channel_costs=orjson.loads(fields.get("costs") or "{}") or {},
        queues=_json_list(fields.get("queues")),
        open=open_counts,
        used_units=int(fields.get("used_units") or 0),
        missed_in_row=int(fields.get("missed_in_row") or 0),
        missed_offers=int(fields.get("missed_offers") or 0),
        last_assigned_ms=int(last_assigned) if last_assigned else None,
    )


class AgentDirectory:
    def __init__(self, router: Router, default_costs: dict[Channel, int]) -> None:
        self._router = router
        self._redis = router.redis
        self._keys = router.keys
        self._default_costs = default_costs

    async def save(self, spec: AgentSpec, *, create: bool) -> AgentView:
        """Create (`create=True`) or replace an agent's profile; live state is kept."""
        fields: list[str | int] = [
            spec.id,
            spec.name,
            orjson.dumps(spec.skills).decode(),
            orjson.dumps(spec.languages).decode(),
            orjson.dumps({channel.value: n for channel, n in spec.capacity.items()}).decode(),
            "" if spec.capacity_units is None else spec.capacity_units,
            orjson.dumps(spec.costs(self._default_costs)).decode(),
            orjson.dumps(spec.queues).decode(),
        ]
        await self._router.save_agent_profile("create" if create else "update", fields)
        if spec.skills:
            await self._redis.sadd(self._keys.skills, *spec.skills)
        return await self.get(spec.id)

    async def get(self, agent_id: str) -> AgentView:
        raw = await self._redis.hgetall(self._keys.agent(agent_id))
        if not raw or b"name" not in raw:
            raise RoutingError("agent_not_found", f"agent `{agent_id}` does not exist")
        return view_of(agent_id, raw)

    async def all(self) -> list[AgentView]:
        ids = sorted(text(member) for member in await self._redis.smembers(self._keys.agents))
        async with self._redis.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hgetall(self._keys.agent(agent_id))
            rows = await pipe.execute()
        return [view_of(agent_id, raw) for agent_id, raw in zip(ids, rows, strict=True) if raw]

    async def delete(self, agent_id: str) -> None:
        await self._router.delete_agent(agent_id)

    async def interactions(self, agent_id: str) -> list[dict[str, Any]]:
        """Return the agent's conversations: offered, assigned, held or in wrap-up."""
        ids = sorted(
            text(member)
            for member in await self._redis.smembers(self._keys.agent_interactions(agent_id))
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            for interaction_id in ids:
                pipe.hgetall(self._keys.interaction(interaction_id))
            rows = await pipe.execute()
        return [interaction_view(raw) for raw in rows if raw]


INTERACTION_FIELDS = (
    ("id", str),
    ("channel", str),
    ("state", str),
    ("queue", str),
    ("priority", int),
    ("language", str),
    ("customer_id", str),
    ("agent_id", str),
    ("offer_id", str),
    ("offer_deadline_ms", int),
    ("enqueued_at_ms", int),
    ("assigned_at_ms", int),
    ("window_expires_at_ms", int),
    ("wrap_up_until_ms", int),
    ("closed_at_ms", int),
    ("last_agent_id", str),
    ("preferred_agent", str),
    ("transfer_note", str),
    ("transferred_from", str),
    ("urgent", int),
    ("contacts", int),
)


def interaction_view(raw: RawHash) -> dict[str, Any]:
    """Turn an interaction hash into API JSON; empty fields become null."""
    fields = text_hash(raw)
    view: dict[str, Any] = {}
    for name, kind in INTERACTION_FIELDS:
        value = fields.get(name) or None
        view[name] = kind(value) if value is not None else None
    view["conversation_id"] = view.pop("id")
    view["skills"] = orjson.loads(fields.get("skills") or "{}") or {}
    view["urgent"] = bool(view["urgent"])
    return view
