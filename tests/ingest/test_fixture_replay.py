"""Every collected real webhook payload, posted signed to a running gateway, lands as expected.

The payloads come from Meta's reference pages, pywa's test data and public bug reports;
`tests/fixtures/webhooks/SOURCES.md` lists where each one comes from.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.auth import Role
from sessions.conversations import conversation_id_for
from tests.helpers import fixture_bytes, fixture_names

BIZ = "156305421874268"
PYWA_BIZ = "1879734098827"
ERIKA = "4915112345678"
ERIKA_BSUID = "DE.37168418373200691946"

# name -> what must be stored: a message (customer, type, text, payload, routed state),
# a status (wamid, final status, error code) or a field event.
EXPECTED: dict[str, dict[str, Any]] = {
    "01": {
        "message": (BIZ, ERIKA, "text", "Does it come in another color?", None),
        "state": "queued",
    },
    "02": {"message": (BIZ, ERIKA, "text", "Is this still available?", None), "state": "queued"},
    "03": {
        "message": (BIZ, ERIKA, "text", "Can I get more info about this?", None),
        "state": "queued",
        "referral": "ad",
    },
    "04": {
        "message": (BIZ, ERIKA, "interactive", "Priority Mail Express", "priority_express"),
        "state": "queued",
    },
    "05": {"message": (BIZ, ERIKA, "interactive", "Cancel", "cancel-button"), "state": "queued"},
    "07": {"field": "messages.errors", "code": 130429},
    "08": {
        "message": (
            BIZ,
            ERIKA,
            "system",
            "User Erika Mustermann changed from 4915112345678 to 4915798765432",
            None,
        ),
        "state": "new",
        "number_change": "4915798765432",
    },
    "09": {"status": "sent"},
    "10": {"status": "sent"},
    "11": {"status": "failed", "error_code": 131049},
    "12": {"field": "user_preferences"},
    "15": {"field": "account_update"},
    "16": {"message": (PYWA_BIZ, ERIKA_BSUID, "image", None, None), "state": "queued"},
    "17": {
        "message": (PYWA_BIZ, ERIKA_BSUID, "video", "caption", None),
        "state": "queued",
        "forwarded": True,
    },
    "18": {
        "message": (PYWA_BIZ, ERIKA_BSUID, "document", "caption", None),
        "state": "queued",
        "forwarded": True,
    },
    "19": {"message": (PYWA_BIZ, ERIKA_BSUID, "audio", None, None), "state": "queued"},
    "20": {"message": (PYWA_BIZ, ERIKA_BSUID, "reaction", "\U0001f62e", None), "state": "new"},
    "22": {
        "message": (PYWA_BIZ, ERIKA_BSUID, "location", None, None),
        "state": "queued",
        "forwarded": True,
    },
    "23": {"message": (PYWA_BIZ, ERIKA_BSUID, "contacts", None, None), "state": "queued"},
    "24": {"message": (PYWA_BIZ, ERIKA_BSUID, "order", None, None), "state": "queued"},
    "26": {
        "message": (PYWA_BIZ, ERIKA_BSUID, "text", "replied text", None),
        "state": "queued",
        "context": True,
    },
    "28": {
        "message": (PYWA_BIZ, ERIKA_BSUID, "button", "title", "callback_data"),
        "state": "queued",
    },
    "29": {"message": (PYWA_BIZ, ERIKA_BSUID, "interactive", "Sent", None), "state": "queued"},
    "30": {"status": "failed", "error_code": 130472},
    "31": {"status": "played"},
    "32": {"status": "sent"},
    "33": {"message": (PYWA_BIZ, ERIKA, "system", "User identity changed", None), "state": "new"},
    "34": {
        "message": (BIZ, "4915798765432", "edit", "Updated image caption", None),
        "state": "new",
    },
    "35": {"field": "user_preferences"},
    "36": {"status": "sent"},
    "39": {"status": "failed", "error_code": 131026},
    "40": {"status": "failed", "error_code": 131047},
    "43": {"status": "delivered"},
}


def test_every_fixture_has_an_expectation():
    assert sorted(name[:2] for name in fixture_names()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", fixture_names(), ids=lambda name: name.removesuffix(".json"))
async def test_fixture_lands(gateway, redis, name):
    body = fixture_bytes(name)
    expected = EXPECTED[name[:2]]
    token = await gateway.token(Role.ADMIN)

    response = await gateway.post_webhook(body)
    assert response.status == 200
    assert await gateway.drain() == 1
    assert await redis.xlen("wag:inbound:dead") == 0

    raw = orjson.loads(body)
    value = raw["entry"][0]["changes"][0]["value"]
    if "message" in expected:
        await _check_message(gateway, token, value["messages"][0], expected)
    elif "status" in expected:
        await _check_status(gateway, token, value["statuses"][0], expected)
    else:
        await _check_field_event(redis, expected)


async def _check_message(gateway, token, raw_message, expected):
    phone_number_id, customer_id, kind, text, payload = expected["message"]
    conversation_id = conversation_id_for(phone_number_id, customer_id)

    status, conversation = await gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}", token
    )
    assert status == 200
    assert conversation["customer_id"] == customer_id
    assert conversation["phone_number_id"] == phone_number_id
    assert conversation["state"] == expected["state"]
    if kind != "system":
        expected_expiry = int(raw_message["timestamp"]) * 1000 + 24 * 3_600_000
        assert conversation["window"]["expires_at_ms"] == expected_expiry
    if expected.get("referral"):
        assert conversation["referral"]["source_type"] == expected["referral"]

    status, history = await gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", token
    )
    assert status == 200
    [message] = history["items"]
    assert message["wamid"] == raw_message["id"]
    assert message["direction"] == "in"
    assert message["type"] == kind
    assert message["text"] == text
    assert message.get("payload") == payload
    assert message["timestamp_ms"] == int(raw_message["timestamp"]) * 1000
    if expected.get("context"):
        assert message["context_wamid"] == raw_message["context"]["id"]
    if kind not in ("text", "system", "contacts"):
        assert message["content"] == raw_message[kind]
    if expected.get("number_change"):
        new_wa_id = expected["number_change"]
        identity = await gateway.app_redis_get(f"wag:identity:{{{phone_number_id}:{new_wa_id}}}")
        assert identity == customer_id.encode()


async def _check_status(gateway, token, raw_status, expected):
    status, message = await gateway.api("GET", f"/api/v1/messages/{raw_status['id']}", token)
    assert status == 200
    assert message["status"] == expected["status"]
    assert message["error_code"] == expected.get("error_code")
    assert message["statuses"][0]["timestamp_ms"] == int(raw_status["timestamp"]) * 1000


async def _check_field_event(redis, expected):
    [(_id, fields)] = await redis.xrange("wag:events:fields")
    assert fields[b"field"].decode() == expected["field"]
    if "code" in expected:
        value = orjson.loads(fields[b"value"])
        assert value["errors"][0]["code"] == expected["code"]
