"""Random sequences of every routing step keep the capacity and holding invariants.

The concurrency test covers races between processes on offers. This walk covers the
other steps (close, wrap-up, transfer, hold, resume, abandon, reopen, presence, timers)
in one process and checks the invariants in one atomic read after every step.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from routing.errors import RoutingError
from routing.intake import Intake
from tests.routing.conftest import PREFIX, Desk

STEPS = 400
AGENTS = ["a1", "a2", "a3", "a4"]
CHANNELS = ["whatsapp", "whatsapp", "email", "voice", "webchat"]


async def _setup(desk: Desk) -> None:
    await desk.queue(
        "default",
        wrap_up_s=20,
        hold_frees_capacity=True,
        offer_timeout_s=15,
        bullseye=[{"after_s": 20, "level_relax": 1}, {"after_s": 40, "drop_skills": True}],
    )
    await desk.queue("billing", sticky_wait_s=10)
    profiles = [
        {"skills": {"billing": 3}, "languages": ["de"], "capacity": {"whatsapp": 2, "email": 1}},
        {"skills": {"tech": 2}, "languages": ["de", "en"], "capacity": {"whatsapp": 3, "voice": 1}},
        {
            "skills": {"billing": 1, "tech": 4},
            "languages": ["en"],
            "capacity": {"whatsapp": 1, "webchat": 2, "email": 2},
        },
        {
            "skills": {},
            "languages": ["de"],
            "capacity": {"voice": 1, "whatsapp": 2},
            "capacity_units": None,
        },
    ]
    for agent_id, profile in zip(AGENTS, profiles, strict=True):
        await desk.agent(agent_id, queues=["default", "billing"], **profile)


async def _work(desk: Desk) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Return every agent's conversations grouped by state, as (agent id, conversation)."""
    work: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "offered": [],
        "assigned": [],
        "held": [],
        "wrap_up": [],
    }
    for agent_id in AGENTS:
        for conversation in await desk.agents.interactions(agent_id):
            work[conversation["state"]].append((agent_id, conversation))
    return work


async def _hand_in(desk: Desk, intake: Intake, rng: random.Random, n: int) -> None:
    if rng.random() < 0.7:
        skills = rng.choice([{}, {"billing": rng.randint(1, 4)}, {"tech": rng.randint(1, 4)}])
        await desk.chat(
            f"ix-{n}",
            channel=rng.choice(CHANNELS),
            queue=rng.choice(["default", "billing"]),
            priority=rng.randint(0, 2),
            skills=skills,
            language=rng.choice(["de", "en", None]),
            customer_id=f"cust-{rng.randint(1, 8)}",
        )
    else:
        await intake.on_customer_message(
            f"wa-{rng.randint(1, 6)}",
            phone_number_id="pn",
            customer_id=f"cust-{rng.randint(1, 8)}",
            timestamp_ms=desk.clock.now_ms(),
        )


async def _act(desk: Desk, rng: random.Random, work: dict[str, list[tuple[str, Any]]]) -> bool:
    """Run one step on existing work; return False when the chosen kind of work is missing."""
    router = desk.router
    kinds = [
        kind
        for kind in ("offered", "offered", "assigned", "assigned", "held", "wrap_up")
        if work[kind]
    ]
    if not kinds:
        return False
    kind = rng.choice(kinds)
    agent_id, conversation = rng.choice(work[kind])
    conversation_id = conversation["conversation_id"]

    if kind == "offered":
        answer = router.accept if rng.random() < 0.75 else router.reject
        await answer(conversation["offer_id"], agent_id)
    elif kind == "held":
        await router.resume(conversation_id, agent_id)
    elif kind == "wrap_up":
        await router.end_wrap_up(conversation_id, agent_id)
    else:
        action = rng.choice(["close", "close", "hold", "to_agent", "to_queue"])
        if action == "close":
            await router.close(conversation_id, agent_id)
        elif action == "hold":
            await router.hold(conversation_id, agent_id)
        elif action == "to_agent":
            await router.transfer(conversation_id, agent_id, to_agent=rng.choice(AGENTS))
        else:
            await router.transfer(conversation_id, agent_id, to_queue="billing")
    return True


async def _step(desk: Desk, intake: Intake, rng: random.Random, n: int) -> None:
    roll = rng.random()
    if roll < 0.25:
        await _hand_in(desk, intake, rng, n)
    elif roll < 0.75:
        await _act(desk, rng, await _work(desk))
    elif roll < 0.8:
        await desk.router.abandon(f"ix-{rng.randint(0, n)}")
    elif roll < 0.88:
        presence = rng.choice(["available", "available", "away", "offline", "wrap_up"])
        await desk.router.set_presence(rng.choice(AGENTS), presence)
    else:
        await desk.tick(rng.randint(1000, 25_000))


@pytest.mark.parametrize("seed", range(4), ids=lambda seed: f"seed-{seed}")
async def test_random_walk(desk: Desk, seed: int) -> None:
    rng = random.Random(seed)
    intake = Intake(desk.router.redis, PREFIX, desk.clock, router=desk.router)
    await _setup(desk)
    refused = 0

    for n in range(STEPS):
        try:
            await _step(desk, intake, rng, n)
        except RoutingError:
            refused += 1  # a rejected step (busy target, no room, not waiting) changes nothing
        violations = await desk.router.invariant_violations()
        assert violations == [], f"step {n}: {violations}"

    assert refused < STEPS // 2
