"""Capacity per channel and the cross-channel cost of each open conversation."""

from __future__ import annotations

from tests.routing.conftest import Desk


async def test_capacity_two_five_waiting(desk: Desk) -> None:
    """An agent of capacity 2 with 5 chats waiting gets 2 offers and 3 wait."""
    for n in range(5):
        await desk.chat(f"c{n}")
        desk.clock.advance(10)

    await desk.agent("a1", capacity={"whatsapp": 2})

    assert sorted(await desk.offers("a1")) == ["c0", "c1"]
    assert await desk.waiting() == ["c2", "c3", "c4"]
    await desk.check()


async def test_offers_count_toward_capacity(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 1})
    await desk.chat("c1")

    await desk.chat("c2")

    assert list(await desk.offers("a1")) == ["c1"]
    assert await desk.waiting() == ["c2"]


async def test_no_capacity_on_channel(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 3})

    await desk.chat("call", channel="voice")

    assert await desk.offers("a1") == {}


async def test_voice_call_blocks_chats(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 3, "voice": 1})
    await desk.chat("call", channel="voice")
    await desk.assign("a1", "call")

    await desk.chat("c1")

    assert await desk.offers("a1") == {}
    view = await desk.agents.get("a1")
    assert view.used_units == 100


async def test_chat_blocks_voice_call(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 3, "voice": 1})
    await desk.chat("c1")

    await desk.chat("call", channel="voice")

    assert list(await desk.offers("a1")) == ["c1"]
    assert await desk.waiting() == ["call"]


async def test_email_fits_beside_chats(desk: Desk) -> None:
    """Three chats (3 x 25) and an e-mail (20) fit in 100 units; a fourth chat does not."""
    await desk.agent("a1", capacity={"whatsapp": 4, "email": 2})
    for n in range(3):
        await desk.chat(f"c{n}")
    await desk.chat("mail", channel="email")

    await desk.chat("c3")

    assert sorted(await desk.offers("a1")) == ["c0", "c1", "c2", "mail"]
    assert (await desk.agents.get("a1")).used_units == 95
    assert await desk.waiting() == ["c3"]


async def test_units_off_counts_channels_only(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 6}, capacity_units=None)

    for n in range(6):
        await desk.chat(f"c{n}")

    assert len(await desk.offers("a1")) == 6


async def test_agent_costs_override(desk: Desk) -> None:
    await desk.agent("a1", capacity={"whatsapp": 5}, channel_costs={"whatsapp": 20})

    for n in range(5):
        await desk.chat(f"c{n}")

    assert len(await desk.offers("a1")) == 5
