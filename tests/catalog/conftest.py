"""Fixtures of the catalog tests: the Graph API simulator with a template list, and pywa on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.catalog.store import CatalogStore
from gateway.catalog.sync import PageFetcher, pywa_page_fetcher
from gateway.outbound.graph import build_whatsapp
from gateway.settings import Settings
from gateway.simulator.server import GraphSimulator
from tests.catalog.templates import catalog

WABA_ID = "102290129340398"


@pytest.fixture
async def graph() -> AsyncIterator[GraphSimulator]:
    """A simulator whose list of 234 templates spans three pages of 100."""
    simulator = GraphSimulator(
        webhook_url="http://127.0.0.1:9/unused", app_secret="test-app-secret", waba_id=WABA_ID
    )
    simulator.set_templates(catalog(filler_count=230))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def fetch(graph: GraphSimulator, settings: Settings) -> AsyncIterator[PageFetcher]:
    whatsapp, session = build_whatsapp(settings, graph.url)
    yield pywa_page_fetcher(whatsapp, WABA_ID)
    await session.aclose()


@pytest.fixture
def store(redis: Redis) -> CatalogStore:
    return CatalogStore(redis, "wag:")
