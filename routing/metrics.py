"""Queue and agent figures for supervisors, from live state and today's counters (UTC day).

Service level today = conversations answered within the queue's target / (answered +
abandoned). Average speed of answer = total wait of answered conversations / answered.
Both count the first answer of a contact only; transfers do not count again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from routing.agents import AgentDirectory
from routing.config import QueueConfig
from routing.engine import Router
from routing.queues import QueueDirectory

COUNTERS = (
    "enqueued",
    "offered",
    "answered",
    "answered_in_sl",
    "answer_wait_ms",
    "abandoned",
    "missed_offers",
    "closed",
    "transferred_in",
)


async def queue_summary(router: Router, queue: QueueConfig) -> dict[str, Any]:
    """Return the live and today's figures of one queue."""
    keys = router.keys
    now_ms = router.clock.now_ms()
    async with router.redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.queue(queue.name))
        pipe.zrange(keys.waiting_since(queue.name), 0, 0, withscores=True)
        pipe.hmget(keys.stats(queue.name, now_ms), list(COUNTERS))
        pipe.zcard(keys.ready(queue.name))
        waiting, oldest, raw_counts, ready = await pipe.execute()

    counts = {name: int(value or 0) for name, value in zip(COUNTERS, raw_counts, strict=True)}
    longest_wait_ms = int(now_ms - oldest[0][1]) if oldest else 0
    handled = counts["answered"] + counts["abandoned"]
    service_level = round(100 * counts["answered_in_sl"] / handled, 1) if handled else None
    asa_ms = round(counts["answer_wait_ms"] / counts["answered"]) if counts["answered"] else None
    return {
        "name": queue.name,
        "waiting": waiting,
        "longest_wait_ms": longest_wait_ms,
        "agents_ready": ready,
        "service_level": {
            "target_percent": queue.service_level.percent,
            "within_s": queue.service_level.within_s,
            "today_percent": service_level,
        },
        "average_speed_of_answer_ms": asa_ms,
        "answered": counts["answered"],
        "abandoned": counts["abandoned"],
        "offers_missed": counts["missed_offers"],
        "offered": counts["offered"],
        "enqueued": counts["enqueued"],
        "closed": counts["closed"],
        "transferred_in": counts["transferred_in"],
        "config": queue.model_dump(mode="json"),
    }


async def supervisor_overview(
    router: Router, queues: QueueDirectory, agents: AgentDirectory
) -> dict[str, Any]:
    """Return every queue's figures and the agents by presence with their capacity in use."""
    queue_rows = [await queue_summary(router, queue) for queue in await queues.all()]
    agent_views = await agents.all()
    by_presence = Counter(view.presence for view in agent_views)
    return {
        "queues": queue_rows,
        "agents": {
            "by_presence": {
                presence: by_presence.get(presence, 0)
                for presence in ("available", "away", "wrap_up", "offline")
            },
            "list": [
                {
                    "id": view.id,
                    "name": view.name,
                    "presence": view.presence,
                    "usage": view.as_dict()["usage"],
                    "used_units": view.used_units,
                    "capacity_units": view.capacity_units,
                }
                for view in agent_views
            ],
        },
    }
