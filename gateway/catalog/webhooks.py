"""Apply Meta's template webhooks to the catalog, so that status and category are current.

Handles `message_template_status_update`, `template_category_update` and
`message_template_quality_update`. Each change is applied with the time it was received;
a redelivered or older change never overwrites a newer one (see `change.lua`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from gateway.catalog.store import STATUS_EVENT_ALIASES, CatalogStore, Change
from sessions.model import FieldEvent

log = structlog.get_logger(__name__)

TEMPLATE_FIELDS = {
    "message_template_status_update": ("status", "event"),
    "template_category_update": ("category", "new_category"),
    "message_template_quality_update": ("quality", "new_quality_score"),
}

# Called when a webhook names a template the catalog does not know: fetch the list again.
Resync = Callable[[], Awaitable[object]]


def change_of(event: FieldEvent) -> Change | None:
    """Return the catalog change a template webhook carries, or None for other fields."""
    if event.field not in TEMPLATE_FIELDS:
        return None
    attribute, value_field = TEMPLATE_FIELDS[event.field]
    value: dict[str, Any] = event.value
    raw = value.get(value_field)
    name = value.get("message_template_name")
    language = value.get("message_template_language")
    if not raw or not name or not language:
        log.warning("template_webhook_incomplete", field=event.field, event_id=event.event_id)
        return None

    new_value = str(raw).upper()
    if attribute == "status":
        new_value = STATUS_EVENT_ALIASES.get(new_value, new_value)
    reason = value.get("reason") if attribute == "status" else None
    return Change(
        attribute=attribute,
        value=new_value,
        at_ms=event.received_ms,
        name=str(name),
        language=str(language),
        template_id=str(value.get("message_template_id") or ""),
        reason="" if reason in (None, "NONE") else str(reason),
    )


def make_field_hook(
    store: CatalogStore, resync: Resync | None
) -> Callable[[FieldEvent], Awaitable[None]]:
    """Build the `on_field` hook that applies template webhooks."""

    async def on_field(event: FieldEvent) -> None:
        change = change_of(event)
        if change is None:
            return

        known = await store.get(change.name, change.language)
        applied = await store.apply(change)
        log.info(
            "template_changed",
            template=change.name,
            language=change.language,
            attribute=change.attribute,
            value=change.value,
            applied=applied,
            event_id=event.event_id,
        )
        # A template created or edited after the last sync: its components are unknown here.
        needs_components = known is None or known.schema is None or change.value == "APPROVED"
        if resync is not None and needs_components and applied:
            await resync()

    return on_field
