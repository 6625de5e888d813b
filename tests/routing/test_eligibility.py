"""Who may take what: skills with levels, language, presence, idle order, open work only."""

from __future__ import annotations

import pytest

from routing.errors import RoutingError
from tests.routing.conftest import Desk


async def test_missing_skill_not_offered(desk: Desk) -> None:
    await desk.agent("a1", skills={"sales": 5})

    await desk.chat("c1", skills={"billing": 1})

    assert await desk.offers("a1") == {}
    assert await desk.waiting() == ["c1"]


async def test_skill_level_too_low(desk: Desk) -> None:
    await desk.agent("junior", skills={"billing": 2})
    await desk.agent("senior", skills={"billing": 4})

    await desk.chat("c1", skills={"billing": 3})

    assert await desk.offers("junior") == {}
    assert list(await desk.offers("senior")) == ["c1"]


async def test_language_must_match(desk: Desk) -> None:
    await desk.agent("english", languages=["en"])
    await desk.agent("german", languages=["de", "en"])

    await desk.chat("c1", language="de")

    assert await desk.offers("english") == {}
    assert list(await desk.offers("german")) == ["c1"]


@pytest.mark.parametrize("presence", ["offline", "away", "wrap_up"], ids=str)
async def test_unavailable_agent_skipped(desk: Desk, presence: str) -> None:
    await desk.agent("a1")
    await desk.router.set_presence("a1", presence)

    await desk.chat("c1")

    assert await desk.offers("a1") == {}


async def test_agent_outside_queue_skipped(desk: Desk) -> None:
    await desk.queue("sales")
    await desk.agent("a1", queues=["sales"])

    await desk.chat("c1", queue="default")

    assert await desk.offers("a1") == {}


async def test_idle_longest_chosen(desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2")
    await desk.chat("warmup")
    assert list(await desk.offers("a1")) == ["warmup"]

    desk.clock.advance(1000)
    await desk.chat("c1")

    assert list(await desk.offers("a2")) == ["c1"]


async def test_closed_chats_do_not_count_as_busy(desk: Desk) -> None:
    """An agent who closed 50 chats today and has none open counts as free."""
    await desk.agent("veteran", capacity={"whatsapp": 1})
    for n in range(50):
        await desk.chat(f"done-{n}")
        await desk.assign("veteran", f"done-{n}")
        await desk.router.close(f"done-{n}", "veteran")
    await desk.agent("newcomer", capacity={"whatsapp": 1})
    await desk.chat("busy")
    assert list(await desk.offers("newcomer")) == ["busy"]

    await desk.chat("next")

    assert list(await desk.offers("veteran")) == ["next"]


async def test_two_equal_agents_share_evenly(desk: Desk) -> None:
    """Two equally free agents receiving 10 chats get 5 each."""
    await desk.agent("a1", capacity={"whatsapp": 10}, capacity_units=None)
    await desk.agent("a2", capacity={"whatsapp": 10}, capacity_units=None)

    for n in range(10):
        await desk.chat(f"c{n}")

    assert len(await desk.offers("a1")) == 5
    assert len(await desk.offers("a2")) == 5


async def test_unknown_skill_rejected(desk: Desk) -> None:
    with pytest.raises(RoutingError) as caught:
        await desk.chat("c1", skills={"astrology": 1})

    assert caught.value.code == "unknown_skill"
    assert await desk.state("c1") == {}


async def test_unknown_queue_rejected(desk: Desk) -> None:
    with pytest.raises(RoutingError) as caught:
        await desk.chat("c1", queue="nowhere")

    assert caught.value.code == "unknown_queue"
    assert await desk.state("c1") == {}
