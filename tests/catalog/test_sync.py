"""Syncing the catalog from the Graph API simulator over several pages."""

from __future__ import annotations

from typing import Any

import pytest

from common.clock import ManualClock
from gateway.catalog.store import CatalogStore
from gateway.catalog.sync import PageFetcher, SyncError, sync_catalog
from gateway.simulator.server import GraphSimulator


def template_calls(graph: GraphSimulator) -> int:
    return sum(1 for entry in graph.requests if entry["route"] == "message_templates")


async def test_sync_reads_every_page(
    store: CatalogStore, fetch: PageFetcher, graph: GraphSimulator, clock: ManualClock
) -> None:
    result = await sync_catalog(store, fetch, clock)
    assert result.templates == 234
    assert result.pages == 3
    assert template_calls(graph) == 3
    assert len(await store.list_all()) == 234


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


async def test_sync_keeps_paused_unsendable(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    template = await store.get("paused_promo", "de")
    assert template is not None
    assert template.sendable is False
    assert "PAUSED" in (template.refusal() or "")


async def test_sync_marks_vanished_deleted(
    store: CatalogStore, fetch: PageFetcher, graph: GraphSimulator, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    graph.set_templates([t for t in graph.templates if t["name"] != "order_update"])
    clock.advance(1000)
    result = await sync_catalog(store, fetch, clock)
    template = await store.get("order_update", "de")
    assert result.deleted == 1
    assert template is not None
    assert template.status == "DELETED"
    assert template.sendable is False


async def test_failed_page_changes_nothing(
    store: CatalogStore, fetch: PageFetcher, graph: GraphSimulator, clock: ManualClock
) -> None:
    await sync_catalog(store, fetch, clock)
    graph.set_templates(graph.templates[:150])

    async def second_page_fails(after: str | None) -> dict[str, Any]:
        if after is not None:
            msg = "connection reset"
            raise ConnectionError(msg)
        return await fetch(after)

    with pytest.raises(SyncError, match="page 2"):
        await sync_catalog(store, second_page_fails, clock)
    statuses = {template.status for template in await store.list_all()}
    assert "DELETED" not in statuses


async def test_sync_mirrors_category_for_gate(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    from consent.templates import TemplateCategories

    await sync_catalog(store, fetch, clock)
    categories = TemplateCategories(store._redis, "wag:")
    assert await categories.get("spring_sale") == "marketing"
    assert await categories.get("order_update") == "utility"
