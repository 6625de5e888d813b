"""The routing engine: every step that moves an interaction is one Lua script run.

Each method takes ids and returns the script's JSON result, or raises RoutingError when
the step is rejected. A rejected step changes nothing, with one exception: accepting or
rejecting an offer after its deadline expires that offer at once.

Several processes may run steps at once. Redis runs each script alone, so no
interaction is offered twice and no agent goes above capacity.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis

from common.clock import Clock
from routing.config import RoutingConfig
from routing.errors import RoutingError
from routing.keys import RoutingKeys
from routing.model import Channel, Presence
from routing.scripts import RoutingScripts

log = structlog.get_logger(__name__)

WHATSAPP_WINDOW_MS = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class InteractionSpec:
    """A new interaction: what it needs and where it waits."""

    channel: Channel
    queue: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    language: str | None = None
    customer_id: str = ""
    preferred_agent: str | None = None
    window_expires_at_ms: int | None = None
    business_number: str | None = None
    source: str | None = None

    def as_json(self) -> bytes:
        return orjson.dumps(
            {
                "channel": self.channel.value,
                "queue": self.queue,
                "priority": self.priority,
                "skills": self.skills,
                "language": self.language or "",
                "customer_id": self.customer_id,
                "preferred_agent": self.preferred_agent or "",
                "window_expires_at_ms": self.window_expires_at_ms,
                "phone_number_id": self.business_number or "",
                "source": self.source or "",
            }
        )


def new_interaction_id() -> str:
    return "ix_" + secrets.token_hex(8)


class Router:
    def __init__(self, redis: Redis, prefix: str, clock: Clock) -> None:
        self.redis = redis
        self.keys = RoutingKeys(prefix)
        self.clock = clock
        self._scripts = RoutingScripts(redis, self.keys, clock)

    async def configure(self, config: RoutingConfig) -> None:
        """Store the engine-wide settings and known skills that the scripts read."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.settings,
                mapping={
                    "max_missed_offers": config.max_missed_offers,
                    "scan_depth": config.scan_depth,
                    "event_maxlen": config.event_maxlen,
                },
            )
            if config.skills:
                pipe.sadd(self.keys.skills, *config.skills)
            await pipe.execute()

    async def unknown_skills(self, skills: list[str]) -> list[str]:
        """Return the skills in `skills` that no agent has and the config does not list."""
        if not skills:
            return []
        known = await self.redis.smismember(self.keys.skills, skills)
        return [skill for skill, is_known in zip(skills, known, strict=True) if not is_known]

    async def enqueue(self, interaction_id: str, spec: InteractionSpec) -> dict[str, Any]:
        """Put a new interaction into its queue and offer it at once when an agent can take it."""
        unknown = await self.unknown_skills(list(spec.skills))
        if unknown:
            raise RoutingError(
                "unknown_skill",
                f"skill `{unknown[0]}` is not known; no agent has it and the routing config "
                "does not list it",
                skills=unknown,
            )
        data = await self._scripts.run("enqueue", interaction_id, spec.as_json())
        log.info(
            "routing_enqueued",
            conversation_id=interaction_id,
            queue=spec.queue,
            channel=spec.channel.value,
            offers=data["offers"],
        )
        return data

    async def customer_message(
        self,
        conversation_id: str,
        spec: InteractionSpec,
        *,
        wamid: str | None,
        message_type: str | None,
        timestamp_ms: int,
    ) -> dict[str, Any]:
        """Handle a WhatsApp customer message: enqueue, deliver, or reopen."""
        message = orjson.dumps(
            {"wamid": wamid or "", "message_type": message_type or "", "timestamp_ms": timestamp_ms}
        )
        return await self._scripts.run("inbound", conversation_id, spec.as_json(), message)

    async def set_presence(self, agent_id: str, presence: Presence | str) -> dict[str, Any]:
        data = await self._scripts.run("presence", agent_id, str(presence))
        log.info(
            "routing_presence",
            agent_id=agent_id,
            presence=str(presence),
            previous=data.get("previous"),
            offers=data["offers"],
        )
        return data

    async def accept(self, offer_id: str, agent_id: str) -> dict[str, Any]:
        data = await self._scripts.run("offer_answer", offer_id, agent_id, "accept")
        log.info(
            "routing_offer_accepted",
            offer_id=offer_id,
            agent_id=agent_id,
            conversation_id=data["conversation_id"],
        )
        return data

    async def reject(self, offer_id: str, agent_id: str) -> dict[str, Any]:
        data = await self._scripts.run("offer_answer", offer_id, agent_id, "reject")
        log.info(
            "routing_offer_rejected",
            offer_id=offer_id,
            agent_id=agent_id,
            conversation_id=data["conversation_id"],
        )
        return data

    async def close(self, conversation_id: str, agent_id: str | None) -> dict[str, Any]:
        """Close the conversation; with `agent_id` None a supervisor closes it for its agent."""
        return await self._scripts.run("close", conversation_id, agent_id or "")

    async def end_wrap_up(self, conversation_id: str, agent_id: str | None) -> dict[str, Any]:
        return await self._scripts.run("wrap_up_end", conversation_id, agent_id or "")

    async def transfer(
        self,
        conversation_id: str,
        agent_id: str | None,
        *,
        to_agent: str | None = None,
        to_queue: str | None = None,
        note: str = "",
    ) -> dict[str, Any]:
        """Transfer to exactly one of `to_agent` (offered to them) or `to_queue`."""
        if (to_agent is None) == (to_queue is None):
            raise RoutingError("invalid_transfer", "name exactly one target: an agent or a queue")
        kind, target = ("agent", to_agent) if to_agent is not None else ("queue", to_queue)
        data = await self._scripts.run(
            "transfer", conversation_id, agent_id or "", kind, target or "", note
        )
        log.info(
            "routing_transferred",
            conversation_id=conversation_id,
            agent_id=agent_id,
            target_kind=kind,
            target=target,
        )
        return data

    async def hold(self, conversation_id: str, agent_id: str | None) -> dict[str, Any]:
        return await self._scripts.run("hold", conversation_id, agent_id or "", "hold")

    async def resume(self, conversation_id: str, agent_id: str | None) -> dict[str, Any]:
        return await self._scripts.run("hold", conversation_id, agent_id or "", "resume")

    async def abandon(self, conversation_id: str, reason: str = "customer_left") -> dict[str, Any]:
        return await self._scripts.run("abandon", conversation_id, reason)

    async def dispatch(self, queues: list[str]) -> int:
        """Offer waiting work of `queues`; return how many offers were made."""
        data = await self._scripts.run("dispatch", orjson.dumps(queues))
        return int(data["offers"])

    async def sweep(self, limit: int = 500) -> dict[str, Any]:
        """Run the timed steps that are due; the result has `ran` and `next_due_ms`."""
        return await self._scripts.run("sweep", limit)

    async def save_agent_profile(self, mode: str, fields: list[str | int]) -> dict[str, Any]:
        return await self._scripts.run("agent_save", *fields[:1], mode, *fields[1:])

    async def delete_agent(self, agent_id: str) -> dict[str, Any]:
        return await self._scripts.run("agent_delete", agent_id)

    async def invariant_violations(self) -> list[str]:
        """Check capacity and holding invariants in one atomic read; return what is wrong."""
        data = await self._scripts.run("invariants")
        violations = data.get("violations") or []
        # cjson encodes an empty Lua table as `{}`.
        return list(violations) if isinstance(violations, list) else []
