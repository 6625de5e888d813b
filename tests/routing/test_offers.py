"""Offers: accept, reject, timeout back to the original place, missed offers to away."""

from __future__ import annotations

import pytest

from routing.config import RoutingConfig
from routing.errors import RoutingError
from tests.routing.conftest import Desk


async def test_accept_assigns(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")

    await desk.assign("a1", "c1")

    state = await desk.state("c1")
    assert state["state"] == "assigned"
    assert state["agent_id"] == "a1"
    assert "assigned" in await desk.event_types("a1")


async def test_offer_event_has_deadline(desk: Desk) -> None:
    await desk.queue("default", offer_timeout_s=20)
    await desk.agent("a1")

    await desk.chat("c1")

    events = [e for e in await desk.events.after("0-0") if e.type == "offer"]
    assert events[0].agent_id == "a1"
    assert events[0].data["conversation_id"] == "c1"
    assert events[0].data["deadline_ms"] == desk.clock.now_ms() + 20_000
    assert events[0].data["offer_id"] == await desk.offer_for("a1", "c1")


async def test_timeout_keeps_original_place(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("first")
    desk.clock.advance(1000)
    await desk.chat("second")
    await desk.router.set_presence("a1", "away")
    await desk.router.set_presence("a1", "available")
    assert await desk.waiting() == ["second"]
    desk.clock.advance(1000)
    await desk.chat("third")

    await desk.router.set_presence("a1", "offline")

    assert await desk.waiting() == ["first", "second", "third"]
    assert (await desk.state("first"))["enqueued_at_ms"] == str(desk.clock.now_ms() - 2000)


async def test_timeout_returns_to_queue(desk: Desk) -> None:
    await desk.queue("default", offer_timeout_s=30)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("first")
    desk.clock.advance(1000)
    await desk.chat("second")
    await desk.router.set_presence("a1", "offline")
    await desk.router.set_presence("a1", "available")
    offer_id = await desk.offer_for("a1", "first")

    result = await desk.tick(30_000)

    assert result["offer"] == 1
    offers = await desk.offers("a1")
    assert offer_id not in offers.values()
    assert "offer_expired" in await desk.event_types("a1")
    assert (await desk.agents.get("a1")).missed_in_row == 1


async def test_timeout_puts_back_in_front(desk: Desk) -> None:
    await desk.router.configure(RoutingConfig(max_missed_offers=1))
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("first")
    desk.clock.advance(1000)
    await desk.chat("second")

    await desk.tick(30_000)

    assert (await desk.agents.get("a1")).presence == "away"
    assert await desk.waiting() == ["first", "second"]


async def test_reject_returns_in_front(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("first")
    desk.clock.advance(1000)
    await desk.chat("second")
    await desk.agent("a2", available=False)

    await desk.router.reject(await desk.offer_for("a1", "first"), "a1")

    # a1 is the only agent, so it gets the same conversation again: still first in line.
    assert list(await desk.offers("a1")) == ["first"]
    assert await desk.waiting() == ["second"]
    assert (await desk.agents.get("a1")).missed_in_row == 1


async def test_reject_prefers_another_agent(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")
    await desk.agent("a2")

    await desk.router.reject(await desk.offer_for("a1", "c1"), "a1")

    assert list(await desk.offers("a2")) == ["c1"]
    assert await desk.offers("a1") == {}


async def test_missed_offers_set_away(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")

    for _ in range(3):
        await desk.tick(30_000)

    view = await desk.agents.get("a1")
    assert view.presence == "away"
    assert view.missed_in_row == 3
    assert await desk.waiting() == ["c1"]


async def test_accept_resets_missed_count(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    await desk.tick(30_000)
    await desk.tick(30_000)

    await desk.assign("a1", "c1")

    view = await desk.agents.get("a1")
    assert view.presence == "available"
    assert view.missed_in_row == 0


async def test_leaving_withdraws_offers(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")

    await desk.router.set_presence("a1", "away")

    assert await desk.waiting() == ["c1"]
    assert (await desk.agents.get("a1")).missed_in_row == 0


async def test_accept_after_expiry(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    offer_id = await desk.offer_for("a1", "c1")
    desk.clock.advance(30_000)

    with pytest.raises(RoutingError) as caught:
        await desk.router.accept(offer_id, "a1")

    assert caught.value.code == "offer_expired"
    assert (await desk.state("c1"))["state"] != "assigned"
    await desk.check()


async def test_accept_after_sweep_expired(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")
    offer_id = await desk.offer_for("a1", "c1")
    await desk.tick(30_000)

    with pytest.raises(RoutingError) as caught:
        await desk.router.accept(offer_id, "a1")

    assert caught.value.code == "offer_expired"


async def test_accept_by_other_agent(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2", available=False)
    await desk.chat("c1")
    offer_id = await desk.offer_for("a1", "c1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.accept(offer_id, "a2")

    assert caught.value.code == "offer_not_yours"
    assert caught.value.kind == "forbidden"
    assert (await desk.state("c1"))["state"] == "offered"


async def test_accept_twice(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.chat("c1")
    offer_id = await desk.offer_for("a1", "c1")
    await desk.router.accept(offer_id, "a1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.accept(offer_id, "a1")

    assert caught.value.code == "offer_accepted"


async def test_unknown_offer(desk: Desk) -> None:
    await desk.agent("a1")

    with pytest.raises(RoutingError) as caught:
        await desk.router.accept("nope", "a1")

    assert caught.value.kind == "not_found"


async def test_set_away_withdraws_other_offers(desk: Desk) -> None:
    """The miss that sets an agent away also takes back the agent's other pending offers."""
    await desk.agent("a1", capacity={"whatsapp": 2})
    await desk.chat("c1")
    await desk.chat("c2")
    kept_offer = await desk.offer_for("a1", "c2")

    for _ in range(3):
        await desk.router.reject(await desk.offer_for("a1", "c1"), "a1")

    assert (await desk.agents.get("a1")).presence == "away"
    assert sorted(await desk.waiting()) == ["c1", "c2"]
    with pytest.raises(RoutingError):
        await desk.router.accept(kept_offer, "a1")
    await desk.check()
