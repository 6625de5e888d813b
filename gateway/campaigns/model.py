"""Campaigns and the states of a campaign and of each recipient."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# The states from which each target state may be reached.
ALLOWED_FROM: dict[CampaignState, tuple[CampaignState, ...]] = {
    CampaignState.SCHEDULED: (CampaignState.DRAFT,),
    CampaignState.RUNNING: (CampaignState.DRAFT, CampaignState.SCHEDULED, CampaignState.PAUSED),
    CampaignState.PAUSED: (CampaignState.RUNNING, CampaignState.SCHEDULED),
    CampaignState.CANCELLED: (
        CampaignState.DRAFT,
        CampaignState.SCHEDULED,
        CampaignState.RUNNING,
        CampaignState.PAUSED,
    ),
    CampaignState.COMPLETED: (CampaignState.RUNNING,),
}

# Recipient states in funnel order; `pending` recipients have not been claimed yet.
RECIPIENT_STATES = (
    "pending",
    "dispatching",
    "queued",
    "blocked",
    "sent",
    "delivered",
    "read",
    "failed",
)
MESSAGE_ID_SEPARATOR = "."
# Every message id of this gateway starts with `m_`. The outbound path recovers a lost wamid
# from a status webhook only for such ids, because other apps set `biz_opaque_callback_data` too.
MESSAGE_ID_PREFIX = "m_"


def message_id_of(campaign_id: str, index: int) -> str:
    """Return our message id of one recipient's message; status webhooks carry it back."""
    return f"{MESSAGE_ID_PREFIX}{campaign_id}{MESSAGE_ID_SEPARATOR}{index}"


def recipient_of(message_id: str) -> tuple[str, int] | None:
    """Return (campaign id, recipient index) of a campaign message id, else None."""
    campaign_id, separator, index = message_id.removeprefix(MESSAGE_ID_PREFIX).rpartition(
        MESSAGE_ID_SEPARATOR
    )
    if not separator or not campaign_id.startswith("cmp_") or not index.isdigit():
        return None
    return campaign_id, int(index)


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    name: str
    template: str
    language: str
    category: str
    phone_number_id: str
    state: CampaignState
    total: int
    next_index: int
    rejected: int
    created_at_ms: int
    created_by: str
    scheduled_at_ms: int | None = None
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    note: str = ""  # why the campaign paused by itself, for example a paused template

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.campaign_id,
            "name": self.name,
            "template": self.template,
            "language": self.language,
            "category": self.category,
            "phone_number_id": self.phone_number_id,
            "state": self.state.value,
            "recipients": self.total,
            "rejected_lines": self.rejected,
            "claimed": self.next_index,
            "created_at_ms": self.created_at_ms,
            "created_by": self.created_by,
            "scheduled_at_ms": self.scheduled_at_ms,
            "started_at_ms": self.started_at_ms,
            "finished_at_ms": self.finished_at_ms,
            "note": self.note or None,
        }
