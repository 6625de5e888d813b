"""The routing HTTP API on a running gateway: roles, bodies, offers, actions and SSE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from common.clock import ManualClock
from gateway.auth import Role
from gateway.settings import Settings
from tests.helpers import Gateway, envelope, running_gateway, text_value


@pytest.fixture
async def gateway(settings: Settings, clock: ManualClock, redis: Any) -> AsyncIterator[Gateway]:
    async with running_gateway(settings, clock) as gw:
        yield gw


@pytest.fixture
async def admin(gateway: Gateway) -> str:
    return await gateway.token(Role.ADMIN, "admin")


@pytest.fixture
async def integration(gateway: Gateway) -> str:
    return await gateway.token(Role.INTEGRATION, "crm")


async def _agent(gateway: Gateway, admin: str, agent_id: str, **profile: Any) -> str:
    body = {
        "id": agent_id,
        "name": agent_id.upper(),
        "queues": ["default"],
        "capacity": {"whatsapp": 2, "voice": 1, "email": 2},
        **profile,
    }
    status, data = await gateway.api("POST", "/api/v1/agents", admin, json=body)
    assert status == 201, data
    token: str = data["token"]
    status, data = await gateway.api(
        "PUT", "/api/v1/agents/me/presence", token, json={"presence": "available"}
    )
    assert status == 200, data
    return token


async def _call(gateway: Gateway, integration: str, **fields: Any) -> dict[str, Any]:
    body = {"channel": "voice", "customer": {"id": "cust-1", "name": "Erika"}, **fields}
    status, data = await gateway.api("POST", "/api/v1/interactions", integration, json=body)
    assert status == 201, data
    result: dict[str, Any] = data
    return result


async def _my_offer(gateway: Gateway, token: str) -> dict[str, Any]:
    status, data = await gateway.api("GET", "/api/v1/agents/me/interactions", token)
    assert status == 200
    offers = [item for item in data["items"] if item["state"] == "offered"]
    assert len(offers) == 1, data
    offer: dict[str, Any] = offers[0]
    return offer


async def _next_event(response: aiohttp.ClientResponse, wanted: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            line = await response.content.readline()
            if line.startswith(b"data: "):
                data: dict[str, Any] = orjson.loads(line[6:])
                if data["type"] == wanted:
                    return data

    return await asyncio.wait_for(read(), timeout=5)


async def test_queue_created(gateway: Gateway, admin: str) -> None:
    body = {
        "name": "sales",
        "match": {"languages": ["de"]},
        "service_level": {"percent": 80, "within_s": 60},
        "offer_timeout_s": 20,
    }

    status, data = await gateway.api("POST", "/api/v1/queues", admin, json=body)

    assert status == 201
    assert data["offer_timeout_s"] == 20


async def test_queue_duplicate(gateway: Gateway, admin: str) -> None:
    status, data = await gateway.api("POST", "/api/v1/queues", admin, json={"name": "default"})

    assert status == 409
    assert data["code"] == "queue_exists"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "offer_timeout_s": -1}, "offer_timeout_s"),
        ({"name": "Bad Name"}, "name"),
        ({"name": "x", "bullseye": [{"after_s": 60}, {"after_s": 30}]}, "bullseye"),
        ({"name": "x", "service_level": {"percent": 120}}, "service_level.percent"),
    ],
    ids=["negative-timeout", "bad-name", "steps-out-of-order", "percent-over-100"],
)
async def test_queue_bad_body(
    gateway: Gateway, admin: str, body: dict[str, Any], field: str
) -> None:
    status, data = await gateway.api("POST", "/api/v1/queues", admin, json=body)

    assert status == 422
    assert data["errors"][0]["field"] == field


async def test_overview_for_supervisor(gateway: Gateway, admin: str, integration: str) -> None:
    await _agent(gateway, admin, "a1")
    await _call(gateway, integration, channel="email")
    await _call(gateway, integration, channel="email", customer={"id": "cust-2"})
    await _call(gateway, integration, channel="email", customer={"id": "cust-3"})
    supervisor = await gateway.token(Role.SUPERVISOR, "lead")

    status, data = await gateway.api("GET", "/api/v1/queues", supervisor)

    assert status == 200
    queue = next(q for q in data["queues"] if q["name"] == "default")
    assert queue["waiting"] == 1
    assert data["agents"]["by_presence"]["available"] == 1
    assert data["agents"]["list"][0]["usage"]["email"] == {"open": 2, "capacity": 2}


async def test_overview_forbidden_to_agent(gateway: Gateway, admin: str) -> None:
    token = await _agent(gateway, admin, "a1")

    status, data = await gateway.api("GET", "/api/v1/queues", token)

    assert status == 403
    assert data["type"].endswith("/forbidden")


async def test_agent_created_with_token(gateway: Gateway, admin: str) -> None:
    body = {
        "id": "anna",
        "name": "Anna",
        "skills": {"billing": 3},
        "languages": ["de", "en"],
        "capacity": {"whatsapp": 3},
        "queues": ["default"],
    }

    status, data = await gateway.api("POST", "/api/v1/agents", admin, json=body)

    assert status == 201
    assert data["agent"]["presence"] == "offline"
    status, me = await gateway.api("GET", "/api/v1/agents/me", data["token"])
    assert status == 200
    assert me["agent"]["id"] == "anna"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"capacity": {"whatsapp": -1}}, 422, "capacity.whatsapp"),
        ({"capacity": {"fax": 1}}, 422, "capacity.fax.[key]"),
        ({"id": "me"}, 422, "id"),
        ({"skills": {"billing": 11}}, 422, "skills.billing"),
    ],
    ids=["negative-capacity", "unknown-channel", "reserved-id", "level-over-10"],
)
async def test_agent_bad_body(
    gateway: Gateway, admin: str, body: dict[str, Any], status: int, field: str
) -> None:
    full = {"id": "a1", "name": "A", **body}

    got, data = await gateway.api("POST", "/api/v1/agents", admin, json=full)

    assert got == status
    assert data["errors"][0]["field"] == field
    assert (await gateway.api("GET", "/api/v1/agents", admin))[1]["items"] == []


async def test_agent_unknown_queue(gateway: Gateway, admin: str) -> None:
    body = {"id": "a1", "name": "A", "queues": ["nowhere"]}

    status, data = await gateway.api("POST", "/api/v1/agents", admin, json=body)

    assert status == 422
    assert data["code"] == "unknown_queue"
    assert (await gateway.api("GET", "/api/v1/agents", admin))[1]["items"] == []


async def test_interaction_offered(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")

    data = await _call(gateway, integration, id="call-42")

    assert data["conversation_id"] == "call-42"
    assert data["state"] == "offered"
    assert (await _my_offer(gateway, token))["conversation_id"] == "call-42"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"skills": ["astrology"]}, "unknown_skill"),
        ({"queue": "nowhere"}, "unknown_queue"),
        ({"preferred_agent": "ghost"}, "unknown_agent"),
    ],
    ids=["skill", "queue", "agent"],
)
async def test_interaction_unknown_reference(
    gateway: Gateway, integration: str, fields: dict[str, Any], code: str
) -> None:
    body = {"channel": "voice", "customer": {"id": "c"}, "id": "x1", **fields}

    status, data = await gateway.api("POST", "/api/v1/interactions", integration, json=body)

    assert status == 422
    assert data["code"] == code
    assert (await gateway.api("GET", "/api/v1/interactions/x1", integration))[0] == 404


async def test_interaction_whatsapp_refused(gateway: Gateway, integration: str) -> None:
    body = {"channel": "whatsapp", "customer": {"id": "c"}}

    status, data = await gateway.api("POST", "/api/v1/interactions", integration, json=body)

    assert status == 422
    assert data["errors"][0]["field"] == "channel"


async def test_accept_then_close(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")
    await _call(gateway, integration, id="call-1")
    offer = await _my_offer(gateway, token)

    status, data = await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", token)
    assert status == 200
    assert data["state"] == "assigned"
    status, data = await gateway.api("POST", "/api/v1/conversations/call-1/close", token)

    assert status == 200
    assert data["state"] == "closed"


async def test_accept_by_other_agent(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")
    other = await _agent(gateway, admin, "a2", capacity={"email": 1})
    await _call(gateway, integration)
    offer = await _my_offer(gateway, token)

    status, data = await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", other)

    assert status == 403
    assert data["code"] == "offer_not_yours"
    assert (await _my_offer(gateway, token))["offer_id"] == offer["offer_id"]


async def test_accept_after_expiry(
    gateway: Gateway, admin: str, integration: str, clock: ManualClock
) -> None:
    token = await _agent(gateway, admin, "a1")
    await _call(gateway, integration)
    offer = await _my_offer(gateway, token)
    clock.advance(31_000)

    status, data = await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", token)

    assert status == 409
    assert data["code"] == "offer_expired"
    assert data["type"].endswith("/offer-expired")


async def test_transfer_with_note(gateway: Gateway, admin: str, integration: str) -> None:
    first = await _agent(gateway, admin, "a1")
    await _call(gateway, integration, id="call-1")
    offer = await _my_offer(gateway, first)
    await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", first)
    second = await _agent(gateway, admin, "a2")

    status, data = await gateway.api(
        "POST",
        "/api/v1/conversations/call-1/transfer",
        first,
        json={"to_agent": "a2", "note": "Kunde fragt nach Rechnung"},
    )

    assert status == 200
    assert data["state"] == "offered"
    assert (await _my_offer(gateway, second))["transfer_note"] == "Kunde fragt nach Rechnung"


async def test_transfer_needs_one_target(gateway: Gateway, admin: str) -> None:
    token = await _agent(gateway, admin, "a1")

    status, data = await gateway.api(
        "POST", "/api/v1/conversations/x/transfer", token, json={"to_agent": "a", "to_queue": "q"}
    )

    assert status == 422
    assert "exactly one target" in data["detail"]


async def test_hold_and_resume(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")
    await _call(gateway, integration, id="call-1")
    offer = await _my_offer(gateway, token)
    await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", token)

    held = await gateway.api("POST", "/api/v1/conversations/call-1/hold", token)
    resumed = await gateway.api("POST", "/api/v1/conversations/call-1/resume", token)

    assert held[0] == 200
    assert held[1]["state"] == "held"
    assert resumed[1]["state"] == "assigned"


async def test_close_not_holder(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")
    other = await _agent(gateway, admin, "a2")
    await _call(gateway, integration, id="call-1")
    offer = await _my_offer(gateway, token)
    await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", token)

    status, data = await gateway.api("POST", "/api/v1/conversations/call-1/close", other)

    assert status == 403
    assert data["code"] == "not_holder"


async def test_presence_invalid(gateway: Gateway, admin: str) -> None:
    token = await _agent(gateway, admin, "a1")

    status, data = await gateway.api(
        "PUT", "/api/v1/agents/me/presence", token, json={"presence": "sleeping"}
    )

    assert status == 422
    assert data["errors"][0]["field"] == "presence"


async def test_agent_stream_gets_offer(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")
    headers = {"Authorization": f"Bearer {token}"}
    async with gateway.http.get(
        f"{gateway.base_url}/api/v1/agents/me/events", headers=headers
    ) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        await stream.content.readline()
        await _call(gateway, integration, id="call-7")

        event = await _next_event(stream, "offer")

    assert event["conversation_id"] == "call-7"
    assert event["deadline_ms"] > 0
    assert event["offer_id"]


async def test_agent_stream_private(gateway: Gateway, admin: str, integration: str) -> None:
    await _agent(gateway, admin, "a1")
    other = await _agent(gateway, admin, "a2", capacity={"email": 1})
    headers = {"Authorization": f"Bearer {other}", "Last-Event-ID": "0-0"}
    await _call(gateway, integration, id="call-7")
    async with gateway.http.get(
        f"{gateway.base_url}/api/v1/agents/me/events", headers=headers
    ) as stream:
        await _call(gateway, integration, channel="email", id="mail-1")

        event = await _next_event(stream, "offer")

    assert event["conversation_id"] == "mail-1"


async def test_supervisor_stream_catches_up(gateway: Gateway, admin: str, integration: str) -> None:
    await _call(gateway, integration, id="call-1")
    supervisor = await gateway.token(Role.SUPERVISOR, "lead")
    headers = {"Authorization": f"Bearer {supervisor}", "Last-Event-ID": "0-0"}
    async with gateway.http.get(
        f"{gateway.base_url}/api/v1/supervisor/events", headers=headers
    ) as stream:
        event = await _next_event(stream, "queued")

    assert event["conversation_id"] == "call-1"


async def test_stream_needs_agent_token(gateway: Gateway, admin: str) -> None:
    status, _ = await gateway.api("GET", "/api/v1/agents/me/events", admin)

    assert status == 403


async def test_webhook_chat_offered(gateway: Gateway, admin: str) -> None:
    token = await _agent(gateway, admin, "a1")

    response = await gateway.post_webhook(envelope(text_value("wamid.r1", "Hallo")))
    assert response.status == 200
    await gateway.drain()

    offer = await _my_offer(gateway, token)
    assert offer["channel"] == "whatsapp"
    assert offer["queue"] == "default"
    assert offer["window_expires_at_ms"] == 1_750_000_000_000 + 24 * 3_600_000


async def test_webhook_message_to_agent(gateway: Gateway, admin: str) -> None:
    token = await _agent(gateway, admin, "a1")
    await gateway.post_webhook(envelope(text_value("wamid.r1", "Hallo")))
    await gateway.drain()
    offer = await _my_offer(gateway, token)
    await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", token)
    headers = {"Authorization": f"Bearer {token}"}
    async with gateway.http.get(
        f"{gateway.base_url}/api/v1/agents/me/events", headers=headers
    ) as stream:
        await stream.content.readline()
        await gateway.post_webhook(
            envelope(text_value("wamid.r2", "Noch da?", timestamp_s=1_750_000_060))
        )
        await gateway.drain()

        event = await _next_event(stream, "message")

    assert event["conversation_id"] == offer["conversation_id"]


async def test_offer_listed_with_deadline(
    gateway: Gateway, admin: str, integration: str, clock: ManualClock
) -> None:
    token = await _agent(gateway, admin, "a1")

    await _call(gateway, integration)

    assert (await _my_offer(gateway, token))["offer_deadline_ms"] == clock.now_ms() + 30_000


async def test_agent_replaced(gateway: Gateway, admin: str) -> None:
    await _agent(gateway, admin, "a1")
    body = {"id": "a1", "name": "Anna", "capacity": {"email": 4}, "queues": ["default"]}

    status, data = await gateway.api("PUT", "/api/v1/agents/a1", admin, json=body)

    assert status == 200
    assert data["agent"]["name"] == "Anna"
    assert data["agent"]["capacity"] == {"email": 4}
    assert data["agent"]["presence"] == "available"


async def test_busy_agent_not_deleted(gateway: Gateway, admin: str, integration: str) -> None:
    await _agent(gateway, admin, "a1")
    await _call(gateway, integration)

    status, data = await gateway.api("DELETE", "/api/v1/agents/a1", admin)

    assert status == 409
    assert data["code"] == "agent_busy"


async def test_deleted_agent_token_revoked(gateway: Gateway, admin: str) -> None:
    token = await _agent(gateway, admin, "a1")

    status, data = await gateway.api("DELETE", "/api/v1/agents/a1", admin)

    assert status == 200
    assert data["tokens_revoked"] == 1
    assert (await gateway.api("GET", "/api/v1/agents/me", token))[0] == 401


async def test_queue_path_mismatch(gateway: Gateway, admin: str) -> None:
    status, data = await gateway.api("PUT", "/api/v1/queues/sales", admin, json={"name": "other"})

    assert status == 422
    assert data["code"] == "invalid_queue_name"


async def test_supervisor_transfers(gateway: Gateway, admin: str, integration: str) -> None:
    token = await _agent(gateway, admin, "a1")
    await _call(gateway, integration, id="call-1")
    offer = await _my_offer(gateway, token)
    await gateway.api("POST", f"/api/v1/offers/{offer['offer_id']}/accept", token)
    await gateway.api("POST", "/api/v1/queues", admin, json={"name": "billing"})
    supervisor = await gateway.token(Role.SUPERVISOR, "lead")

    status, data = await gateway.api(
        "POST", "/api/v1/conversations/call-1/transfer", supervisor, json={"to_queue": "billing"}
    )

    assert status == 200
    assert data["queue"] == "billing"
    assert data["state"] == "queued"


async def test_interaction_id_in_use(gateway: Gateway, integration: str) -> None:
    await _call(gateway, integration, id="call-1")

    status, data = await gateway.api(
        "POST",
        "/api/v1/interactions",
        integration,
        json={"channel": "voice", "customer": {"id": "c"}, "id": "call-1"},
    )

    assert status == 409
    assert data["code"] == "interaction_active"
