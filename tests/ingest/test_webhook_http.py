"""The webhook endpoint: Meta's handshake, signatures, body size limits."""

from __future__ import annotations

import json

import pytest

from gateway.signature import sign
from tests.helpers import TEST_SECRET, fixture_bytes


@pytest.mark.parametrize(
    ("query", "status"),
    [
        (
            {
                "hub.mode": "subscribe",
                "hub.verify_token": "test-verify-token",
                "hub.challenge": "42",
            },
            200,
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"}, 403),
        (
            {
                "hub.mode": "unsubscribe",
                "hub.verify_token": "test-verify-token",
                "hub.challenge": "42",
            },
            403,
        ),
        ({"hub.challenge": "42"}, 403),
    ],
    ids=["valid", "wrong-token", "wrong-mode", "no-params"],
)
async def test_handshake(gateway, query, status):
    async with gateway.http.get(f"{gateway.base_url}/webhooks/whatsapp", params=query) as response:
        assert response.status == status
        if status == 200:
            assert await response.text() == "42"


async def test_handshake_without_configured_token(settings, clock, redis):
    from tests.helpers import running_gateway

    unset = settings.model_copy(update={"verify_token": None})
    async with running_gateway(unset, clock) as gateway:
        query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
        async with gateway.http.get(
            f"{gateway.base_url}/webhooks/whatsapp", params=query
        ) as response:
            assert response.status == 403


def _reindented(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=4, ensure_ascii=False).encode()


BODY = fixture_bytes("01_meta_text_plain.json")
GOOD = sign(BODY, TEST_SECRET)


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (_reindented(BODY), GOOD),
        (BODY, "sha256=" + GOOD.removeprefix("sha256=").upper()),
        (BODY, GOOD[:-2]),
        (BODY, "sha256=ä" + GOOD[8:]),
        (BODY, None),
        (BODY, GOOD.removeprefix("sha256=")),
        (BODY, sign(BODY, "another-secret")),
    ],
    ids=[
        "reserialised-body",
        "uppercase",
        "truncated",
        "non-ascii",
        "missing",
        "no-prefix",
        "other-secret",
    ],
)
async def test_bad_signature_is_401(gateway, redis, body, header):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    async with gateway.http.post(
        f"{gateway.base_url}/webhooks/whatsapp", data=body, headers=headers
    ) as response:
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        problem = await response.json(content_type=None)
    assert problem["status"] == 401
    assert await redis.xlen("wag:inbound") == 0


async def test_two_mib_body_accepted(gateway, redis):
    padding = "x" * (2 * 1024 * 1024)
    body = json.dumps({"object": "whatsapp_business_account", "entry": [], "pad": padding}).encode()
    response = await gateway.post_webhook(body)
    assert response.status == 200
    assert await redis.xlen("wag:inbound") == 1


async def test_four_mb_body_is_413(gateway, redis):
    body = b'{"pad": "' + b"x" * 4_000_000 + b'"}'
    response = await gateway.post_webhook(body)
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    assert await redis.xlen("wag:inbound") == 0


async def test_accepted_body_stored_byte_for_byte(gateway, redis):
    response = await gateway.post_webhook(BODY)
    assert response.status == 200
    entries = await redis.xrange("wag:inbound")
    assert entries[0][1][b"body"] == BODY
