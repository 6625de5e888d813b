"""Template webhooks keep status, category and quality current, once and in order."""

from __future__ import annotations

from typing import Any

from common.clock import ManualClock
from gateway.catalog.store import CatalogStore
from gateway.catalog.sync import PageFetcher, sync_catalog
from gateway.catalog.webhooks import make_field_hook
from sessions.model import FieldEvent
from tests.catalog.conftest import WABA_ID


def event(field: str, value: dict[str, Any], received_ms: int, event_id: str = "e1") -> FieldEvent:
    return FieldEvent(
        field=field,
        phone_number_id=None,
        waba_id=WABA_ID,
        received_ms=received_ms,
        value=value,
        event_id=event_id,
    )


def status_event(status: str, received_ms: int, reason: str | None = None) -> FieldEvent:
    value = {
        "event": status,
        "message_template_id": 1002,
        "message_template_name": "spring_sale",
        "message_template_language": "de",
        "reason": reason,
    }
    return event("message_template_status_update", value, received_ms)


async def synced(store: CatalogStore, fetch: PageFetcher, clock: ManualClock) -> None:
    await sync_catalog(store, fetch, clock)
    clock.advance(1000)


async def test_paused_status_blocks(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await synced(store, fetch, clock)
    await make_field_hook(store, None)(status_event("PAUSED", clock.now_ms(), "Low quality"))
    template = await store.get("spring_sale", "de")
    assert template is not None
    assert template.status == "PAUSED"
    assert template.sendable is False
    assert "Low quality" in (template.refusal() or "")


async def test_reinstated_status_approves(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await synced(store, fetch, clock)
    hook = make_field_hook(store, None)
    await hook(status_event("PAUSED", clock.now_ms()))
    await hook(status_event("REINSTATED", clock.advance(10)))
    template = await store.get("spring_sale", "de")
    assert template is not None
    assert template.status == "APPROVED"


async def test_older_change_loses(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await synced(store, fetch, clock)
    hook = make_field_hook(store, None)
    now_ms = clock.now_ms()
    await hook(status_event("DISABLED", now_ms + 10))
    await hook(status_event("APPROVED", now_ms))
    template = await store.get("spring_sale", "de")
    assert template is not None
    assert template.status == "DISABLED"


async def test_redelivery_is_idempotent(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await synced(store, fetch, clock)
    hook = make_field_hook(store, None)
    paused = status_event("PAUSED", clock.now_ms())
    await hook(paused)
    await hook(paused)
    template = await store.get("spring_sale", "de")
    assert template is not None
    assert template.status == "PAUSED"


async def test_category_update(store: CatalogStore, fetch: PageFetcher, clock: ManualClock) -> None:
    await synced(store, fetch, clock)
    value = {
        "message_template_id": 1001,
        "message_template_name": "order_update",
        "message_template_language": "de",
        "previous_category": "UTILITY",
        "new_category": "MARKETING",
    }
    await make_field_hook(store, None)(event("template_category_update", value, clock.now_ms()))
    template = await store.get("order_update", "de")
    assert template is not None
    assert template.category == "MARKETING"


async def test_quality_update(store: CatalogStore, fetch: PageFetcher, clock: ManualClock) -> None:
    await synced(store, fetch, clock)
    value = {
        "previous_quality_score": "GREEN",
        "new_quality_score": "RED",
        "message_template_id": 1001,
        "message_template_name": "order_update",
        "message_template_language": "de",
    }
    await make_field_hook(store, None)(
        event("message_template_quality_update", value, clock.now_ms())
    )
    template = await store.get("order_update", "de")
    assert template is not None
    assert template.quality == "RED"


async def test_sync_does_not_undo_newer_webhook(
    store: CatalogStore, fetch: PageFetcher, clock: ManualClock
) -> None:
    await synced(store, fetch, clock)
    sync_started_ms = clock.now_ms()
    await make_field_hook(store, None)(status_event("PAUSED", sync_started_ms + 500))
    clock.set(sync_started_ms)
    await sync_catalog(store, fetch, clock)
    template = await store.get("spring_sale", "de")
    assert template is not None
    assert template.status == "PAUSED"


async def test_unknown_template_triggers_sync(store: CatalogStore, clock: ManualClock) -> None:
    calls: list[int] = []

    async def resync() -> None:
        calls.append(1)

    value = {
        "event": "APPROVED",
        "message_template_id": 9999,
        "message_template_name": "brand_new",
        "message_template_language": "en",
    }
    await make_field_hook(store, resync)(
        event("message_template_status_update", value, clock.now_ms())
    )
    template = await store.get("brand_new", "en")
    assert calls == [1]
    assert template is not None
    assert template.sendable is False
    assert await store.name_of("9999") == ("brand_new", "en")


async def test_other_fields_ignored(store: CatalogStore, clock: ManualClock) -> None:
    value = {"category": "marketing_messages", "value": "stop"}
    await make_field_hook(store, None)(event("user_preferences", value, clock.now_ms()))
    assert await store.list_all() == []
