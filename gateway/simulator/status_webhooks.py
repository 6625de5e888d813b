"""Status webhooks (sent, delivered, read, failed), signed with the app secret like Meta's.

Meta signs the bytes it sends, which are JSON with non-ASCII characters escaped. The
simulator does the same, so that a receiver that re-serialises before checking fails here too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog

from gateway.simulator.meta_errors import status_error

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(body: bytes, app_secret: str) -> str:
    """Return the `X-Hub-Signature-256` value of `body`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class StatusPlan:
    """Timing, duplicates and order of the status webhooks of a successful send.

    Delays are from the send; `duplicate_rate` is the share of statuses delivered twice;
    `reorder` shuffles the delivery order of one message's statuses.
    """

    sent_delay_ms: int = 20
    delivered_delay_ms: int = 40
    read_delay_ms: int = 60
    send_read: bool = True
    duplicate_rate: float = 0.0
    reorder: bool = False
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Facts about one accepted send that its status webhooks carry."""

    wamid: str
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    recipient: str
    recipient_is_user_id: bool
    biz_opaque_callback_data: str | None
    category: str  # pricing category: service, utility, marketing, authentication
    sent_at_s: int


@dataclass
class StatusSender:
    """Post status webhooks to the gateway, retrying like Meta does on a non-200 response."""

    webhook_url: str
    app_secret: str
    plan: StatusPlan = field(default_factory=StatusPlan)
    max_attempts: int = 10
    enabled: bool = True  # False sends no status webhooks (load tests without a gateway)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.plan.seed)  # noqa: S311 - test double, not a secret
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def set_plan(self, plan: StatusPlan) -> None:
        """Replace the plan; its `seed` restarts the random choices."""
        self.plan = plan
        self._random = random.Random(plan.seed)  # noqa: S311 - test double, not a secret

    def schedule_success(self, message: SentMessage) -> None:
        statuses = [("sent", self.plan.sent_delay_ms), ("delivered", self.plan.delivered_delay_ms)]
        if self.plan.send_read:
            statuses.append(("read", self.plan.read_delay_ms))
        if self.plan.reorder:
            delays = [delay for _, delay in statuses]
            self._random.shuffle(delays)
            statuses = [(name, delay) for (name, _), delay in zip(statuses, delays, strict=True)]
        for name, delay_ms in statuses:
            self._schedule(message, name, delay_ms, None)

    def schedule_failure(self, message: SentMessage, code: int) -> None:
        self._schedule(message, "failed", self.plan.sent_delay_ms, code)

    def _schedule(
        self, message: SentMessage, status: str, delay_ms: int, error_code: int | None
    ) -> None:
        if not self.enabled:
            return
        copies = 2 if self._random.random() < self.plan.duplicate_rate else 1
        for copy in range(copies):
            task = asyncio.create_task(
                self._deliver_later(message, status, delay_ms + copy * 5, error_code)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every scheduled webhook was delivered or gave up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _deliver_later(
        self, message: SentMessage, status: str, delay_ms: int, error_code: int | None
    ) -> None:
        await asyncio.sleep(delay_ms / 1000)
        payload = status_payload(message, status, error_code, int(time.time()))
        body = json.dumps(payload, ensure_ascii=True).encode()
        await self._post(body, message.wamid, status)
        self.delivered.append(payload)

    async def _post(self, body: bytes, wamid: str, status: str) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.app_secret),
        }

        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self._session.post(self.webhook_url, data=body, headers=headers) as res:
                    if res.status == 200:
                        return
                    log.warning(
                        "simulator_webhook_rejected",
                        wamid=wamid,
                        status=status,
                        http_status=res.status,
                        attempt=attempt,
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "simulator_webhook_failed",
                    wamid=wamid,
                    status=status,
                    error=str(exc),
                    attempt=attempt,
                )
            # Meta retries for days; a few seconds cover a gateway restart in tests.
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        log.error("simulator_webhook_dropped", wamid=wamid, status=status)


def status_payload(
    message: SentMessage, status: str, error_code: int | None, timestamp_s: int
) -> dict[str, Any]:
    """Build one `statuses[]` webhook the way the Cloud API sends it (Graph API v24 shape)."""
    item: dict[str, Any] = {
        "id": message.wamid,
        "status": status,
        "timestamp": str(max(timestamp_s, message.sent_at_s)),
        "recipient_id": "" if message.recipient_is_user_id else message.recipient,
    }
    if message.recipient_is_user_id:
        item["recipient_user_id"] = message.recipient
    if message.biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = message.biz_opaque_callback_data
    if status in ("sent", "failed") and error_code is None:
        item["pricing"] = {
            "billable": message.category != "service",
            "pricing_model": "PMP",
            "type": "regular" if message.category != "service" else "free_customer_service",
            "category": message.category,
        }
    if error_code is not None:
        item["errors"] = [status_error(error_code)]

    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": message.waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": message.display_phone_number,
                                "phone_number_id": message.phone_number_id,
                            },
                            "statuses": [item],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
