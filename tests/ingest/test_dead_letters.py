"""Failing updates are retried, dead-lettered after the limit, and replayable."""

from __future__ import annotations

import asyncio

from gateway.auth import Role
from gateway.inbound.worker import InboundWorker, dead_letters, replay_dead_letter
from sessions.conversations import conversation_id_for
from tests.helpers import envelope, text_value

BIZ = "156305421874268"


async def test_failing_hook_goes_to_dead_letters_then_replays(gateway, redis, clock):
    calls: list[str] = []
    broken = True

    async def flaky_hook(message, conversation_id):
        calls.append(message.wamid)
        if broken:
            raise RuntimeError("downstream unavailable")

    gateway.hooks.on_message.append(flaky_hook)
    body = envelope(
        text_value("wamid.H1", "eins"), text_value("wamid.H2", "zwei", wa_id="4915100000009")
    )
    await gateway.post_webhook(body)

    worker = InboundWorker(
        redis, "wag:", clock, hooks=gateway.hooks, max_attempts=5, claim_idle_ms=1
    )
    await worker.ensure_group()
    await worker.read_once()
    for _ in range(4):
        await asyncio.sleep(0.005)
        await worker.claim_stale()
    assert len(calls) == 10  # two messages, five attempts each
    letters = await dead_letters(redis, "wag:")
    assert len(letters) == 2
    assert {letter["attempts"] for letter in letters} == {"5"}
    assert "downstream unavailable" in letters[0]["error"]
    assert (await redis.xpending("wag:inbound", "inbound"))["pending"] == 0

    broken = False
    # Both letters come from one body: one replay covers both.
    assert await replay_dead_letter(redis, "wag:", letters[0]["id"]) is not None
    await worker.drain()
    assert await redis.xlen("wag:inbound:dead") == 0
    # Both messages were stored at the first attempt; the replays finish their follow-up steps.
    token = await gateway.token(Role.ADMIN)
    for wa_id in ("4915112345678", "4915100000009"):
        status, data = await gateway.api(
            "GET", f"/api/v1/conversations/{conversation_id_for(BIZ, wa_id)}/messages", token
        )
        assert status == 200
        assert len(data["items"]) == 1


async def test_replay_of_unknown_dead_letter(redis):
    assert await replay_dead_letter(redis, "wag:", "1-1") is None


async def test_replay_covers_every_letter_of_a_body(gateway, redis, clock):
    async def broken_hook(message, conversation_id):
        raise RuntimeError("down")

    gateway.hooks.on_message.append(broken_hook)
    body = envelope(text_value("wamid.J1", "a"), text_value("wamid.J2", "b", wa_id="4915100000008"))
    await gateway.post_webhook(body)
    worker = InboundWorker(redis, "wag:", clock, hooks=gateway.hooks, max_attempts=1)
    await worker.drain()
    letters = await dead_letters(redis, "wag:")
    assert len(letters) == 2

    assert await replay_dead_letter(redis, "wag:", letters[0]["id"]) is not None
    assert await redis.xlen("wag:inbound:dead") == 0


async def test_replay_rejects_malformed_id(redis):
    import pytest

    with pytest.raises(ValueError, match="invalid dead letter id"):
        await replay_dead_letter(redis, "wag:", "not-an-id")


async def test_unknown_webhook_field_is_ignored(gateway, redis):
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "some_future_field", "value": {"a": 1}}]}]}
    assert (await gateway.post_webhook(body)).status == 200
    await gateway.drain()
    assert await redis.xlen("wag:events:fields") == 0
    assert await redis.xlen("wag:inbound:dead") == 0
