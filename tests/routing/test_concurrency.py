"""Four operating-system processes route against one Redis without breaking invariants."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

from routing.engine import Router
from tests.routing.conftest import Desk

WORKERS = 4
STEPS = 400
TOTAL = 200
ROOT = Path(__file__).resolve().parents[2]


async def test_four_processes_keep_invariants(desk: Desk, redis_url: str, router: Router) -> None:
    await desk.queue("default", offer_timeout_s=5)
    for n in range(5):
        await desk.agent(f"agent-{n}", capacity={"whatsapp": 3})

    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.routing.chaos_worker",
            redis_url,
            str(seed),
            str(STEPS),
            str(TOTAL),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for seed in range(WORKERS)
    ]
    outputs = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=120
    )

    results = [orjson.loads(stdout.splitlines()[-1]) for stdout, _ in outputs]
    for result, (_, stderr) in zip(results, outputs, strict=True):
        assert result["ok"], (result, stderr.decode()[-2000:])
    totals = {key: sum(r["counts"][key] for r in results) for key in results[0]["counts"]}
    assert totals["enqueued"] == TOTAL
    assert totals["accepted"] > 0
    assert totals["rejected"] > 0
    assert totals["timeouts"] > 0

    # Taking everyone off withdraws the open offers, so each interaction must now be
    # assigned or waiting in its queue, and nothing may be lost.
    for n in range(5):
        await router.set_presence(f"agent-{n}", "offline")
    assert await router.invariant_violations() == []
    states = {}
    for number in range(1, TOTAL + 1):
        state = await desk.state(f"ix-{number:03d}")
        states[state["state"]] = states.get(state["state"], 0) + 1
    assert set(states) <= {"assigned", "queued"}, states
    assert states.get("assigned", 0) <= 15
    assert await router.redis.zcard(router.keys.queue("default")) == states.get("queued", 0)
