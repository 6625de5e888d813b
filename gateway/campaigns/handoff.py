"""Hand campaign sends to the outbound stream once per recipient, also across crashes.

`OutboundService.enqueue` writes the history entry and then the stream entry, with a new
message id per call. A dispatcher that died between its hand-off and its bookkeeping would
therefore queue that recipient twice after a restart. This adapter keeps the outbound record
format (`OutboundJob`) and the history entry, but writes the stream entry in the same
script that marks the recipient queued (`handoff.lua`), under a message id derived from
campaign and recipient. That a queued send reaches Meta once is the sender's part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from common.clock import Clock
from common.lua import load_script
from gateway.campaigns.dispatcher import Handoff
from gateway.campaigns.model import Campaign
from gateway.campaigns.store import CampaignStore, bucket_of
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.records import OutboundJob
from sessions.conversations import conversation_id_for
from sessions.messages import MessageStore


def template_job(campaign: Campaign, handoff: Handoff, now_ms: int) -> OutboundJob:
    """Build the outbound job of one recipient, as `OutboundService.send_template` would."""
    wa_id = handoff.phone.lstrip("+")
    body: dict[str, Any] = {"name": campaign.template, "language": {"code": campaign.language}}
    if handoff.components:
        body["components"] = handoff.components
    return OutboundJob(
        message_id=handoff.message_id,
        conversation_id=conversation_id_for(campaign.phone_number_id, wa_id),
        phone_number_id=campaign.phone_number_id,
        to=wa_id,
        kind="template",
        body=body,
        reason=f"campaign:{campaign.campaign_id}",
        enqueued_at_ms=now_ms,
    )


class StreamHandoff:
    """The `CampaignOutbound` of the dispatcher, on the outbound stream of the gateway."""

    def __init__(self, redis: Redis, prefix: str, clock: Clock, store: CampaignStore) -> None:
        self._redis = redis
        self._clock = clock
        self._store = store
        self._stream = OutboundKeys(prefix).stream
        self._messages = MessageStore(redis, prefix, clock)
        self._script = load_script(redis, "gateway.campaigns", "handoff.lua")

    async def enqueue(self, campaign: Campaign, handoffs: Sequence[Handoff]) -> int:
        """Queue the sends of `handoffs` and mark them queued; return how many were queued.

        A recipient that is no longer `dispatching` (queued by an earlier attempt) is skipped.
        """
        if not handoffs:
            return 0
        now_ms = self._clock.now_ms()
        jobs = [template_job(campaign, handoff, now_ms) for handoff in handoffs]

        # The history entry first: the sender links Meta's wamid to it after the send. Writing
        # it again for a recipient handed off before a crash only repeats the same fields.
        for job in jobs:
            await self._messages.append_outbound(
                job.conversation_id, job.message_id, job.kind, None, job.as_content(), now_ms
            )

        args: list[Any] = [bucket_of(now_ms)]
        for handoff, job in zip(handoffs, jobs, strict=True):
            fields = job.to_fields()
            args += [handoff.index, len(fields)]
            for name, value in fields.items():
                args += [name, value]
        keys = self._store.recipient_keys(campaign.campaign_id)
        # NOTE: the stream key is outside the campaign's hash slot. On Redis Cluster this
        # script fails (CROSSSLOT); on a single Redis or Valkey (the embedded one) it works.
        queued = await self._script(
            keys=[keys[0], keys[2], keys[3], keys[4], self._stream], args=args
        )
        return int(queued)
