"""Fetch every page of `GET /{waba_id}/message_templates` and store the result."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from common.clock import Clock
from gateway.catalog.store import CatalogStore

log = structlog.get_logger(__name__)

# Fetch one page: the `after` cursor (None for the first page) -> Meta's JSON body.
PageFetcher = Callable[[str | None], Awaitable[dict[str, Any]]]
PAGE_LIMIT = 100
# A runaway cursor (a server that always returns `next`) must not loop forever.
MAX_PAGES = 1000


class SyncError(RuntimeError):
    """The template list could not be fetched completely; nothing was marked deleted."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    templates: int
    pages: int
    deleted: int
    synced_at_ms: int

    def to_dict(self) -> dict[str, int]:
        return {
            "templates": self.templates,
            "pages": self.pages,
            "deleted": self.deleted,
            "synced_at_ms": self.synced_at_ms,
        }


def pywa_page_fetcher(client: Any, waba_id: str) -> PageFetcher:
    """Build a fetcher on pywa's async Graph API client (`WhatsApp(...).api`)."""

    async def fetch(after: str | None) -> dict[str, Any]:
        pagination: dict[str, Any] = {"limit": PAGE_LIMIT}
        if after:
            pagination["after"] = after
        page: dict[str, Any] = await client.api.get_templates(
            waba_id=waba_id, pagination=pagination
        )
        return page

    return fetch


async def sync_catalog(store: CatalogStore, fetch: PageFetcher, clock: Clock) -> SyncResult:
    """Replace the catalog with Meta's current list.

    Templates are stored only after the last page arrived, because a partial list would
    mark the templates of the missing pages deleted.
    """
    started = time.perf_counter()
    synced_at_ms = clock.now_ms()
    templates, pages = await _fetch_all(fetch)

    deleted = await store.store_synced(templates, synced_at_ms, pages)
    log.info(
        "templates_synced",
        templates=len(templates),
        pages=pages,
        deleted=deleted,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return SyncResult(len(templates), pages, deleted, synced_at_ms)


async def _fetch_all(fetch: PageFetcher) -> tuple[list[dict[str, Any]], int]:
    templates: list[dict[str, Any]] = []
    after: str | None = None
    for page_number in range(1, MAX_PAGES + 1):
        try:
            page = await fetch(after)
        except Exception as exc:
            msg = f"fetching page {page_number} of the template list failed: {exc}"
            raise SyncError(msg) from exc

        templates.extend(_templates_of(page, page_number))
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            return templates, page_number

    msg = f"the template list did not end after {MAX_PAGES} pages; the catalog was not changed"
    raise SyncError(msg)


def _templates_of(page: dict[str, Any], page_number: int) -> list[dict[str, Any]]:
    data = page.get("data")
    if not isinstance(data, list):
        msg = f"page {page_number} of the template list has no `data` list"
        raise SyncError(msg)
    valid = [
        item
        for item in data
        if isinstance(item, dict) and item.get("name") and item.get("language")
    ]
    if len(valid) < len(data):
        log.warning(
            "templates_sync_skipped_invalid", page=page_number, skipped=len(data) - len(valid)
        )
    return valid
