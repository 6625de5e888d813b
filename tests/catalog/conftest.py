from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.catalog.graph import template_client
from gateway.catalog.store import CatalogStore
from gateway.catalog.sync import PageFetcher, pywa_page_fetcher
from tests.catalog.graph_server import TemplateServer, template_server
from tests.catalog.templates import catalog

WABA_ID = "102290129340398"


@pytest.fixture
async def graph() -> AsyncIterator[TemplateServer]:
    async with template_server(catalog(filler_count=230)) as server:
        yield server


@pytest.fixture
async def fetch(graph: TemplateServer) -> AsyncIterator[PageFetcher]:
    client = template_client("test-token", "v23.0", graph.base_url)
    yield pywa_page_fetcher(client, WABA_ID)
    await client.api._session.aclose()


@pytest.fixture
def store(redis: Redis) -> CatalogStore:
    return CatalogStore(redis, "wag:")
