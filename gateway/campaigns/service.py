"""Campaign operations for the API and the CLI: create, dry run, start, pause, resume, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from common.clock import Clock
from gateway.campaigns.dispatcher import ConsentGate
from gateway.campaigns.model import Campaign, CampaignState
from gateway.campaigns.recipients import RecipientList, parse_recipients
from gateway.campaigns.report import funnel
from gateway.campaigns.store import CampaignStore
from gateway.campaigns.texts import both
from gateway.catalog.store import CatalogStore, Template

log = structlog.get_logger(__name__)

DRY_RUN_BATCH = 2000


class CampaignError(Exception):
    """A campaign request that cannot be carried out; `slug` names the problem type."""

    def __init__(self, status: int, slug: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.extra = extra


@dataclass(frozen=True, slots=True)
class NewCampaign:
    name: str
    template: str
    language: str
    phone_number_id: str
    recipients: str  # the uploaded list, CSV or JSON lines
    content_type: str
    defaults: dict[str, Any] | None = None
    scheduled_at_ms: int | None = None


class CampaignService:
    def __init__(
        self, store: CampaignStore, catalog: CatalogStore, gate: ConsentGate, clock: Clock
    ) -> None:
        self.store = store
        self._catalog = catalog
        self._gate = gate
        self._clock = clock

    async def create(self, request: NewCampaign, created_by: str) -> tuple[Campaign, RecipientList]:
        """Check the template, read the recipient list and store a draft campaign."""
        template = await self._sendable_template(request.template, request.language)
        assert template.schema is not None  # a sendable template has its schema

        # Parsing normalises every number (about 0.1 ms each). In a thread, it leaves the
        # event loop free to accept webhooks while a list of 100,000 lines is read.
        recipients = await asyncio.to_thread(
            parse_recipients,
            request.recipients,
            request.content_type,
            template.schema,
            request.defaults,
        )
        if not recipients.recipients:
            raise CampaignError(
                422,
                "no-recipients",
                **both("no_recipients"),
                rejected=[rejected.to_dict() for rejected in recipients.rejected[:100]],
            )

        now_ms = self._clock.now_ms()
        campaign_id = await self.store.create(
            name=request.name,
            template=template.name,
            language=template.language,
            category=template.category,
            phone_number_id=request.phone_number_id,
            recipients=recipients,
            created_by=created_by,
            now_ms=now_ms,
        )
        if request.scheduled_at_ms is not None:
            await self.store.schedule(campaign_id, request.scheduled_at_ms, now_ms)
        log.info(
            "campaign_created",
            campaign_id=campaign_id,
            template=template.name,
            recipients=len(recipients.recipients),
            rejected=len(recipients.rejected),
        )
        return await self.store.get(campaign_id), recipients

    async def dry_run(self, campaign_id: str) -> dict[str, Any]:
        """Ask the gate for every recipient, without sending: how many would go, and why not."""
        campaign = await self.store.get(campaign_id)
        template = await self._catalog.get(campaign.template, campaign.language)
        phones = await self._all_phones(campaign)

        blocked: dict[str, int] = {}
        would_send = 0
        for start in range(0, len(phones), DRY_RUN_BATCH):
            decisions = await self._gate.check_many(
                campaign.phone_number_id,
                phones[start : start + DRY_RUN_BATCH],
                template_category=template.category if template else campaign.category,
                template_name=campaign.template,
                actor=f"campaign-dry-run:{campaign_id}",
            )
            for decision in decisions:
                if decision.allowed:
                    would_send += 1
                else:
                    blocked[decision.reason] = blocked.get(decision.reason, 0) + 1

        rejected: dict[str, int] = {}
        for line in await self.store.rejected_lines(campaign_id):
            rejected[line["reason"]] = rejected.get(line["reason"], 0) + 1
        return {
            "campaign_id": campaign_id,
            "recipients": campaign.total,
            "would_send": would_send,
            "blocked": sum(blocked.values()),
            "blocked_by_reason": dict(sorted(blocked.items())),
            "rejected_lines": sum(rejected.values()),
            "rejected_by_reason": dict(sorted(rejected.items())),
            "template_refusal": template.refusal()
            if template
            else "the template is not in the catalog",
        }

    async def _all_phones(self, campaign: Campaign) -> list[str]:
        phones: list[str] = []
        for start in range(0, campaign.total, DRY_RUN_BATCH):
            indices = range(start, min(start + DRY_RUN_BATCH, campaign.total))
            phones += [
                item.get("phone", "")
                for item in await self.store.recipients(campaign.campaign_id, indices)
            ]
        return phones

    async def start(self, campaign_id: str) -> Campaign:
        """Start (or resume) a campaign; its template must be sendable now."""
        campaign = await self.store.get(campaign_id)
        await self._sendable_template(campaign.template, campaign.language)
        await self.store.transition(campaign_id, CampaignState.RUNNING, self._clock.now_ms())
        await self.store.set_note(campaign_id, "")
        log.info("campaign_started", campaign_id=campaign_id)
        return await self.store.get(campaign_id)

    async def pause(self, campaign_id: str) -> Campaign:
        await self.store.transition(campaign_id, CampaignState.PAUSED, self._clock.now_ms())
        log.info("campaign_paused", campaign_id=campaign_id)
        return await self.store.get(campaign_id)

    async def cancel(self, campaign_id: str) -> Campaign:
        """Stop the campaign for good; recipients not yet handed off are not sent."""
        await self.store.transition(campaign_id, CampaignState.CANCELLED, self._clock.now_ms())
        log.info("campaign_cancelled", campaign_id=campaign_id)
        return await self.store.get(campaign_id)

    async def report(self, campaign_id: str) -> dict[str, Any]:
        campaign = await self.store.get(campaign_id)
        counts = await self.store.counts(campaign_id)
        timeline = await self.store.timeline(campaign_id)
        return funnel(campaign, counts, timeline)

    async def list(self, limit: int = 100) -> Sequence[Campaign]:
        return [
            await self.store.get(campaign_id) for campaign_id in await self.store.list_ids(limit)
        ]

    async def _sendable_template(self, name: str, language: str) -> Template:
        template = await self._catalog.get(name, language)
        if template is None:
            texts = both("template_not_found", template=name, language=language)
            raise CampaignError(
                404, "template-not-found", **texts, template=name, language=language
            )
        refusal = template.refusal()
        if refusal is not None:
            texts = both("template_not_sendable", template=name, language=language, reason=refusal)
            raise CampaignError(
                409,
                "template-not-sendable",
                **texts,
                template=name,
                template_status=template.status,
            )
        return template
