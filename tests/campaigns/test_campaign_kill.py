"""A gateway killed with SIGKILL mid-campaign resumes it after a restart: no recipient twice,
none skipped, checked against the simulator's request log."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from common.clock import SystemClock
from consent.model import EventType
from gateway.campaigns.model import CampaignState
from gateway.campaigns.service import CampaignService
from gateway.campaigns.store import CampaignStore
from gateway.catalog.store import CatalogStore
from gateway.consent_feature import build_consent
from gateway.settings import Settings
from gateway.simulator.server import GraphSimulator
from gateway.simulator.status_webhooks import StatusPlan
from tests.campaigns.conftest import BUSINESS, phone_of, sale_campaign
from tests.campaigns.harness import WABA_ID, _record, wait_for
from tests.catalog.templates import catalog
from tests.helpers import TEST_SECRET

pytestmark = pytest.mark.slow

RECIPIENTS = 1_200
PHONES = [phone_of(i) for i in range(RECIPIENTS)]
ACTIVE = PHONES[::2]
RATE_PER_S = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(settings: Settings, graph_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WAG_REDIS_URL": settings.redis_url or "",
        "WAG_DATA_DIR": str(settings.data_dir),
        "WAG_PORT": str(port),
        "WAG_APP_SECRET": TEST_SECRET,
        "WAG_GRAPH_BASE_URL": graph_url,
        "WAG_WABA_ID": WABA_ID,
        "WAG_PHONE_NUMBER_ID": BUSINESS,
        "WAG_LOG_FORMAT": "json",
        "WAG_LOG_LEVEL": "warning",
        "WAG_OUTBOUND_RATE_PER_S": str(RATE_PER_S),
        "WAG_OUTBOUND_BURST": "10",
        "WAG_OUTBOUND_CONCURRENCY": "16",
        "WAG_OUTBOUND_CLAIM_IDLE_MS": "1000",
        "WAG_CAMPAIGN_RATE_PER_S": str(RATE_PER_S),
        "WAG_CAMPAIGN_BATCH_SIZE": "20",
        "WAG_CAMPAIGN_POLL_S": "0.1",
        "WAG_CAMPAIGN_LEASE_MS": "1000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_ready(base_url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(base_url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the gateway at {base_url} did not become ready in {timeout_s} s")


@pytest.fixture
async def simulator() -> AsyncIterator[GraphSimulator]:
    graph = GraphSimulator(
        webhook_url="http://127.0.0.1:9/unset",
        app_secret=TEST_SECRET,
        waba_id=WABA_ID,
        plan=StatusPlan(sent_delay_ms=5, delivered_delay_ms=10, send_read=False),
    )
    graph.set_templates(catalog())
    # Meta retries a webhook for days; the simulator's default of five attempts in about 1.5 s
    # would give up on statuses sent while the gateway restarts. The sender needs those
    # statuses to know that a call cut off by the kill did reach Meta.
    graph.statuses.max_attempts = 10
    await graph.start()
    yield graph
    await graph.stop()


async def _prepare(redis: Redis, settings: Settings) -> tuple[CampaignService, str]:
    """Sync the catalog, record consent and start a campaign, as the running gateway would."""
    clock = SystemClock()
    catalog_store = CatalogStore(redis, settings.redis_prefix)
    await catalog_store.store_synced(catalog(), clock.now_ms(), pages=1)
    consent = await build_consent(redis, settings, clock)
    for event_type in (EventType.GIVEN, EventType.CONFIRMED):
        await consent.ledger.append([_record(phone, event_type, "marketing") for phone in ACTIVE])

    service = CampaignService(
        CampaignStore(redis, settings.redis_prefix), catalog_store, consent.gate, clock
    )
    campaign, _ = await service.create(sale_campaign(PHONES), created_by="test")
    await service.start(campaign.campaign_id)
    return service, campaign.campaign_id


def _sends(simulator: GraphSimulator) -> list[dict[str, Any]]:
    return [
        entry for entry in simulator.sends() if (entry.get("json") or {}).get("type") == "template"
    ]


async def test_kill_9_resumes_exactly_once(
    redis: Redis, settings: Settings, simulator: GraphSimulator
) -> None:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    simulator.statuses.webhook_url = f"{base_url}/webhooks/whatsapp"
    service, campaign_id = await _prepare(redis, settings)

    first = _serve(settings, simulator.url, port)
    try:
        await _wait_ready(base_url)
        await wait_for(lambda: _at_least(simulator, len(ACTIVE) // 3), what="a third of the sends")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    sends_before_restart = len(_sends(simulator))
    assert sends_before_restart < len(ACTIVE)

    second = _serve(settings, simulator.url, port)
    try:
        await _wait_ready(base_url)
        await wait_for(lambda: _completed(service, campaign_id), timeout_s=60, what="completion")
        await wait_for(lambda: _at_least(simulator, len(ACTIVE)), timeout_s=30, what="every send")
        await asyncio.sleep(1.0)  # a duplicate would arrive now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)

    recipients = Counter(send["recipient"] for send in _sends(simulator))
    assert set(recipients) == {phone.lstrip("+") for phone in ACTIVE}
    assert max(recipients.values()) == 1
    assert await service.store.inflight(campaign_id) == []


async def _at_least(simulator: GraphSimulator, count: int) -> bool:
    return len(_sends(simulator)) >= count


async def _completed(service: CampaignService, campaign_id: str) -> bool:
    return (await service.store.get(campaign_id)).state is CampaignState.COMPLETED
