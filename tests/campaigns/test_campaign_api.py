"""Campaigns through the API, end to end: upload, dry run, run, funnel, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from consent.model import EventType
from gateway.campaigns.model import message_id_of
from gateway.settings import Settings
from gateway.simulator.faults import Fault, FaultKind
from tests.campaigns.conftest import SALE_DEFAULTS, phone_of, sale_csv
from tests.campaigns.harness import Harness, running_harness, wait_for

ACTIVE = [phone_of(i) for i in range(0, 12)]
WITHDRAWN = [phone_of(i) for i in range(100, 103)]
UNVERIFIED = [phone_of(i) for i in range(200, 202)]
NONE = [phone_of(i) for i in range(300, 304)]
EXTRA_LINES = "not-a-number,X,SPRING20\n" + f"{ACTIVE[0]},Doppelt,SPRING20\n"


@pytest.fixture
async def harness(settings: Settings, redis: Redis) -> AsyncIterator[Harness]:
    """A running gateway on the emptied test database (the `redis` fixture flushes it)."""
    async with running_harness(settings) as running:
        await running.consent(ACTIVE + WITHDRAWN, EventType.GIVEN, EventType.CONFIRMED)
        await running.consent(WITHDRAWN, EventType.WITHDRAWN)
        await running.import_unverified(UNVERIFIED)
        yield running


def request_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Frühlingsaktion",
        "template": "spring_sale",
        "language": "de",
        "recipients": sale_csv(ACTIVE + WITHDRAWN + UNVERIFIED + NONE) + EXTRA_LINES,
        "defaults": SALE_DEFAULTS,
    }
    body.update(overrides)
    return body


async def created(harness: Harness, **overrides: Any) -> str:
    status, body = await harness.api("POST", "/api/v1/campaigns", json=request_body(**overrides))
    assert status == 201, body
    campaign_id: str = body["campaign"]["id"]
    return campaign_id


async def finished(harness: Harness, campaign_id: str) -> dict[str, Any]:
    """Wait until the campaign completed and every status the simulator sent is applied."""

    async def completed() -> bool:
        _, campaign = await harness.api("GET", f"/api/v1/campaigns/{campaign_id}")
        return bool(campaign["state"] == "completed" and campaign["states"]["queued"] == 0)

    await wait_for(completed, what="the campaign to complete")
    await harness.simulator.statuses.drain()
    simulated = harness.final_statuses()

    async def settled() -> dict[str, Any] | None:
        _, report = await harness.api("GET", f"/api/v1/campaigns/{campaign_id}/report")
        applied = report["states"]["read"] + report["states"]["failed"]
        expected = sum(1 for status in simulated.values() if status in ("read", "failed"))
        expected += report["failed_by_code"].get("131049", 0) + report["failed_by_code"].get(
            "130472", 0
        )
        return report if applied == expected else None

    report: dict[str, Any] = await wait_for(settled, what="the statuses to be applied")
    return report


async def test_create_reports_rejected_lines(harness: Harness) -> None:
    status, body = await harness.api("POST", "/api/v1/campaigns", json=request_body())
    assert status == 201
    assert body["campaign"]["recipients"] == 21
    assert body["campaign"]["state"] == "draft"
    assert [(line["line"], line["reason"]) for line in body["rejected"]] == [
        (23, "invalid_number"),
        (24, "duplicate"),
    ]


async def test_dry_run_counts_reasons(harness: Harness) -> None:
    campaign_id = await created(harness)
    status, body = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/dry-run")
    assert status == 200
    assert body["would_send"] == 12
    assert body["blocked_by_reason"] == {
        "consent_none": 4,
        "consent_unverified": 2,
        "consent_withdrawn": 3,
    }
    assert body["rejected_by_reason"] == {"duplicate": 1, "invalid_number": 1}
    assert harness.simulator.sends() == []


async def test_run_sends_to_active_only(harness: Harness) -> None:
    campaign_id = await created(harness)
    status, _ = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")
    assert status == 200

    await finished(harness, campaign_id)
    recipients = sorted(send["recipient"] for send in harness.template_sends())
    assert recipients == sorted(phone.lstrip("+") for phone in ACTIVE)


async def test_funnel_matches_simulator(harness: Harness) -> None:
    harness.simulator.add_fault(
        Fault(FaultKind.FAILED_STATUS, code=131026, recipient=ACTIVE[1].lstrip("+"))
    )
    harness.simulator.add_fault(
        Fault(FaultKind.ERROR, code=131049, recipient=ACTIVE[2].lstrip("+"))
    )
    campaign_id = await created(harness)
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")

    report = await finished(harness, campaign_id)
    simulated = harness.final_statuses()
    expected_read = sum(1 for status in simulated.values() if status == "read")
    assert report["states"]["read"] == expected_read
    assert report["states"]["failed"] == 2
    assert report["failed_by_code"] == {"131026": 1, "131049": 1}
    assert report["reached"]["sent"] == expected_read
    assert report["blocked_by_reason"]["consent_none"] == 4


async def test_marketing_limit_not_retried(harness: Harness) -> None:
    limited = ACTIVE[2].lstrip("+")
    harness.simulator.add_fault(Fault(FaultKind.ERROR, code=131049, recipient=limited, times=0))
    harness.simulator.add_fault(
        Fault(FaultKind.ERROR, code=130472, recipient=ACTIVE[3].lstrip("+"), times=0)
    )
    campaign_id = await created(harness)
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")

    await finished(harness, campaign_id)
    calls = [
        send
        for send in harness.simulator.sends()
        if send.get("recipient") in (limited, ACTIVE[3].lstrip("+"))
    ]
    assert len(calls) == 2


async def test_recipients_csv_export(harness: Harness) -> None:
    campaign_id = await created(harness)
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")
    await finished(harness, campaign_id)

    url = f"{harness.gateway.base_url}/api/v1/campaigns/{campaign_id}/recipients.csv"
    headers = {"Authorization": f"Bearer {harness.marketing}"}
    async with harness.gateway.http.get(url, headers=headers) as response:
        lines = (await response.text()).splitlines()
    assert lines[0] == "index,line,phone,state,detail"
    assert len(lines) == 22
    assert lines[13].endswith("blocked,consent_withdrawn")


async def test_funnel_csv(harness: Harness) -> None:
    campaign_id = await created(harness)
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")
    await finished(harness, campaign_id)

    url = f"{harness.gateway.base_url}/api/v1/campaigns/{campaign_id}/report?format=csv"
    async with harness.gateway.http.get(
        url, headers={"Authorization": f"Bearer {harness.marketing}"}
    ) as response:
        lines = (await response.text()).splitlines()
    assert response.content_type == "text/csv"
    assert lines[0] == "bucket_start_ms,queued,blocked,sent,delivered,read,failed"
    assert lines[-1] == "total,12,9,12,12,12,0"


async def test_status_hook_uses_message_id(harness: Harness) -> None:
    campaign_id = await created(harness)
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/start")
    await finished(harness, campaign_id)
    message_ids = {send["json"]["biz_opaque_callback_data"] for send in harness.template_sends()}
    assert message_id_of(campaign_id, 0) in message_ids


async def test_pause_then_cancel(harness: Harness) -> None:
    campaign_id = await created(harness, scheduled_at_ms=4_102_444_800_000)
    status, body = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/pause")
    assert (status, body["state"]) == (200, "paused")
    status, body = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/cancel")
    assert (status, body["state"]) == (200, "cancelled")
    assert harness.simulator.sends() == []


async def test_resume_cancelled_409(harness: Harness) -> None:
    campaign_id = await created(harness)
    await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/cancel")
    status, body = await harness.api("POST", f"/api/v1/campaigns/{campaign_id}/resume")
    assert status == 409
    assert body["state"] == "cancelled"
    assert "detail_de" in body


async def test_unknown_campaign_404(harness: Harness) -> None:
    status, body = await harness.api("POST", "/api/v1/campaigns/cmp_0000000000000000/start")
    assert status == 404
    assert "GET /api/v1/campaigns" in body["detail"]


@pytest.mark.parametrize(
    ("overrides", "status", "slug"),
    [
        ({"template": "paused_promo"}, 409, "template-not-sendable"),
        ({"template": "nope"}, 404, "template-not-found"),
        ({"recipients": "name\nAnna\n"}, 422, "recipient-list-invalid"),
        ({"recipients": "phone,body.first_name,button.0\n123,Anna,X\n"}, 422, "no-recipients"),
        ({"recipients_format": "xml"}, 422, "validation-failed"),
    ],
    ids=["paused-template", "unknown-template", "no-phone-column", "no-valid-line", "bad-format"],
)
async def test_create_rejects(
    harness: Harness, overrides: dict[str, Any], status: int, slug: str
) -> None:
    answer_status, body = await harness.api(
        "POST", "/api/v1/campaigns", json=request_body(**overrides)
    )
    assert answer_status == status
    assert body["type"].endswith(slug)
    _, listing = await harness.api("GET", "/api/v1/campaigns")
    assert listing["campaigns"] == []


async def test_integration_role_forbidden(harness: Harness) -> None:
    status, _ = await harness.api(
        "POST", "/api/v1/campaigns", harness.integration, json=request_body()
    )
    assert status == 403


async def test_openapi_describes_routes(harness: Harness) -> None:
    async with harness.gateway.http.get(
        harness.gateway.base_url + "/api/v1/openapi.json"
    ) as response:
        document = await response.json()
    start = document["paths"]["/api/v1/campaigns/{campaign_id}/start"]["post"]
    send = document["paths"]["/api/v1/messages/template"]["post"]
    assert start["x-roles"] == ["admin", "marketing"]
    assert start["summary"] == "Start a draft or scheduled campaign."
    assert send["x-roles"] == ["agent", "integration", "marketing"]
