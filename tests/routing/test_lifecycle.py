"""Assigned conversations: close, wrap-up, transfer, hold, resume, reopen, messages."""

from __future__ import annotations

import pytest

from routing.errors import RoutingError
from tests.routing.conftest import Desk


async def test_close_offers_oldest_at_once(desk: Desk) -> None:
    """An agent at capacity closes a chat and the oldest waiting one is offered at once."""
    await desk.agent("a1", capacity={"whatsapp": 2})
    for name in ("c1", "c2", "oldest", "younger"):
        await desk.chat(name)
        desk.clock.advance(1000)
    await desk.assign("a1", "c1")
    await desk.assign("a1", "c2")

    result = await desk.router.close("c1", "a1")

    assert result["offers"] == 1
    assert list(await desk.offers("a1")) == ["oldest"]
    assert await desk.waiting() == ["younger"]


async def test_close_by_other_agent(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2", available=False)
    await desk.chat("c1")
    await desk.assign("a1", "c1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.close("c1", "a2")

    assert caught.value.code == "not_holder"
    assert (await desk.state("c1"))["state"] == "assigned"


async def test_close_waiting_conversation(desk: Desk) -> None:
    await desk.chat("c1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.close("c1", None)

    assert caught.value.code == "conversation_queued"


async def test_wrap_up_holds_capacity(desk: Desk) -> None:
    await desk.queue("default", wrap_up_s=20)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")

    await desk.router.close("c1", "a1")

    assert (await desk.state("c1"))["state"] == "wrap_up"
    assert await desk.offers("a1") == {}
    assert await desk.waiting() == ["c2"]


async def test_wrap_up_end_frees_capacity(desk: Desk) -> None:
    await desk.queue("default", wrap_up_s=20)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")
    await desk.router.close("c1", "a1")

    result = await desk.tick(20_000)

    assert result["wrapup"] == 1
    assert (await desk.state("c1"))["state"] == "closed"
    assert list(await desk.offers("a1")) == ["c2"]


async def test_wrap_up_ended_early(desk: Desk) -> None:
    await desk.queue("default", wrap_up_s=60)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")
    await desk.router.close("c1", "a1")

    await desk.router.end_wrap_up("c1", "a1")

    assert list(await desk.offers("a1")) == ["c2"]


async def test_transfer_to_agent(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")
    await desk.agent("a2", available=False)
    await desk.router.set_presence("a2", "available")
    await desk.assign("a2", "c2")

    result = await desk.router.transfer("c1", "a1", to_agent="a2", note="needs billing")

    assert result["state"] == "offered"
    assert list(await desk.offers("a2")) == ["c1"]
    assert (await desk.agents.get("a1")).open.get("whatsapp") == 0
    assert "transferred" in await desk.event_types("a1")
    assert "transferred" in await desk.event_types("a2")


async def test_transfer_to_busy_agent(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2", available=False)
    await desk.chat("c1")
    await desk.assign("a1", "c1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.transfer("c1", "a1", to_agent="a2")

    assert caught.value.code == "agent_unavailable"
    assert (await desk.state("c1"))["agent_id"] == "a1"
    await desk.check()


async def test_transfer_to_queue(desk: Desk) -> None:
    await desk.queue("billing")
    await desk.agent("a1")
    await desk.agent("b1", queues=["billing"], available=False)
    await desk.chat("c1")
    await desk.assign("a1", "c1")

    await desk.router.transfer("c1", "a1", to_queue="billing", note="invoice question")

    assert await desk.waiting("billing") == ["c1"]
    await desk.router.set_presence("b1", "available")
    assert list(await desk.offers("b1")) == ["c1"]
    assert (await desk.state("c1"))["transfer_note"] == "invoice question"


async def test_transfer_to_unknown_queue(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")
    await desk.assign("a1", "c1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.transfer("c1", "a1", to_queue="nowhere")

    assert caught.value.code == "unknown_queue"
    assert (await desk.state("c1"))["state"] == "assigned"


async def test_declined_transfer_requeues(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.agent("a2")
    await desk.router.transfer("c1", "a1", to_agent="a2")

    await desk.router.reject(await desk.offer_for("a2", "c1"), "a2")

    # Back in the queue; a1 has room again and takes it.
    assert list(await desk.offers("a1")) == ["c1"]


async def test_hold_keeps_capacity(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")

    await desk.router.hold("c1", "a1")

    assert (await desk.state("c1"))["state"] == "held"
    assert await desk.offers("a1") == {}


async def test_hold_frees_capacity(desk: Desk) -> None:
    await desk.queue("default", hold_frees_capacity=True)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")

    await desk.router.hold("c1", "a1")

    assert list(await desk.offers("a1")) == ["c2"]
    await desk.check()


async def test_resume_needs_room(desk: Desk) -> None:
    await desk.queue("default", hold_frees_capacity=True)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.chat("c2")
    await desk.router.hold("c1", "a1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.resume("c1", "a1")

    assert caught.value.code == "no_capacity"
    assert (await desk.state("c1"))["state"] == "held"


async def test_resume_restores_assignment(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.router.hold("c1", "a1")

    await desk.router.resume("c1", "a1")

    assert (await desk.state("c1"))["state"] == "assigned"
    await desk.check()


async def test_abandon_waiting(desk: Desk) -> None:
    await desk.chat("c1")

    await desk.router.abandon("c1")

    assert (await desk.state("c1"))["state"] == "abandoned"
    assert await desk.waiting() == []


async def test_closed_kept_thirty_days(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")
    await desk.assign("a1", "c1")

    await desk.router.close("c1", "a1")

    ttl_s = await desk.router.redis.ttl(desk.router.keys.interaction("c1"))
    assert 29 * 86_400 < ttl_s <= 30 * 86_400


async def test_reopen_keeps_forever(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")
    await desk.assign("a1", "c1")
    await desk.router.close("c1", "a1")

    await desk.chat("c1")

    assert await desk.router.redis.ttl(desk.router.keys.interaction("c1")) == -1
