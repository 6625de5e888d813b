"""A 10,000-recipient campaign with mixed consent, a withdrawal, a pause and a resume.

Checked against the simulator's request log: exactly the recipients with active marketing
consent receive one message each. Those who withdraw during the run receive none. A paused
campaign sends nothing more, and no second of the run exceeds the configured rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog
from redis.asyncio import Redis

from consent.model import EventType
from gateway.settings import Settings
from gateway.simulator.status_webhooks import StatusPlan
from tests.campaigns.conftest import SALE_DEFAULTS, phone_of, sale_csv
from tests.campaigns.harness import Harness, running_harness, wait_for

pytestmark = pytest.mark.slow

TOTAL = 10_000
# Below what one test process can send (about 150 per second), so the limit binds.
RATE_PER_S = 100.0
BURST = 20
PHONES = [phone_of(i) for i in range(TOTAL)]
# A quarter of the list has active consent. Half of the list has no consent at all, and the
# rest is pending confirmation, withdrawn, or imported without evidence (unverified).
ACTIVE = [phone for i, phone in enumerate(PHONES) if i % 20 < 5]
PENDING = [phone for i, phone in enumerate(PHONES) if i % 20 in (5, 6)]
WITHDRAWN = [phone for i, phone in enumerate(PHONES) if i % 20 in (7, 8)]
UNVERIFIED = [phone for i, phone in enumerate(PHONES) if i % 20 == 9]
# Active recipients near the end of the list who withdraw while the campaign runs.
LATE_WITHDRAWALS = ACTIVE[-40:]


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """Log warnings and errors only: 30,000 info lines would cost more than the sends."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()


@pytest.fixture
async def harness(settings: Settings, redis: Redis, quiet_logs: None) -> AsyncIterator[Harness]:
    plan = StatusPlan(sent_delay_ms=5, delivered_delay_ms=10, send_read=False)
    overrides = {
        "outbound_rate_per_s": RATE_PER_S,
        "outbound_burst": BURST,
        "campaign_rate_per_s": RATE_PER_S,
        "campaign_batch_size": 25,
    }
    async with running_harness(settings, plan, **overrides) as running:
        await running.consent(ACTIVE + WITHDRAWN, EventType.GIVEN, EventType.CONFIRMED)
        await running.consent(WITHDRAWN, EventType.WITHDRAWN)
        await running.consent(PENDING, EventType.GIVEN)
        await running.import_unverified(UNVERIFIED)
        yield running


def sent_count(harness: Harness) -> int:
    return len(harness.template_sends())


async def test_ten_thousand_recipients(harness: Harness) -> None:
    body = {
        "name": "Großversand",
        "template": "spring_sale",
        "language": "de",
        "recipients": sale_csv(PHONES),
        "defaults": SALE_DEFAULTS,
    }
    status, created = await harness.api("POST", "/api/v1/campaigns", json=body)
    assert status == 201
    campaign_id = created["campaign"]["id"]
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")

    await wait_for(lambda: _at_least(harness, 300), timeout_s=60, what="300 sends")
    await harness.consent(LATE_WITHDRAWALS, EventType.WITHDRAWN)

    await wait_for(lambda: _at_least(harness, 1_200), timeout_s=60, what="1,200 sends")
    status, paused = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/pause")
    assert (status, paused["state"]) == (200, "paused")
    # Sends handed off before the pause still leave; then nothing more does.
    sends_while_paused = await wait_for(lambda: _settled(harness), what="the backlog to drain")
    await asyncio.sleep(1.0)
    assert sent_count(harness) == sends_while_paused
    assert sends_while_paused < len(ACTIVE)

    status, _ = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/resume")
    assert status == 200
    await wait_for(lambda: _campaign_done(harness, campaign_id), timeout_s=60, what="completion")
    await wait_for(
        lambda: _at_least(harness, len(ACTIVE) - len(LATE_WITHDRAWALS)),
        timeout_s=60,
        what="last sends",
    )

    recipients = Counter(send["recipient"] for send in harness.template_sends())
    expected = {phone.lstrip("+") for phone in ACTIVE} - {
        phone.lstrip("+") for phone in LATE_WITHDRAWALS
    }
    assert set(recipients) == expected
    assert max(recipients.values()) == 1

    per_second = Counter(send["at_ms"] // 1000 for send in harness.template_sends())
    assert max(per_second.values()) <= RATE_PER_S + BURST

    _, report = await harness.api("GET", f"/api/v1/campaigns/{campaign_id}/report")
    assert report["blocked_by_reason"]["consent_withdrawn"] == len(WITHDRAWN) + len(
        LATE_WITHDRAWALS
    )
    assert report["reached"]["queued"] == len(expected)


async def _at_least(harness: Harness, count: int) -> bool:
    return sent_count(harness) >= count


async def _settled(harness: Harness) -> int | None:
    """Return the send count once it stayed the same for half a second."""
    before = sent_count(harness)
    await asyncio.sleep(0.5)
    after = sent_count(harness)
    return after if after == before else None


async def _campaign_done(harness: Harness, campaign_id: str) -> bool:
    _, campaign = await harness.api("GET", f"/api/v1/campaigns/{campaign_id}")
    return bool(campaign["state"] == "completed")
