"""The catalog feature: state, the start-up sync and the template webhooks.

`setup(app)` puts a `Catalog` under `CATALOG`. The Graph API is reached through the page
fetcher under `TEMPLATE_PAGES` when one is set, else through the outbound feature's pywa
client, which in sandbox mode points at the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web
from redis.exceptions import RedisError

from common.clock import Clock
from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.catalog.store import CatalogStore, Template
from gateway.catalog.sync import PageFetcher, SyncError, SyncResult, pywa_page_fetcher, sync_catalog
from gateway.catalog.webhooks import make_field_hook
from gateway.inbound.hooks import INBOUND_HOOKS, FieldHook, InboundHooks
from gateway.outbound.feature import OUTBOUND_RUNTIME
from gateway.settings import Settings
from sessions.model import FieldEvent

log = structlog.get_logger(__name__)


class Catalog:
    """The template catalog and the way to refresh it from Meta."""

    def __init__(
        self, store: CatalogStore, clock: Clock, fetcher_of: Callable[[], PageFetcher | None]
    ) -> None:
        self.store = store
        self._clock = clock
        self._fetcher_of = fetcher_of
        # One sync at a time: webhooks for several new templates must not start a sync each.
        self._lock = asyncio.Lock()

    async def sync(self) -> SyncResult:
        """Fetch Meta's template list and store it; raise SyncError when that fails."""
        fetch = self._fetcher_of()
        if fetch is None:
            msg = "no Graph API client or account is configured for template syncs; "
            msg += "set WAG_WABA_ID and set up gateway.outbound.feature"
            raise SyncError(msg)
        async with self._lock:
            return await sync_catalog(self.store, fetch, self._clock)

    async def sync_quietly(self) -> SyncResult | None:
        """Sync, logging a failure instead of raising it (start-up and webhook paths)."""
        try:
            return await self.sync()
        except (SyncError, RedisError, OSError) as exc:
            log.warning("templates_sync_failed", error=str(exc))
            return None

    async def get(self, name: str, language: str) -> Template | None:
        return await self.store.get(name, language)


CATALOG = web.AppKey("catalog", Catalog)
# Set before the app starts to fetch templates from somewhere else than the outbound client.
TEMPLATE_PAGES: web.AppKey[PageFetcher] = web.AppKey("template_pages")
# The simulator's account id when WAG_WABA_ID is not set (sandbox mode).
SANDBOX_WABA_ID = "100000000000001"


def waba_id_of(settings: Settings) -> str | None:
    """Return the account whose templates are synced; None with Meta but no WAG_WABA_ID."""
    if settings.waba_id:
        return settings.waba_id
    return SANDBOX_WABA_ID if settings.sandbox else None


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


def _fetcher_of(app: web.Application) -> PageFetcher | None:
    if TEMPLATE_PAGES in app:
        return app[TEMPLATE_PAGES]
    waba_id = waba_id_of(app[SETTINGS])
    if OUTBOUND_RUNTIME not in app or waba_id is None:
        return None
    return pywa_page_fetcher(app[OUTBOUND_RUNTIME].whatsapp, waba_id)


async def _catalog(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    catalog = Catalog(
        CatalogStore(app[REDIS], settings.redis_prefix), app[CLOCK], lambda: _fetcher_of(app)
    )
    app[CATALOG] = catalog
    startup_sync = asyncio.create_task(catalog.sync_quietly(), name="templates-startup-sync")
    yield

    startup_sync.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await startup_sync
