"""A running gateway with every worker, wired to the Graph API simulator, for end-to-end tests.

The gateway runs on the wall clock: the outbound token buckets refill with real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from consent.model import ConsentRecord, EventType, Method
from gateway.auth import Role
from gateway.consent_feature import CONSENT
from gateway.settings import Settings
from gateway.simulator.server import GraphSimulator
from gateway.simulator.status_webhooks import StatusPlan
from tests.campaigns.conftest import BUSINESS, TEXT_SHA256
from tests.catalog.templates import catalog
from tests.helpers import TEST_SECRET, Gateway, envelope, running_gateway

WABA_ID = "102290129340398"


async def wait_for(
    check: Callable[[], Awaitable[Any]], *, timeout_s: float = 20.0, what: str = "condition"
) -> Any:
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def campaign_settings(settings: Settings, graph_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "graph_base_url": graph_url,
        "waba_id": WABA_ID,
        "phone_number_id": BUSINESS,
        "outbound_rate_per_s": 2_000.0,
        "outbound_burst": 200,
        "outbound_recipient_rate_per_s": 10.0,
        "outbound_recipient_burst": 5,
        "outbound_concurrency": 16,
        "graph_timeout_s": 2.0,
        "campaign_rate_per_s": 2_000.0,
        "campaign_batch_size": 200,
        "campaign_poll_s": 0.05,
        "workers": 2,
        **overrides,
    }
    return settings.model_copy(update=values)


@dataclass
class Harness:
    gateway: Gateway
    simulator: GraphSimulator
    marketing: str = ""
    integration: str = ""
    admin: str = ""

    async def api(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        return await self.gateway.api(method, path, token or self.marketing, **kwargs)

    async def consent(
        self, phones: Sequence[str], *types: EventType, purpose: str = "marketing"
    ) -> None:
        """Record consent events through the gateway's own ledger (its secret, its state)."""
        ledger = self.gateway.app[CONSENT].ledger
        for event_type in types:
            records = [_record(phone, event_type, purpose) for phone in phones]
            for start in range(0, len(records), 500):
                await ledger.append(records[start : start + 500])

    async def import_unverified(self, phones: Sequence[str], purpose: str = "marketing") -> None:
        """Record imported opt-ins without evidence, which the gate treats as unverified."""
        records = [_record(phone, EventType.GIVEN, purpose, Method.IMPORT) for phone in phones]
        await self.gateway.app[CONSENT].ledger.append(records)

    async def template_webhook(self, field: str, value: dict[str, Any]) -> None:
        response = await self.gateway.post_webhook(envelope(value, field=field))
        assert response.status == 200

    def final_statuses(self) -> dict[str, str]:
        """Return the furthest status the simulator reported per message id."""
        rank = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
        final: dict[str, str] = {}
        for payload in self.simulator.statuses.delivered:
            for entry in payload["entry"]:
                for change in entry["changes"]:
                    for status in change["value"].get("statuses", []):
                        message_id = status.get("biz_opaque_callback_data") or ""
                        current = final.get(message_id)
                        if current is None or rank[status["status"]] > rank[current]:
                            final[message_id] = status["status"]
        return final

    def template_sends(self) -> list[dict[str, Any]]:
        """Return the simulator's logged template sends, in arrival order."""
        return [
            entry
            for entry in self.simulator.sends()
            if (entry.get("json") or {}).get("type") == "template"
        ]


def _record(
    phone: str, event_type: EventType, purpose: str, method: Method = Method.WEB_FORM
) -> ConsentRecord:
    now_ms = time.time_ns() // 1_000_000
    values: dict[str, Any] = {
        "business_number": BUSINESS,
        "phone": phone,
        "purpose": purpose,
        "type": event_type,
        "method": method,
        "occurred_ms": now_ms,
        "text_version_id": f"{purpose}.de.v1",
        "text_sha256": TEXT_SHA256,
        "language": "de",
        "checkbox_default": False,
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (test)",
    }
    if event_type in (EventType.CONFIRMED, EventType.RECONFIRMED):
        values["method"] = Method.WHATSAPP_CODE
        values["evidence"] = "wamid.confirm"
    if event_type is EventType.WITHDRAWN:
        values["method"] = Method.KEYWORD
    return ConsentRecord(**values)


@asynccontextmanager
async def running_harness(
    settings: Settings, plan: StatusPlan | None = None, **overrides: Any
) -> AsyncIterator[Harness]:
    simulator = GraphSimulator(
        webhook_url="http://127.0.0.1:9/unset",
        app_secret=TEST_SECRET,
        waba_id=WABA_ID,
        plan=plan or StatusPlan(sent_delay_ms=5, delivered_delay_ms=10, read_delay_ms=15),
    )
    simulator.set_templates(catalog())
    url = await simulator.start()
    try:
        async with running_gateway(
            campaign_settings(settings, url, **overrides), None, run_workers=True
        ) as gateway:
            simulator.statuses.webhook_url = f"{gateway.base_url}/webhooks/whatsapp"
            harness = Harness(gateway, simulator)
            harness.marketing = await gateway.token(Role.MARKETING, "Marketing")
            harness.integration = await gateway.token(Role.INTEGRATION, "Shop")
            harness.admin = await gateway.token(Role.ADMIN, "Admin")
            status, _ = await harness.api("POST", "/api/v1/templates/sync", harness.admin)
            assert status == 200
            yield harness
            await simulator.statuses.drain()
    finally:
        await simulator.stop()
