"""The timed-step loop: expire offers and run wrap-up ends and wake-ups when they are due.

It never scans queues. It sleeps until the earliest deadline (at most `max_sleep_ms`, so
that a deadline added by another process is seen soon) and runs the steps that are due.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.exceptions import RedisError

from common.tasks import raise_if_cancelling
from routing.engine import Router

log = structlog.get_logger(__name__)


async def run_sweeper(router: Router, *, max_sleep_ms: int = 200, batch: int = 500) -> None:
    """Sweep until cancelled; Redis errors are logged and retried after a pause."""
    log.info("routing_sweeper_started", max_sleep_ms=max_sleep_ms)
    try:
        while True:
            # redis-py may absorb a cancellation that lands during a call; see common.tasks.
            raise_if_cancelling()
            sleep_ms = max_sleep_ms
            try:
                result = await router.sweep(batch)
            except RedisError as exc:
                raise_if_cancelling()
                log.warning("routing_sweep_failed", error=str(exc))
            else:
                if result["ran"]:
                    log.debug(
                        "routing_swept",
                        ran=result["ran"],
                        offers=result["offers"],
                        timeouts=result["offer"],
                    )
                if result["ran"] >= batch:
                    sleep_ms = 0
                elif "next_due_ms" in result:
                    until_due = int(result["next_due_ms"]) - router.clock.now_ms()
                    sleep_ms = max(0, min(max_sleep_ms, until_due))
            await asyncio.sleep(sleep_ms / 1000)
    finally:
        log.info("routing_sweeper_stopped")
