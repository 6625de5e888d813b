"""Apply delivery statuses and outbound failures to campaign recipients."""

from __future__ import annotations

import structlog

from gateway.campaigns.model import recipient_of
from gateway.campaigns.store import CampaignStore
from sessions.model import StatusUpdate

log = structlog.get_logger(__name__)

FUNNEL_STATUSES = frozenset({"sent", "delivered", "read", "failed"})


class StatusApplier:
    """The `on_status` and outbound `on_failure` hooks of campaigns; both are idempotent."""

    def __init__(self, store: CampaignStore) -> None:
        self._store = store

    async def on_status(self, status: StatusUpdate) -> None:
        """Move the recipient whose message id the status carries (`biz_opaque_callback_data`)."""
        target = recipient_of(status.biz_opaque_callback_data or "")
        if target is None or status.status not in FUNNEL_STATUSES:
            return
        campaign_id, index = target
        code = str(status.error_code) if status.error_code is not None else ""
        await self._apply(campaign_id, index, status.status, code, status.timestamp_ms)

    async def on_failure(self, message_id: str, code: int | None, at_ms: int) -> None:
        """Mark a recipient failed when the Graph API rejected its send (no status follows)."""
        target = recipient_of(message_id)
        if target is None:
            return
        campaign_id, index = target
        await self._apply(campaign_id, index, "failed", str(code or ""), at_ms)

    async def on_blocked(self, message_id: str, reason: str, at_ms: int) -> None:
        """Mark a queued recipient blocked when the gate denied its send at dispatch time."""
        target = recipient_of(message_id)
        if target is None:
            return
        campaign_id, index = target
        await self._apply(campaign_id, index, "blocked", reason, at_ms)

    async def _apply(
        self, campaign_id: str, index: int, status: str, code: str, at_ms: int
    ) -> None:
        changed = await self._store.apply_status(campaign_id, index, status, code, at_ms)
        log.debug(
            "campaign_recipient_status",
            campaign_id=campaign_id,
            index=index,
            status=status,
            error_code=code or None,
            changed=changed,
        )
