"""Sticky routing: a returning customer goes first to the agent who last served them."""

from __future__ import annotations

from tests.routing.conftest import Desk


async def _served_by(desk: Desk, agent_id: str, conversation_id: str, customer: str) -> None:
    await desk.chat(conversation_id, customer_id=customer)
    await desk.assign(agent_id, conversation_id)
    await desk.router.close(conversation_id, agent_id)


async def test_returning_customer_gets_last_agent(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2")
    await _served_by(desk, "a1", "first", "cust-1")
    desk.clock.advance(60_000)

    await desk.chat("second", customer_id="cust-1")

    assert list(await desk.offers("a1")) == ["second"]
    assert await desk.offers("a2") == {}


async def test_waits_for_busy_last_agent(desk: Desk) -> None:
    await desk.queue("default", sticky_wait_s=30)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await _served_by(desk, "a1", "first", "cust-1")
    await desk.chat("other")
    await desk.assign("a1", "other")
    await desk.agent("a2")

    await desk.chat("second", customer_id="cust-1")

    assert await desk.offers("a2") == {}
    assert await desk.waiting() == ["second"]


async def test_last_agent_frees_within_wait(desk: Desk) -> None:
    await desk.queue("default", sticky_wait_s=30)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await _served_by(desk, "a1", "first", "cust-1")
    await desk.chat("other")
    await desk.assign("a1", "other")
    await desk.agent("a2")
    await desk.chat("second", customer_id="cust-1")
    desk.clock.advance(10_000)

    await desk.router.close("other", "a1")

    assert list(await desk.offers("a1")) == ["second"]


async def test_falls_back_after_wait(desk: Desk) -> None:
    await desk.queue("default", sticky_wait_s=30)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await _served_by(desk, "a1", "first", "cust-1")
    await desk.chat("other")
    await desk.assign("a1", "other")
    await desk.agent("a2")
    await desk.chat("second", customer_id="cust-1")

    await desk.tick(30_000)

    assert list(await desk.offers("a2")) == ["second"]


async def test_offline_last_agent_falls_back(desk: Desk) -> None:
    await desk.agent("a1")
    await _served_by(desk, "a1", "first", "cust-1")
    await desk.router.set_presence("a1", "offline")
    await desk.agent("a2")

    await desk.chat("second", customer_id="cust-1")

    assert list(await desk.offers("a2")) == ["second"]


async def test_rejected_sticky_falls_back(desk: Desk) -> None:
    await desk.agent("a1")
    await _served_by(desk, "a1", "first", "cust-1")
    await desk.agent("a2", capacity={"whatsapp": 1})
    await desk.chat("busy")
    await desk.assign("a2", "busy")
    await desk.chat("second", customer_id="cust-1")
    offer_id = await desk.offer_for("a1", "second")
    await desk.router.close("busy", "a2")

    await desk.router.reject(offer_id, "a1")

    assert list(await desk.offers("a2")) == ["second"]


async def test_explicit_preferred_agent(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2")

    await desk.chat("c1", preferred_agent="a2")

    assert list(await desk.offers("a2")) == ["c1"]
