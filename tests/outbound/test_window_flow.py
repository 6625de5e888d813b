"""Windows through the whole gateway: referrals, warnings to the agent, pacing per customer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.window_warnings import WindowWarnings
from sessions.keys import SessionKeys
from sessions.windows import FREE_ENTRY_POINT_MS, SERVICE_WINDOW_MS, WindowStore
from tests.helpers import envelope, text_value
from tests.outbound.conftest import AGENT_ID, PHONE_NUMBER_ID, WA_ID, Outbound, wait_for

MINUTE_MS = 60_000
REFERRAL = {
    "source_url": "https://fb.me/564a58c3c",
    "source_id": "132976979479206387",
    "source_type": "ad",
    "headline": "Chat with us",
    "ctwa_clid": "Aff-2ebbda7c03797686698ff7d4e7b460f039ee45e5bd35af3e9721c5f2cb71a176",
}


async def test_referral_answered_opens_free_entry_point(outbound: Outbound) -> None:
    value = text_value(
        "wamid.ad1",
        "Mehr Infos bitte",
        wa_id=WA_ID,
        timestamp_s=outbound.clock.now_ms() // 1000,
        phone_number_id=PHONE_NUMBER_ID,
    )
    value["messages"][0]["referral"] = REFERRAL
    assert (await outbound.gateway.post_webhook(envelope(value))).status == 200
    conversation_id = await outbound.customer_writes("und?", age_ms=1_000)
    await outbound.assign(conversation_id)
    answered_ms = outbound.clock.advance(2 * 3_600_000)

    _, body = await outbound.reply(conversation_id, {"type": "text", "text": "Gern!"})
    await outbound.wait_status(body["message_id"], "sent")
    _, window = await outbound.gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}/window", outbound.agent_token
    )

    assert window["window"]["free_entry_point_open"]
    assert window["window"]["free_entry_point_expires_at_ms"] == answered_ms + FREE_ENTRY_POINT_MS


async def test_warning_reaches_holding_agent(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    expires_ms = outbound.clock.now_ms() // 1000 * 1000 + SERVICE_WINDOW_MS
    outbound.clock.set(expires_ms - 59 * MINUTE_MS)
    sent: list[tuple[str, dict[str, Any]]] = []

    async def publish(agent_id: str, event: dict[str, Any]) -> None:
        sent.append((agent_id, event))

    warnings = WindowWarnings(
        outbound.redis,
        outbound.gateway.settings.redis_prefix,
        outbound.clock,
        warn_minutes=[60, 15],
        publish=publish,
    )

    await warnings.scan()
    outbound.clock.set(expires_ms - 14 * MINUTE_MS)
    await warnings.scan()
    await warnings.scan()

    assert [agent for agent, _ in sent] == [AGENT_ID, AGENT_ID]
    assert [event["minutes_left"] for _, event in sent] == [60, 15]
    assert sent[0][1]["type"] == "window_warning"
    assert sent[0][1]["conversation_id"] == conversation_id
    assert sent[0][1]["expires_at_ms"] == expires_ms


async def test_no_warning_without_agent(redis: Redis, clock: ManualClock) -> None:
    """A conversation that waits in the queue warns nobody; routing moves it ahead instead."""
    key = SessionKeys("wag:").conversation("c_waiting")
    fields = {"id": "c_waiting", "last_customer_message_at_ms": clock.now_ms()}
    await redis.hset(key, mapping=fields)
    windows = WindowStore(redis, "wag:", clock)
    await windows.track("c_waiting")
    clock.advance(SERVICE_WINDOW_MS - 10 * MINUTE_MS)
    published: list[str] = []

    async def publish(agent_id: str, event: dict[str, Any]) -> None:
        published.append(agent_id)

    warnings = WindowWarnings(redis, "wag:", clock, warn_minutes=[60, 15], publish=publish)

    assert await warnings.scan() == 0
    assert published == []


@pytest.mark.parametrize(
    "sender_overrides",
    [{"outbound_recipient_rate_per_s": 1 / 6, "outbound_recipient_burst": 1}],
    ids=["1-per-6s"],
)
async def test_pair_rate_paces_second_reply(outbound: Outbound) -> None:
    """The second message to one customer waits for the pair rate limit instead of failing."""
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    keys = OutboundKeys(outbound.gateway.settings.redis_prefix)

    _, first = await outbound.reply(conversation_id, {"type": "text", "text": "eins"})
    await outbound.wait_status(first["message_id"], "sent")
    now_ms = outbound.clock.now_ms()
    _, second = await outbound.reply(conversation_id, {"type": "text", "text": "zwei"})
    delayed = await wait_for(
        lambda: outbound.redis.zrange(keys.delayed, 0, -1, withscores=True), what="paced send"
    )
    calls_before = len(outbound.simulator.sends())
    outbound.clock.advance(6_000)
    await outbound.wait_status(second["message_id"], "sent")

    assert calls_before == 1
    assert delayed[0][1] == now_ms + 6_000


async def test_throttle_shared_bucket(outbound: Outbound) -> None:
    """The per-number bucket gives `burst` sends at once, then one per 1/rate."""
    from gateway.outbound.throttle import Throttle

    throttle = Throttle(
        outbound.redis,
        "wag:",
        outbound.clock,
        rate_per_s=10,
        burst=3,
        recipient_rate_per_s=1,
        recipient_burst=1,
    )

    waits = [await throttle.take_number("pn-1") for _ in range(4)]
    outbound.clock.advance(100)
    after_refill = await throttle.take_number("pn-1")

    assert waits == [0, 0, 0, 100]
    assert after_refill == 0
    assert time.monotonic() > 0


def call_value(direction: str, timestamp_s: int) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Erika Mustermann"}, "wa_id": WA_ID}],
        "calls": [
            {
                "id": f"wacid.{timestamp_s}",
                "from": WA_ID,
                "to": "4930123456789",
                "event": "connect",
                "direction": direction,
                "timestamp": str(timestamp_s),
            }
        ],
    }


@pytest.mark.parametrize(
    ("direction", "moves"),
    [("USER_INITIATED", True), ("BUSINESS_INITIATED", False)],
    ids=["customer-calls", "business-calls"],
)
async def test_call_moves_window(outbound: Outbound, direction: str, moves: bool) -> None:
    conversation_id = await outbound.customer_writes(age_ms=20 * 3_600_000)
    call_s = outbound.clock.now_ms() // 1000

    body = envelope(call_value(direction, call_s), field="calls")
    assert (await outbound.gateway.post_webhook(body)).status == 200

    async def expiry() -> int | None:
        _, data = await outbound.gateway.api(
            "GET", f"/api/v1/conversations/{conversation_id}/window", outbound.agent_token
        )
        expires: int = data["window"]["expires_at_ms"]
        return expires if expires == call_s * 1000 + SERVICE_WINDOW_MS else None

    if moves:
        assert await wait_for(expiry, what="window moved by the call")
    else:
        await outbound.gateway.drain()
        assert await expiry() is None
