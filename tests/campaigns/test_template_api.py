"""The template catalog API and single template sends, end to end against the simulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from consent.model import EventType
from gateway.appkeys import REDIS
from gateway.settings import Settings
from tests.campaigns.conftest import BUSINESS, phone_of
from tests.campaigns.harness import Harness, running_harness, wait_for
from tests.helpers import envelope, text_value

PHONE = phone_of(1)
ORDER = {
    "to": PHONE,
    "template": "order_update",
    "language": "de",
    "parameters": {"body": ["Anna", "4711"], "buttons": {"0": "4711"}},
}
SALE = {
    "to": PHONE,
    "template": "spring_sale",
    "language": "de",
    "parameters": {
        "header": {"type": "image", "link": "https://cdn.example/spring.jpg"},
        "body": {"first_name": "Anna", "discount": "20 %"},
        "buttons": {"0": "SPRING20"},
    },
}


@pytest.fixture
async def harness(settings: Settings, redis: Redis) -> AsyncIterator[Harness]:
    """A running gateway on the emptied test database (the `redis` fixture flushes it)."""
    async with running_harness(settings) as running:
        await running.consent([PHONE], EventType.GIVEN, EventType.CONFIRMED)
        await running.consent(
            [PHONE], EventType.GIVEN, EventType.CONFIRMED, purpose="service_updates"
        )
        yield running


async def send(
    harness: Harness, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    all_headers = {"Authorization": f"Bearer {harness.integration}", **(headers or {})}
    url = f"{harness.gateway.base_url}/api/v1/messages/template"
    async with harness.gateway.http.post(url, json=body, headers=all_headers) as response:
        return response.status, await response.json(content_type=None)


def template_status(event: str, name: str = "spring_sale") -> dict[str, Any]:
    return {
        "event": event,
        "message_template_id": 1002,
        "message_template_name": name,
        "message_template_language": "de",
        "reason": "Low quality" if event == "PAUSED" else None,
    }


async def test_list_templates(harness: Harness) -> None:
    status, body = await harness.api("GET", "/api/v1/templates")
    by_name = {template["name"]: template for template in body["templates"]}
    assert status == 200
    assert by_name["spring_sale"]["parameters"]["header"] == "image"
    assert by_name["spring_sale"]["category"] == "MARKETING"
    assert by_name["paused_promo"]["sendable"] is False


async def test_send_reaches_simulator(harness: Harness) -> None:
    status, body = await send(harness, SALE)
    assert status == 202
    sends = await wait_for(lambda: _async(harness.template_sends()), what="template send")
    template = sends[0]["json"]["template"]
    assert sends[0]["json"]["biz_opaque_callback_data"] == body["message_id"]
    assert template["name"] == "spring_sale"
    assert (
        template["components"][0]["parameters"][0]["image"]["link"]
        == "https://cdn.example/spring.jpg"
    )


async def test_send_reports_pricing(harness: Harness) -> None:
    status, body = await send(harness, ORDER)
    assert status == 202
    assert body["pricing"]["category"] == "utility"
    assert body["pricing"]["type"] == "regular"
    assert body["consent"]["purpose"] == "service_updates"


async def test_utility_in_window_is_free(harness: Harness) -> None:
    timestamp_s = int(time.time())
    body = envelope(
        text_value(
            "wamid.in1",
            "Wo ist mein Paket?",
            wa_id=PHONE.lstrip("+"),
            timestamp_s=timestamp_s,
            phone_number_id=BUSINESS,
        )
    )
    response = await harness.gateway.post_webhook(body)
    assert response.status == 200

    async def free() -> Any:
        status, answer = await send(harness, ORDER)
        assert status == 202
        return answer if answer["pricing"]["type"] == "free_customer_service" else None

    answer = await wait_for(free, what="the window to open")
    assert answer["pricing"]["known"] is True


async def catalog_shows(harness: Harness, name: str, field: str, value: str) -> None:
    """Wait until the inbound worker applied a template webhook to the catalog."""

    async def applied() -> bool:
        _, body = await harness.api("GET", "/api/v1/templates")
        return any(t["name"] == name and t[field] == value for t in body["templates"])

    await wait_for(applied, what=f"{name} to have {field} {value}")


async def test_paused_webhook_blocks_send(harness: Harness) -> None:
    await harness.template_webhook("message_template_status_update", template_status("PAUSED"))
    await catalog_shows(harness, "spring_sale", "status", "PAUSED")

    status, body = await send(harness, SALE)
    assert status == 409
    assert body["template_status"] == "PAUSED"
    assert "Low quality" in body["detail"]
    assert "detail_de" in body
    assert harness.template_sends() == []


async def test_category_update_regates(harness: Harness) -> None:
    await harness.consent([PHONE], EventType.WITHDRAWN)
    value = {
        "message_template_id": 1001,
        "message_template_name": "order_update",
        "message_template_language": "de",
        "previous_category": "UTILITY",
        "new_category": "MARKETING",
    }
    await harness.template_webhook("template_category_update", value)
    await catalog_shows(harness, "order_update", "category", "MARKETING")

    status, body = await send(harness, ORDER)
    assert status == 403
    assert body["purpose"] == "marketing"
    assert body["reason"] == "consent_withdrawn"
    assert harness.template_sends() == []


@pytest.mark.parametrize(
    ("parameters", "component", "parameter"),
    [
        ({"body": ["Anna"], "buttons": {"0": "4711"}}, "body", None),
        ({"body": ["Anna", "4711", "x"], "buttons": {"0": "4711"}}, "body", None),
        ({"body": ["Anna", "4711"]}, "buttons", "0"),
    ],
    ids=["too-few", "too-many", "missing-button"],
)
async def test_wrong_parameters_422(
    harness: Harness, parameters: dict[str, Any], component: str, parameter: str | None
) -> None:
    status, body = await send(harness, {**ORDER, "parameters": parameters})
    assert status == 422
    assert (body["errors"][0]["component"], body["errors"][0]["parameter"]) == (
        component,
        parameter,
    )
    assert harness.simulator.sends() == []


async def test_image_header_missing_422(harness: Harness) -> None:
    parameters = {key: value for key, value in SALE["parameters"].items() if key != "header"}
    status, body = await send(harness, {**SALE, "parameters": parameters})
    assert status == 422
    assert body["errors"][0]["component"] == "header"
    assert body["errors"][0]["parameter"] == "image"
    assert "header" in body["detail"]
    assert harness.simulator.sends() == []


async def test_no_consent_403(harness: Harness) -> None:
    status, body = await send(harness, {**SALE, "to": phone_of(2)})
    assert status == 403
    assert body["reason"] == "consent_none"
    assert body["decision_id"].startswith("gdc_")
    assert harness.simulator.sends() == []


async def test_unknown_template_404(harness: Harness) -> None:
    status, body = await send(harness, {**ORDER, "template": "nope"})
    assert status == 404
    assert "templates sync" in body["detail"]


async def test_invalid_phone_422(harness: Harness) -> None:
    status, body = await send(harness, {**ORDER, "to": "12"})
    assert status == 422
    assert body["field"] == "to"


async def test_idempotency_key_repeats_answer(harness: Harness) -> None:
    headers = {"Idempotency-Key": "order-4711-shipped"}
    first_status, first = await send(harness, ORDER, headers=headers)
    second_status, second = await send(harness, ORDER, headers=headers)
    assert (first_status, second_status) == (202, 202)
    assert first["message_id"] == second["message_id"]
    await wait_for(lambda: _async(harness.template_sends()), what="template send")
    assert len(harness.template_sends()) == 1


async def test_idempotency_key_other_body_422(harness: Harness) -> None:
    headers = {"Idempotency-Key": "order-4711-shipped"}
    first_status, _ = await send(harness, ORDER, headers=headers)
    other = {**ORDER, "parameters": {"body": ["Ben", "4712"], "buttons": {"0": "4712"}}}
    second_status, body = await send(harness, other, headers=headers)
    assert first_status == 202
    assert second_status == 422
    assert body["type"].endswith("idempotency-key-reused")


async def test_agent_needs_held_conversation(harness: Harness) -> None:
    from gateway.auth import Role

    token = await harness.gateway.token(Role.AGENT, "Erika", "a-erika")
    status, body = await harness.api(
        "POST", "/api/v1/messages/template", token, json={**ORDER, "conversation_id": "c_unknown"}
    )
    assert status == 403
    assert body["type"].endswith("not-conversation-holder")


async def test_agent_sends_in_held_conversation(harness: Harness) -> None:
    from gateway.auth import Role
    from routing.keys import RoutingKeys
    from sessions.conversations import conversation_id_for
    from sessions.keys import SessionKeys

    wa_id = PHONE.lstrip("+")
    body = envelope(
        text_value(
            "wamid.in2",
            "Hallo",
            wa_id=wa_id,
            timestamp_s=int(time.time()),
            phone_number_id=BUSINESS,
        )
    )
    assert (await harness.gateway.post_webhook(body)).status == 200
    conversation_id = conversation_id_for(BUSINESS, wa_id)
    redis = harness.gateway.app[REDIS]
    conversation_key = SessionKeys("wag:").conversation(conversation_id)
    await wait_for(lambda: redis.exists(conversation_key), what="the conversation")
    interaction = RoutingKeys("wag:").interaction(conversation_id)
    await redis.hset(interaction, mapping={"state": "assigned", "agent_id": "a-erika"})

    token = await harness.gateway.token(Role.AGENT, "Erika", "a-erika")
    request = {**ORDER, "conversation_id": conversation_id}
    status, answer = await harness.api("POST", "/api/v1/messages/template", token, json=request)
    assert status == 202
    assert answer["conversation_id"] == conversation_id


async def test_conversation_of_other_customer_422(harness: Harness) -> None:
    from sessions.conversations import conversation_id_for

    other = phone_of(2).lstrip("+")
    body = envelope(
        text_value(
            "wamid.in3",
            "Hallo",
            wa_id=other,
            timestamp_s=int(time.time()),
            phone_number_id=BUSINESS,
        )
    )
    assert (await harness.gateway.post_webhook(body)).status == 200
    conversation_id = conversation_id_for(BUSINESS, other)

    async def rejected() -> Any:
        status, answer = await send(harness, {**ORDER, "conversation_id": conversation_id})
        return answer if status == 422 else None

    answer = await wait_for(rejected, what="the conversation to exist")
    assert answer["type"].endswith("conversation-mismatch")
    assert harness.simulator.sends() == []


async def test_marketing_may_send(harness: Harness) -> None:
    status, _ = await harness.api("POST", "/api/v1/messages/template", harness.marketing, json=SALE)
    assert status == 202


async def _async(value: Any) -> Any:
    return value
