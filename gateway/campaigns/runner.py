"""The background loop that starts due campaigns and resumes running ones after a restart.

Every poll it reads the active set: a scheduled campaign whose time has come is started,
and a running campaign without a dispatcher in this process gets one. The dispatcher's
lease keeps two gateway processes from dispatching the same campaign. A process killed
mid-campaign loses its lease after `campaign_lease_ms`, and another process (or the
restarted one) continues from the inflight set and the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis.exceptions import RedisError

from common.clock import Clock
from gateway.campaigns.dispatcher import Dispatcher
from gateway.campaigns.model import CampaignState
from gateway.campaigns.store import CampaignNotFound, CampaignStore, WrongState

log = structlog.get_logger(__name__)


class CampaignRunner:
    def __init__(
        self, store: CampaignStore, dispatcher: Dispatcher, clock: Clock, *, poll_s: float = 0.5
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._clock = clock
        self._poll_s = poll_s
        self._tasks: dict[str, asyncio.Task[object]] = {}
        self._stopping = False

    async def run(self) -> None:
        """Poll until cancelled; errors of one round are logged and the next round retries."""
        while not self._stopping:
            try:
                await self.poll_once()
            except (RedisError, OSError) as exc:
                log.warning("campaign_poll_failed", error=str(exc))
            await asyncio.sleep(self._poll_s)

    async def poll_once(self) -> None:
        now_ms = self._clock.now_ms()
        for campaign_id in await self._store.active_ids(due_by_ms=now_ms):
            task = self._tasks.get(campaign_id)
            if task is not None and not task.done():
                continue
            try:
                campaign = await self._store.get(campaign_id)
                if campaign.state is CampaignState.SCHEDULED:
                    await self._store.transition(campaign_id, CampaignState.RUNNING, now_ms)
                elif campaign.state is not CampaignState.RUNNING:
                    continue
            except (CampaignNotFound, WrongState):
                continue
            self._tasks[campaign_id] = asyncio.create_task(
                self._dispatch(campaign_id), name=f"campaign-{campaign_id}"
            )

    async def _dispatch(self, campaign_id: str) -> None:
        try:
            await self._dispatcher.run(campaign_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The next poll starts a new dispatcher, which continues from the inflight set.
            log.exception("campaign_dispatch_failed", campaign_id=campaign_id)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
