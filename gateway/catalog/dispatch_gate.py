"""The second consent check of a template send, right before the call to Meta.

A template send is checked when it is requested. It may then wait in the outbound stream
for pacing, a retry backoff or a paused access token, so `DispatchGate.allows(job)` checks
the template and the consent again for the moment of sending. A denied send is marked
`blocked` with the reason in the message history and, for a campaign message, in the
campaign funnel, and the caller must not send it. Both decisions are in the gate's
decision log.
The sender calls it for each send of `kind == "template"` right before the Graph API call.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from common.clock import Clock
from gateway.campaigns.statuses import StatusApplier
from gateway.campaigns.store import CampaignStore
from gateway.catalog.store import CatalogStore
from gateway.outbound.records import OutboundJob
from sessions.messages import MessageStore

log = structlog.get_logger(__name__)


class SingleGate(Protocol):
    async def check(
        self,
        phone_number_id: str,
        phone: str,
        *,
        template_category: str | None = None,
        template_name: str | None = None,
        actor: str = "system",
    ) -> Any: ...


class DispatchGate:
    def __init__(
        self,
        gate: SingleGate,
        catalog: CatalogStore,
        campaigns: CampaignStore,
        messages: MessageStore,
        clock: Clock,
    ) -> None:
        self._gate = gate
        self._catalog = catalog
        self._campaign_statuses = StatusApplier(campaigns)
        self._messages = messages
        self._clock = clock

    async def allows(self, job: OutboundJob) -> bool:
        """Return True when `job` may be sent now; otherwise record it as blocked."""
        if job.kind != "template":
            return True
        reason = await self.blocked_reason(job)
        if reason is None:
            return True

        now_ms = self._clock.now_ms()
        await self._messages.set_local_status(
            job.message_id, "blocked", now_ms, error_message=reason
        )
        await self._campaign_statuses.on_blocked(job.message_id, reason, now_ms)
        log.info("template_send_blocked_at_dispatch", message_id=job.message_id, reason=reason)
        return False

    async def blocked_reason(self, job: OutboundJob) -> str | None:
        """Return why the template send `job` must not leave now, or None."""
        name = str(job.body.get("name", ""))
        language = str((job.body.get("language") or {}).get("code", ""))
        template = await self._catalog.get(name, language)
        if template is None:
            return "template_unknown"
        if template.refusal() is not None:
            return f"template_{template.status.lower()}"

        # `to` is the wa_id (digits); the gate reads it as international with the leading +.
        phone = job.to if job.to.startswith("+") else "+" + job.to
        decision = await self._gate.check(
            job.phone_number_id,
            phone,
            template_category=template.category,
            template_name=template.name,
            actor=f"dispatch:{job.reason}",
        )
        return None if decision.allowed else str(decision.reason)
