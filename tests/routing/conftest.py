"""Fixtures of the routing tests: an engine on the test Redis and a `desk` of helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from routing.agents import AgentDirectory, AgentView
from routing.config import AgentSpec, QueueConfig, RoutingConfig
from routing.engine import InteractionSpec, Router
from routing.events import RoutingEvents
from routing.model import DEFAULT_CHANNEL_COSTS, Channel
from routing.queues import QueueDirectory

PREFIX = "wag:"
SKILLS = ["billing", "tech", "sales", "vip"]


@dataclass
class Desk:
    """A contact center under test: create queues and agents, hand in work, read offers."""

    router: Router
    queues: QueueDirectory
    agents: AgentDirectory
    events: RoutingEvents
    clock: ManualClock

    async def queue(self, name: str = "default", **settings: Any) -> QueueConfig:
        config = QueueConfig(name=name, **settings)
        await self.queues.save(config)
        return config

    async def agent(
        self,
        agent_id: str,
        *,
        available: bool = True,
        queues: list[str] | None = None,
        **profile: Any,
    ) -> AgentView:
        profile.setdefault("capacity", {"whatsapp": 3})
        spec = AgentSpec(
            id=agent_id, name=agent_id.upper(), queues=queues or ["default"], **profile
        )
        await self.agents.save(spec, create=True)
        if available:
            await self.router.set_presence(agent_id, "available")
        return await self.agents.get(agent_id)

    async def chat(
        self,
        interaction_id: str,
        *,
        queue: str = "default",
        channel: str = "whatsapp",
        **fields: Any,
    ) -> dict[str, Any]:
        spec = InteractionSpec(channel=Channel(channel), queue=queue, **fields)
        return await self.router.enqueue(interaction_id, spec)

    async def offers(self, agent_id: str) -> dict[str, str]:
        """Return the agent's pending offers as conversation id -> offer id."""
        held = await self.agents.interactions(agent_id)
        return {ix["conversation_id"]: ix["offer_id"] for ix in held if ix["state"] == "offered"}

    async def offer_for(self, agent_id: str, conversation_id: str) -> str:
        offers = await self.offers(agent_id)
        assert conversation_id in offers, f"{agent_id} has offers {offers}, not {conversation_id}"
        return offers[conversation_id]

    async def assign(self, agent_id: str, conversation_id: str) -> None:
        await self.router.accept(await self.offer_for(agent_id, conversation_id), agent_id)

    async def state(self, conversation_id: str) -> dict[str, Any]:
        raw = await self.router.redis.hgetall(self.router.keys.interaction(conversation_id))
        return {key.decode(): value.decode() for key, value in raw.items()}

    async def waiting(self, queue: str = "default") -> list[str]:
        members = await self.router.redis.zrange(self.router.keys.queue(queue), 0, -1)
        return [member.decode() for member in members]

    async def event_types(self, agent_id: str) -> list[str]:
        events = await self.events.after("0-0", count=100_000)
        return [event.type for event in events if event.agent_id == agent_id]

    async def tick(self, delta_ms: int) -> dict[str, Any]:
        """Move the clock and run the timed steps that became due."""
        self.clock.advance(delta_ms)
        return await self.router.sweep()

    async def check(self) -> None:
        assert await self.router.invariant_violations() == []


@pytest.fixture
async def router(redis: Redis, clock: ManualClock) -> Router:
    engine = Router(redis, PREFIX, clock)
    await engine.configure(RoutingConfig(skills=SKILLS))
    return engine


@pytest.fixture
async def desk(router: Router, redis: Redis, clock: ManualClock) -> Desk:
    desk = Desk(
        router=router,
        queues=QueueDirectory(router),
        agents=AgentDirectory(router, DEFAULT_CHANNEL_COSTS),
        events=RoutingEvents(redis, PREFIX, clock),
        clock=clock,
    )
    await desk.queue("default")
    return desk
