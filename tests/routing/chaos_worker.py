"""One routing worker process for the concurrency test.

Usage: python -m tests.routing.chaos_worker REDIS_URL SEED STEPS TOTAL

It hands in interactions from a shared counter (up to TOTAL), answers random offers with
accept or reject, lets others time out by moving its own clock, sets agents that went
away back to available, and after every step checks the invariants in one atomic read.
It prints one JSON line: its counts, or the first violations found.
"""

from __future__ import annotations

import asyncio
import random
import sys

import orjson
from redis.asyncio import Redis

from common.clock import ManualClock
from routing.agents import AgentDirectory
from routing.engine import InteractionSpec, Router
from routing.errors import RoutingError
from routing.model import DEFAULT_CHANNEL_COSTS, Channel

PREFIX = "wag:"
AGENTS = [f"agent-{n}" for n in range(5)]
START_MS = 1_750_000_000_000


async def run(url: str, seed: int, steps: int, total: int) -> dict[str, object]:
    rng = random.Random(seed)
    redis = Redis.from_url(url)
    clock = ManualClock(START_MS + rng.randrange(0, 5000))
    router = Router(redis, PREFIX, clock)
    agents = AgentDirectory(router, DEFAULT_CHANNEL_COSTS)
    counts = {
        "enqueued": 0,
        "accepted": 0,
        "rejected": 0,
        "refused": 0,
        "timeouts": 0,
        "presence": 0,
        "checks": 0,
    }
    try:
        for _ in range(steps):
            clock.advance(rng.randrange(0, 4000))
            roll = rng.random()
            try:
                if roll < 0.35:
                    number = int(await redis.incr("chaos:next"))
                    if number <= total:
                        spec = InteractionSpec(
                            channel=Channel.WHATSAPP,
                            queue="default",
                            priority=rng.choice([0, 0, 0, 1, 2]),
                        )
                        await router.enqueue(f"ix-{number:03d}", spec)
                        counts["enqueued"] += 1
                elif roll < 0.75:
                    await _answer(rng, agents, router, counts)
                elif roll < 0.9:
                    counts["timeouts"] += int((await router.sweep())["offer"])
                else:
                    agent_id = rng.choice(AGENTS)
                    if (await agents.get(agent_id)).presence == "away":
                        await router.set_presence(agent_id, "available")
                        counts["presence"] += 1
            except RoutingError:
                # Another process got there first (an offer expired or was answered).
                counts["refused"] += 1

            violations = await router.invariant_violations()
            counts["checks"] += 1
            if violations:
                return {"ok": False, "violations": violations[:10], "counts": counts}
        return {"ok": True, "counts": counts}
    finally:
        await redis.aclose()


async def _answer(
    rng: random.Random, agents: AgentDirectory, router: Router, counts: dict[str, int]
) -> None:
    agent_id = rng.choice(AGENTS)
    offers = [item for item in await agents.interactions(agent_id) if item["state"] == "offered"]
    if not offers:
        return
    offer_id = rng.choice(offers)["offer_id"]
    if rng.random() < 0.4:
        await router.accept(offer_id, agent_id)
        counts["accepted"] += 1
    else:
        await router.reject(offer_id, agent_id)
        counts["rejected"] += 1


if __name__ == "__main__":
    url, seed, steps, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    outcome = asyncio.run(run(url, seed, steps, total))
    print(orjson.dumps(outcome).decode())
    sys.exit(0 if outcome["ok"] else 1)
