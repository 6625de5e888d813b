"""Syncing the catalog from the Graph API over several pages."""

from __future__ import annotations

import pytest

from common.clock import ManualClock
from gateway.catalog.store import CatalogStore
from gateway.catalog.sync import PageFetcher, SyncError, sync_catalog
from tests.catalog.graph_server import TemplateServer


async def test_sync_reads_every_page(
    store: CatalogStore, fetch: PageFetcher, graph: TemplateServer, clock: ManualClock
) -> None:
    result = await sync_catalog(store, fetch, clock)
    assert result.templates == 234
    assert result.pages == 3
    assert len(graph.requests) == 3
    assert len(await store.list_all()) == 234


async def test_sync_follows_the_after_cursor(
    store: CatalogStore, fetch: PageFetcher, graph: TemplateServer, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    cursors = [request.get("after") for request in graph.requests]
    assert cursors[0] is None
    assert None not in cursors[1:]
    assert len(set(cursors)) == 3


async def test_sync_stores_schema_and_state(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    template = await store.get("spring_sale", "de")
    assert template is not None
    assert template.category == "MARKETING"
    assert template.status == "APPROVED"
    assert template.quality == "GREEN"
    assert template.schema is not None
    assert template.schema.header == "image"


async def test_sync_marks_vanished_deleted(
    store: CatalogStore, fetch: PageFetcher, graph: TemplateServer, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    graph.templates = [t for t in graph.templates if t["name"] != "order_update"]
    clock.advance(1000)
    result = await sync_catalog(store, fetch, clock)
    template = await store.get("order_update", "de")
    assert result.deleted == 1
    assert template is not None
    assert template.status == "DELETED"
    assert template.sendable is False


async def test_failed_page_changes_nothing(
    store: CatalogStore, fetch: PageFetcher, graph: TemplateServer, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    graph.templates = graph.templates[:150]
    graph.fail_page = 2
    with pytest.raises(SyncError, match="page 2"):
        await sync_catalog(store, fetch, clock)
    statuses = {template.status for template in await store.list_all()}
    assert "DELETED" not in statuses
