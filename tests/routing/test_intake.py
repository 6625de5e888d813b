"""The WhatsApp hand-off: new chats queue, held chats deliver, closed chats reopen."""

from __future__ import annotations

import pytest

from routing.intake import Intake
from tests.routing.conftest import PREFIX, Desk


@pytest.fixture
def intake(desk: Desk) -> Intake:
    return Intake(desk.router.redis, PREFIX, desk.clock, router=desk.router)


async def _message(intake: Intake, conversation_id: str = "conv-1", **fields: object) -> str:
    return await intake.on_customer_message(
        conversation_id, phone_number_id="pn-1", customer_id="cust-1", wamid="wamid.1", **fields
    )


async def test_new_chat_queued(intake: Intake, desk: Desk) -> None:
    assert await _message(intake) == "queued"

    assert await desk.waiting() == ["conv-1"]


async def test_waiting_chat_stays(intake: Intake, desk: Desk) -> None:
    await _message(intake)
    desk.clock.advance(5000)

    assert await _message(intake) == "waiting"

    state = await desk.state("conv-1")
    assert int(state["enqueued_at_ms"]) == desk.clock.now_ms() - 5000


async def test_assigned_chat_delivered(intake: Intake, desk: Desk) -> None:
    await desk.agent("a1")
    await _message(intake)
    await desk.assign("a1", "conv-1")

    assert await _message(intake) == "delivered"

    assert (await desk.event_types("a1"))[-1] == "message"
    assert await desk.waiting() == []


async def test_closed_chat_reopens_sticky(intake: Intake, desk: Desk) -> None:
    await desk.agent("a1")
    await desk.agent("a2")
    await _message(intake)
    await desk.assign("a1", "conv-1")
    await desk.router.close("conv-1", "a1")
    desk.clock.advance(60_000)

    assert await _message(intake) == "queued"

    assert list(await desk.offers("a1")) == ["conv-1"]
    assert (await desk.state("conv-1"))["contacts"] == "2"


async def test_wrap_up_chat_returns(intake: Intake, desk: Desk) -> None:
    await desk.queue("default", wrap_up_s=30)
    await desk.agent("a1")
    await _message(intake)
    await desk.assign("a1", "conv-1")
    await desk.router.close("conv-1", "a1")

    assert await _message(intake) == "delivered"

    assert (await desk.state("conv-1"))["state"] == "assigned"
    await desk.tick(30_000)
    assert (await desk.state("conv-1"))["state"] == "assigned"


async def test_queue_chosen_by_match(intake: Intake, desk: Desk) -> None:
    await desk.queue("german", match={"languages": ["de"]}, order=10)

    await _message(intake, language="de")

    assert await desk.waiting("german") == ["conv-1"]


async def test_ad_source_queue(intake: Intake, desk: Desk) -> None:
    await desk.queue("campaign", match={"sources": ["ad"]}, order=10)

    await _message(intake, referral_source="ad")

    assert await desk.waiting("campaign") == ["conv-1"]


async def test_window_from_message_time(intake: Intake, desk: Desk) -> None:
    sent_ms = desk.clock.now_ms() - 3_600_000

    await _message(intake, timestamp_ms=sent_ms)

    state = await desk.state("conv-1")
    assert int(state["window_expires_at_ms"]) == sent_ms + 24 * 3_600_000


async def test_default_queue_created(intake: Intake, desk: Desk) -> None:
    await desk.router.redis.hdel(desk.router.keys.queues, "default")

    assert await _message(intake) == "queued"

    assert await desk.waiting() == ["conv-1"]


async def test_describe_assignment(intake: Intake, desk: Desk) -> None:
    await desk.agent("a1")
    await _message(intake)
    await desk.assign("a1", "conv-1")

    view = await intake.describe("conv-1")

    assert view.state == "assigned"
    assert view.agent_id == "a1"


async def test_window_from_sessions(intake: Intake, desk: Desk) -> None:
    from sessions.keys import SessionKeys

    last_ms = desk.clock.now_ms() - 7_200_000
    await desk.router.redis.hset(
        SessionKeys(PREFIX).conversation("conv-1"), "last_customer_message_at_ms", last_ms
    )

    await _message(intake, timestamp_ms=desk.clock.now_ms())

    state = await desk.state("conv-1")
    assert int(state["window_expires_at_ms"]) == last_ms + 24 * 3_600_000


async def test_wrap_up_full_agent_requeues(intake: Intake, desk: Desk) -> None:
    await desk.queue("default", wrap_up_s=30, hold_frees_capacity=True)
    await desk.agent("a1", capacity={"whatsapp": 1})
    await _message(intake)
    await desk.assign("a1", "conv-1")
    await desk.router.hold("conv-1", "a1")
    await desk.chat("other")
    await desk.assign("a1", "other")
    await desk.router.close("conv-1", "a1")

    assert await _message(intake) == "queued"

    assert await desk.waiting() == ["conv-1"]
    assert (await desk.state("conv-1"))["preferred_agent"] == "a1"
    await desk.check()
