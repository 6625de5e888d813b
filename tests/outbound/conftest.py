"""A running gateway with its workers, wired to a Graph API simulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from gateway.auth import Role
from gateway.settings import Settings
from gateway.simulator.server import GraphSimulator
from gateway.simulator.status_webhooks import StatusPlan
from routing.agents import AgentDirectory
from routing.config import AgentSpec
from routing.engine import Router
from routing.model import DEFAULT_CHANNEL_COSTS
from sessions.conversations import conversation_id_for
from tests.helpers import TEST_SECRET, Gateway, envelope, running_gateway, text_value

PHONE_NUMBER_ID = "156305421874268"
WA_ID = "4915112345678"
AGENT_ID = "a-erika"


async def wait_for(
    check: Callable[[], Awaitable[Any]], *, timeout_s: float = 10.0, what: str = "condition"
) -> Any:
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Outbound:
    gateway: Gateway
    simulator: GraphSimulator
    clock: ManualClock
    redis: Redis
    agent_token: str = ""

    async def customer_writes(
        self, text: str = "Hallo", *, age_ms: int = 0, wamid: str | None = None, wa_id: str = WA_ID
    ) -> str:
        """Post a signed customer message sent `age_ms` before now; return the conversation id."""
        timestamp_s = (self.clock.now_ms() - age_ms) // 1000
        wamid = wamid or f"wamid.in{time.monotonic_ns()}"
        body = envelope(
            text_value(
                wamid, text, wa_id=wa_id, timestamp_s=timestamp_s, phone_number_id=PHONE_NUMBER_ID
            )
        )
        response = await self.gateway.post_webhook(body)
        assert response.status == 200
        conversation_id = conversation_id_for(PHONE_NUMBER_ID, wa_id)
        await wait_for(lambda: self._has_message(conversation_id, wamid), what="inbound message")
        return conversation_id

    async def _has_message(self, conversation_id: str, wamid: str) -> bool:
        from sessions.keys import SessionKeys

        key = SessionKeys(self.gateway.settings.redis_prefix).history(conversation_id)
        return await self.redis.zscore(key, wamid) is not None

    async def assign(self, conversation_id: str, agent_id: str = AGENT_ID) -> None:
        """Let `agent_id` accept the routing offer of the waiting conversation."""
        router = Router(self.redis, self.gateway.settings.redis_prefix, self.clock)
        agents = AgentDirectory(router, DEFAULT_CHANNEL_COSTS)
        spec = AgentSpec(id=agent_id, name=agent_id, queues=["default"], capacity={"whatsapp": 3})
        await agents.save(spec, create=True)
        await router.set_presence(agent_id, "available")

        async def offer_id() -> str | None:
            for interaction in await agents.interactions(agent_id):
                if (
                    interaction["conversation_id"] == conversation_id
                    and interaction["state"] == "offered"
                ):
                    return str(interaction["offer_id"])
            return None

        await router.accept(await wait_for(offer_id, what="routing offer"), agent_id)

    async def reply(
        self,
        conversation_id: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        if body is not None:
            kwargs["json"] = body
        return await self.gateway.api(
            "POST",
            f"/api/v1/conversations/{conversation_id}/messages",
            token or self.agent_token,
            **kwargs,
        )

    async def message(self, message_id: str) -> dict[str, Any] | None:
        from sessions.messages import MessageStore

        store = MessageStore(self.redis, self.gateway.settings.redis_prefix, self.clock)
        return await store.get_by_message_id(message_id)

    async def wait_status(self, message_id: str, status: str) -> dict[str, Any]:
        """Wait until the message has `status`; `sent` also counts as reached by a later one."""
        accepted = {"sent", "delivered", "read"} if status == "sent" else {status}

        async def reached() -> dict[str, Any] | None:
            message = await self.message(message_id)
            return message if message and message.get("status") in accepted else None

        result: dict[str, Any] = await wait_for(reached, what=f"status {status} of {message_id}")
        return result


def outbound_settings(settings: Settings, graph_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "graph_base_url": graph_url,
        "outbound_rate_per_s": 1_000.0,
        "outbound_burst": 100,
        "outbound_recipient_rate_per_s": 1_000.0,
        "outbound_recipient_burst": 100,
        "outbound_backoff_base_ms": 1_000,
        "outbound_backoff_max_ms": 8_000,
        "graph_timeout_s": 0.5,
        "graph_connect_timeout_s": 0.5,
        "outbound_claim_idle_ms": 5_000,
        "phone_number_id": PHONE_NUMBER_ID,
        **overrides,
    }
    return settings.model_copy(update=values)


@pytest.fixture
def sender_overrides() -> dict[str, Any]:
    """Settings a test module may override (for example pacing)."""
    return {}


@pytest.fixture
async def outbound(
    settings: Settings, clock: ManualClock, redis: Redis, sender_overrides: dict[str, Any]
) -> AsyncIterator[Outbound]:
    simulator = GraphSimulator(
        webhook_url="http://127.0.0.1:9/unset",
        app_secret=TEST_SECRET,
        plan=StatusPlan(sent_delay_ms=5, delivered_delay_ms=10, read_delay_ms=15),
    )
    url = await simulator.start()
    app_settings = outbound_settings(settings, url, **sender_overrides)
    async with running_gateway(app_settings, clock, run_workers=True) as gateway:
        simulator.statuses.webhook_url = f"{gateway.base_url}/webhooks/whatsapp"
        harness = Outbound(gateway, simulator, clock, redis)
        harness.agent_token = await gateway.token(Role.AGENT, "Erika", AGENT_ID)
        yield harness
        await simulator.statuses.drain()
    await simulator.stop()
