"""The catalog feature: state, the start-up sync and the template webhooks.

`setup(app)` puts a `Catalog` under `CATALOG`. The Graph API is reached through the page
fetcher under `TEMPLATE_PAGES`; when nothing set one, it is built on pywa's async client
(see `graph.py`), which in sandbox mode points at the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from common.clock import Clock
from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.catalog.graph import graph_page_fetcher
from gateway.catalog.store import CatalogStore, Template
from gateway.catalog.sync import PageFetcher, SyncError, SyncResult, sync_catalog
from gateway.catalog.webhooks import make_field_hook
from gateway.inbound.hooks import INBOUND_HOOKS, FieldHook, InboundHooks
from sessions.model import FieldEvent

log = structlog.get_logger(__name__)


class Catalog:
    """The template catalog and the way to refresh it from Meta."""

    def __init__(self, store: CatalogStore, clock: Clock, fetch: PageFetcher | None) -> None:
        self.store = store
        self._clock = clock
        self._fetch = fetch
        # One sync at a time: webhooks for several new templates must not start a sync each.
        self._lock = asyncio.Lock()

    async def sync(self) -> SyncResult:
        """Fetch Meta's template list and store it; raise SyncError when that fails."""
        if self._fetch is None:
            msg = "no Graph API client is configured for template syncs"
            raise SyncError(msg)
        async with self._lock:
            return await sync_catalog(self.store, self._fetch, self._clock)

    async def sync_quietly(self) -> SyncResult | None:
        """Sync, logging a failure instead of raising it (start-up and webhook paths)."""
        try:
            return await self.sync()
        except SyncError as exc:
            log.warning("templates_sync_failed", error=str(exc))
            return None

    async def get(self, name: str, language: str) -> Template | None:
        return await self.store.get(name, language)


CATALOG = web.AppKey("catalog", Catalog)
# Set before the app starts to fetch templates from somewhere else (tests, a fixture server).
TEMPLATE_PAGES: web.AppKey[PageFetcher] = web.AppKey("template_pages")


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_catalog)
    if INBOUND_HOOKS not in app:
        app[INBOUND_HOOKS] = InboundHooks()
    app[INBOUND_HOOKS].on_field.append(_on_field_of(app))


def _on_field_of(app: web.Application) -> FieldHook:
    async def on_field(event: FieldEvent) -> None:
        catalog = app[CATALOG]
        await make_field_hook(catalog.store, catalog.sync_quietly)(event)

    return on_field


async def _catalog(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    fetch = app.get(TEMPLATE_PAGES)
    closer = None
    if fetch is None and settings.waba_id:
        fetch, closer = graph_page_fetcher(settings)

    catalog = Catalog(CatalogStore(app[REDIS], settings.redis_prefix), app[CLOCK], fetch)
    app[CATALOG] = catalog
    startup_sync = asyncio.create_task(catalog.sync_quietly()) if fetch is not None else None
    yield

    if startup_sync is not None:
        startup_sync.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await startup_sync
    if closer is not None:
        await closer()
