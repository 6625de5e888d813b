"""Batched bodies, duplicates, username users, and status ordering."""

from __future__ import annotations

import itertools
import json

import pytest

from gateway.auth import Role
from sessions.conversations import conversation_id_for
from tests.helpers import envelope, signed_headers, status_value, text_value

BIZ = "156305421874268"


async def _history(gateway, token, conversation_id):
    status, data = await gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", token
    )
    assert status == 200
    return data["items"]


async def test_batch_of_entries_changes_messages_and_statuses(gateway, redis):
    token = await gateway.token(Role.ADMIN)
    first = text_value("wamid.A1", "Grüße aus Köln, 👋", wa_id="4915100000001")
    first["messages"].append(
        {
            "from": "4915100000001",
            "id": "wamid.A2",
            "timestamp": "1750000001",
            "type": "text",
            "text": {"body": "zweite Nachricht"},
        }
    )
    second = text_value("wamid.B1", "hello", wa_id="4915100000002")
    statuses = status_value("wamid.OUT1", "delivered", 1_750_000_010)
    statuses["statuses"].append(
        {
            "id": "wamid.OUT2",
            "status": "read",
            "timestamp": "1750000011",
            "recipient_id": "4915100000002",
        }
    )
    body = envelope(first, second)
    body["entry"].append(
        {
            "id": "999",
            "changes": [
                {"field": "messages", "value": statuses},
                {"field": "user_preferences", "value": {"x": 1}},
            ],
        }
    )

    response = await gateway.post_webhook(json.dumps(body, ensure_ascii=False).encode())
    assert response.status == 200
    await gateway.drain()

    conversation_1 = conversation_id_for(BIZ, "4915100000001")
    texts = [item["text"] for item in await _history(gateway, token, conversation_1)]
    assert texts == ["Grüße aus Köln, 👋", "zweite Nachricht"]
    conversation_2 = conversation_id_for(BIZ, "4915100000002")
    assert [item["text"] for item in await _history(gateway, token, conversation_2)] == ["hello"]
    for wamid, status in (("wamid.OUT1", "delivered"), ("wamid.OUT2", "read")):
        code, message = await gateway.api("GET", f"/api/v1/messages/{wamid}", token)
        assert code == 200
        assert message["status"] == status
    assert await redis.xlen("wag:events:fields") == 1


async def test_username_user_with_empty_wa_id(gateway):
    token = await gateway.token(Role.ADMIN)
    value = text_value("wamid.U1", "hi", wa_id="", user_id="DE.1234567890")
    value["contacts"][0]["wa_id"] = ""
    value["messages"][0]["from"] = ""
    assert (await gateway.post_webhook(envelope(value))).status == 200
    await gateway.drain()

    conversation_id = conversation_id_for(BIZ, "DE.1234567890")
    code, conversation = await gateway.api("GET", f"/api/v1/conversations/{conversation_id}", token)
    assert code == 200
    assert conversation["customer_id"] == "DE.1234567890"
    assert conversation["wa_id"] is None


async def test_same_customer_after_user_id_appears(gateway):
    """A wa_id seen together with a user id keeps mapping to that user id."""
    token = await gateway.token(Role.ADMIN)
    await gateway.post_webhook(envelope(text_value("wamid.M1", "a", user_id="DE.42")))
    await gateway.post_webhook(envelope(text_value("wamid.M2", "b", timestamp_s=1_750_000_100)))
    await gateway.drain()
    items = await _history(gateway, token, conversation_id_for(BIZ, "DE.42"))
    assert [item["text"] for item in items] == ["a", "b"]


async def test_duplicate_body_gives_one_message(gateway, redis):
    token = await gateway.token(Role.ADMIN)
    body = json.dumps(envelope(text_value("wamid.D1", "einmal"))).encode()
    reindented = json.dumps(json.loads(body), indent=2).encode()
    for raw in (body, body, reindented):
        assert (await gateway.post_webhook(raw)).status == 200
    await gateway.drain()
    assert await redis.xlen("wag:inbound") == 3
    items = await _history(gateway, token, conversation_id_for(BIZ, "4915112345678"))
    assert len(items) == 1


async def test_duplicate_across_batches(gateway):
    token = await gateway.token(Role.ADMIN)
    one = text_value("wamid.X1", "x")
    both = text_value("wamid.X2", "y", timestamp_s=1_750_000_100)
    both["messages"].insert(0, one["messages"][0])
    await gateway.post_webhook(envelope(one))
    await gateway.drain()
    await gateway.post_webhook(envelope(both))
    await gateway.drain()
    items = await _history(gateway, token, conversation_id_for(BIZ, "4915112345678"))
    assert [item["wamid"] for item in items] == ["wamid.X1", "wamid.X2"]


STATUSES = [("sent", 1), ("delivered", 2), ("read", 3)]


@pytest.mark.parametrize(
    "order", list(itertools.permutations(STATUSES)), ids=lambda order: "-".join(s for s, _ in order)
)
async def test_status_order_does_not_matter(gateway, order):
    token = await gateway.token(Role.ADMIN)
    for status, offset in order:
        await gateway.post_webhook(
            envelope(status_value("wamid.S1", status, 1_750_000_000 + offset))
        )
    await gateway.post_webhook(envelope(status_value("wamid.S1", "delivered", 1_750_000_002)))
    await gateway.drain()
    code, message = await gateway.api("GET", "/api/v1/messages/wamid.S1", token)
    assert code == 200
    assert message["status"] == "read"
    assert len(message["statuses"]) == 3


async def test_failed_status_keeps_error(gateway):
    token = await gateway.token(Role.ADMIN)
    failed = status_value(
        "wamid.F1",
        "failed",
        1_750_000_005,
        errors=[{"code": 131026, "title": "Message undeliverable"}],
    )
    await gateway.post_webhook(envelope(failed))
    await gateway.post_webhook(envelope(status_value("wamid.F1", "sent", 1_750_000_001)))
    await gateway.drain()
    _code, message = await gateway.api("GET", "/api/v1/messages/wamid.F1", token)
    assert message["status"] == "failed"
    assert message["error_code"] == 131026


async def test_status_before_outbound_message_is_applied_later(gateway, redis, clock):
    from sessions.messages import MessageStore

    await gateway.post_webhook(envelope(status_value("wamid.LATE", "delivered", 1_750_000_002)))
    await gateway.drain()
    store = MessageStore(redis, "wag:", clock)
    conversation_id = conversation_id_for(BIZ, "4915112345678")
    await store.append_outbound(conversation_id, "m_1", "text", "Hallo", {}, 1_750_000_000_000)
    await store.attach_wamid("m_1", "wamid.LATE")

    message = await store.get_by_wamid("wamid.LATE")
    assert message is not None
    assert message["message_id"] == "m_1"
    assert message["status"] == "delivered"
    assert [s["status"] for s in message["statuses"]] == ["accepted", "delivered"]


@pytest.mark.parametrize(
    ("raw_message", "kind"),
    [
        (
            {
                "type": "unsupported",
                "errors": [{"code": 131051, "title": "Message type unknown"}],
                "unsupported": {"type": "poll"},
            },
            "unsupported",
        ),
        (
            {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
            "unsupported",
        ),
        ({"type": "hologram", "hologram": {"x": 1}}, "unknown"),
        ({"type": "revoke", "revoke": {"original_message_id": "wamid.OLD"}}, "revoke"),
        (
            {
                "type": "sticker",
                "sticker": {"id": "123", "mime_type": "image/webp", "animated": False},
            },
            "sticker",
        ),
        ({"type": "reaction", "reaction": {"message_id": "wamid.OLD", "emoji": ""}}, "reaction"),
    ],
    ids=[
        "unsupported-with-object",
        "unsupported-without-object",
        "unknown-type",
        "revoke",
        "sticker",
        "reaction-removed",
    ],
)
async def test_other_message_types(gateway, raw_message, kind):
    token = await gateway.token(Role.ADMIN)
    value = text_value("wamid.T1", "")
    value["messages"][0] = {
        "from": "4915112345678",
        "id": "wamid.T1",
        "timestamp": "1750000000",
        **raw_message,
    }
    assert (await gateway.post_webhook(envelope(value))).status == 200
    await gateway.drain()
    [message] = await _history(gateway, token, conversation_id_for(BIZ, "4915112345678"))
    assert message["type"] == kind
    if raw_message.get("errors"):
        assert message["errors"][0]["code"] == 131051


async def test_one_bad_update_does_not_lose_the_others(gateway, redis):
    token = await gateway.token(Role.ADMIN)
    value = text_value("wamid.G1", "good")
    value["messages"].insert(0, {"id": "wamid.BAD", "type": "text"})  # no timestamp, no sender
    await gateway.post_webhook(envelope(value))
    await gateway.drain()
    items = await _history(gateway, token, conversation_id_for(BIZ, "4915112345678"))
    assert [item["wamid"] for item in items] == ["wamid.G1"]


async def test_non_json_signed_body_is_dead_lettered(gateway, redis):
    body = b"not json at all"
    response = await gateway.http.post(
        f"{gateway.base_url}/webhooks/whatsapp", data=body, headers=signed_headers(body)
    )
    assert response.status == 200
    await gateway.drain()
    assert await redis.xlen("wag:inbound:dead") == 1
