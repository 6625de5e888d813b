"""Dispatch a running campaign: claim recipients, ask the consent gate, hand sends to outbound.

One dispatcher at a time works on a campaign (a lease in Redis), in batches:

1. Finish the recipients a crashed dispatcher claimed and left in the inflight set, else
   claim the next batch (`claim.lua`).
2. Re-read the template from the catalog: a template that is no longer approved pauses the
   campaign before anything is sent.
3. Ask the gate for every recipient of the batch, now, at dispatch time: a withdrawal that
   arrived during the campaign blocks that recipient's message.
4. Hand the allowed sends to the outbound stream under a message id derived from campaign
   and recipient, and record queued or blocked per recipient (`resolve.lua`).

Crash safety: a recipient leaves the inflight set only in the step that records its
outcome. The hand-off to the outbound stream is that same step (`handoff.lua`). So a
dispatcher killed anywhere leaves each recipient either queued once or still inflight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis

from common.clock import Clock
from common.lua import load_script
from gateway.campaigns.model import Campaign, CampaignState, message_id_of
from gateway.campaigns.store import CampaignStore, Outcome, WrongState
from gateway.catalog.store import CatalogStore

log = structlog.get_logger(__name__)

LEASE_MS = 15_000
# The gate's reason when it could not decide; the send is denied, but only for now.
GATE_UNAVAILABLE = "gate_unavailable"


class ConsentGate(Protocol):
    async def check_many(
        self,
        phone_number_id: str,
        phones: Sequence[str],
        *,
        template_category: str | None = None,
        template_name: str | None = None,
        actor: str = "system",
    ) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class Handoff:
    """One allowed send, ready for the outbound stream."""

    index: int
    message_id: str
    phone: str
    components: list[dict[str, Any]]


class CampaignOutbound(Protocol):
    async def enqueue(self, campaign: Campaign, handoffs: Sequence[Handoff]) -> int:
        """Queue the sends and mark their recipients queued; return how many were queued.

        Must queue only recipients still `dispatching`, in the same step that marks them
        queued, so that a repeated hand-off queues nothing twice.
        """
        ...


@dataclass(frozen=True, slots=True)
class Pacing:
    batch_size: int = 100
    rate_per_s: float = 80.0  # hand-offs per second; the outbound throttle paces the sends
    idle_poll_s: float = 0.5


class Dispatcher:
    def __init__(
        self,
        redis: Redis,
        store: CampaignStore,
        catalog: CatalogStore,
        gate: ConsentGate,
        outbound: CampaignOutbound,
        clock: Clock,
        *,
        owner: str,
        lease_ms: int = LEASE_MS,
        pacing: Pacing | None = None,
    ) -> None:
        self._redis = redis
        self._store = store
        self._catalog = catalog
        self._gate = gate
        self._outbound = outbound
        self._clock = clock
        self._owner = owner
        self._lease_ms = lease_ms
        self._pacing = pacing or Pacing()
        self._lease = load_script(redis, "gateway.campaigns", "lease.lua")

    async def run(self, campaign_id: str) -> CampaignState | None:
        """Dispatch until the campaign stops running; return its state then.

        Return None without doing anything when another process holds the lease.
        """
        log_bound = log.bind(campaign_id=campaign_id)
        if not await self._take_lease(campaign_id):
            return None

        started = time.perf_counter()
        handed_off = 0
        try:
            while True:
                campaign = await self._store.get(campaign_id)
                if campaign.state is not CampaignState.RUNNING:
                    break
                batch_started = time.perf_counter()
                count = await self._step(campaign)
                if count is None:
                    break
                handed_off += count
                if not await self._take_lease(campaign_id):
                    log_bound.warning("campaign_lease_lost")
                    return None
                await asyncio.sleep(self._pause_after(count, time.perf_counter() - batch_started))
        finally:
            await self._release_lease(campaign_id)

        final = (await self._store.get(campaign_id)).state
        log_bound.info(
            "campaign_dispatch_stopped",
            state=final.value,
            handed_off=handed_off,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return final

    async def _step(self, campaign: Campaign) -> int | None:
        """Dispatch one batch; return how many sends it handed off, None when done.

        Only handed-off sends count for pacing: a blocked recipient costs no call to Meta.
        """
        template = await self._catalog.get(campaign.template, campaign.language)
        refusal = template.refusal() if template else "the template is no longer in the catalog"
        if template is None or refusal is not None:
            await self._pause_for_template(campaign, refusal or "")
            return None

        indices = await self._store.inflight(campaign.campaign_id)
        if not indices:
            indices = await self._store.claim(campaign.campaign_id, self._pacing.batch_size)
        if not indices:
            await self._complete(campaign)
            return None

        batch = indices[: self._pacing.batch_size]
        return await self.dispatch(campaign, batch, template.category)

    async def dispatch(
        self, campaign: Campaign, indices: Sequence[int], category: str | None = None
    ) -> int:
        """Gate and hand off the claimed recipients `indices`, record each outcome, and
        return how many were handed off.

        `category` is the template's current category (Meta may have changed it since the
        campaign was created); the gate decides the required purpose from it.
        """
        recipients = await self._store.recipients(campaign.campaign_id, indices)
        phones = [recipient.get("phone", "") for recipient in recipients]
        decisions = await self._gate.check_many(
            campaign.phone_number_id,
            phones,
            template_category=category or campaign.category,
            template_name=campaign.template,
            actor=f"campaign:{campaign.campaign_id}",
        )

        outcomes: list[Outcome] = []
        handoffs: list[Handoff] = []
        undecided = 0
        for index, recipient, decision in zip(indices, recipients, decisions, strict=True):
            if decision.reason == GATE_UNAVAILABLE:
                # The gate could not read the consent state (Redis error). The recipient
                # stays inflight and is decided again by the next step instead of being
                # blocked for good.
                undecided += 1
                continue
            if not decision.allowed:
                outcomes.append(Outcome(index, "blocked", decision.reason))
                continue
            handoffs.append(
                Handoff(
                    index=index,
                    message_id=message_id_of(campaign.campaign_id, index),
                    phone=recipient["phone"],
                    components=recipient.get("components", []),
                )
            )

        await self._store.resolve(campaign.campaign_id, outcomes, self._clock.now_ms())
        await self._outbound.enqueue(campaign, handoffs)
        if undecided:
            log.warning(
                "campaign_gate_unavailable", campaign_id=campaign.campaign_id, recipients=undecided
            )
            await asyncio.sleep(self._pacing.idle_poll_s)
        return len(handoffs)

    async def _pause_for_template(self, campaign: Campaign, refusal: str) -> None:
        try:
            await self._store.transition(
                campaign.campaign_id, CampaignState.PAUSED, self._clock.now_ms()
            )
        except WrongState:
            return
        await self._store.set_note(campaign.campaign_id, refusal)
        log.warning("campaign_paused_template", campaign_id=campaign.campaign_id, reason=refusal)

    async def _complete(self, campaign: Campaign) -> None:
        if campaign.next_index < campaign.total:
            return
        try:
            await self._store.transition(
                campaign.campaign_id, CampaignState.COMPLETED, self._clock.now_ms()
            )
        except WrongState:
            return
        log.info("campaign_completed", campaign_id=campaign.campaign_id, recipients=campaign.total)

    def _pause_after(self, count: int, elapsed_s: float) -> float:
        return max(0.0, count / self._pacing.rate_per_s - elapsed_s)

    async def _take_lease(self, campaign_id: str) -> bool:
        taken = await self._lease(
            keys=[self._store.keys.lease(campaign_id)], args=[self._owner, self._lease_ms, "take"]
        )
        return bool(taken)

    async def _release_lease(self, campaign_id: str) -> None:
        await self._lease(
            keys=[self._store.keys.lease(campaign_id)], args=[self._owner, 0, "release"]
        )
