"""Bearer tokens and roles on `/api/v1`; errors as problem+json."""

from __future__ import annotations

import pytest

from gateway.auth import Role


async def _get(gateway, path, headers=None):
    async with gateway.http.get(gateway.base_url + path, headers=headers or {}) as response:
        return response.status, response.content_type, await response.json(content_type=None)


async def test_no_token_is_401(gateway):
    status, content_type, problem = await _get(gateway, "/api/v1/conversations")
    assert status == 401
    assert content_type == "application/problem+json"
    assert "Bearer" in problem["detail"]


async def test_unknown_token_is_401(gateway):
    status, _, _ = await _get(
        gateway, "/api/v1/conversations", {"Authorization": "Bearer wag_nope"}
    )
    assert status == 401


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING, Role.INTEGRATION], ids=str)
async def test_wrong_role_is_403(gateway, role):
    token = await gateway.token(role)
    status, _, problem = await _get(
        gateway, "/api/v1/conversations", {"Authorization": f"Bearer {token}"}
    )
    assert status == 403
    assert role.value in problem["detail"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR], ids=str)
async def test_right_role_is_200(gateway, role):
    token = await gateway.token(role)
    status, _, body = await _get(
        gateway, "/api/v1/conversations", {"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    assert body == {"items": []}


async def test_unknown_route_is_problem_404(gateway):
    token = await gateway.token(Role.ADMIN)
    status, content_type, problem = await _get(
        gateway, "/api/v1/nothing-here", {"Authorization": f"Bearer {token}"}
    )
    assert status == 404
    assert content_type == "application/problem+json"
    assert problem["status"] == 404


async def test_tokens_are_stored_hashed(gateway, redis):
    token = await gateway.token(Role.ADMIN)
    stored = await redis.hgetall("wag:auth:tokens")
    assert token.encode() not in b"".join(list(stored) + list(stored.values()))


async def test_unknown_message_is_404(gateway):
    token = await gateway.token(Role.ADMIN)
    status, _, problem = await _get(
        gateway, "/api/v1/messages/wamid.none", {"Authorization": f"Bearer {token}"}
    )
    assert status == 404
    assert "wamid.none" in problem["detail"]


async def test_health_endpoints(gateway):
    status, _, body = await _get(gateway, "/healthz")
    assert status == 200
    # This gateway runs no workers: receiving webhooks needs Redis alone.
    status, _, body = await _get(gateway, "/readyz")
    assert status == 200
    assert "note" in body["checks"]


async def test_readyz_needs_a_worker_heartbeat(settings, clock, redis):
    from tests.helpers import running_gateway

    no_worker_tasks = settings.model_copy(update={"workers": 0})
    async with running_gateway(no_worker_tasks, clock, run_workers=True) as gateway:
        status, _, body = await _get(gateway, "/readyz")
        assert status == 503
        assert body["checks"]["worker"] != "ok"
        await redis.zadd("wag:workers", {"w": clock.now_ms()})
        status, _, body = await _get(gateway, "/readyz")
        assert status == 200


def test_settings_repr_hides_secrets(settings):
    text = repr(settings) + str(settings) + settings.model_dump_json()
    assert "test-app-secret" not in text
    assert "test-verify-token" not in text


async def test_unbound_agent_token_sees_no_conversation(gateway):
    from tests.helpers import envelope, text_value

    await gateway.post_webhook(envelope(text_value("wamid.A", "hallo")))
    await gateway.drain()
    admin = await gateway.token(Role.ADMIN)
    _status, listing = await gateway.api("GET", "/api/v1/conversations", admin)
    conversation_id = listing["items"][0]["id"]
    unbound = await gateway.token(Role.AGENT, "no agent")
    status, problem = await gateway.api("GET", f"/api/v1/conversations/{conversation_id}/messages",
                                        unbound)
    assert status == 403
    assert problem["status"] == 403


async def test_unknown_state_filter_is_400(gateway):
    token = await gateway.token(Role.ADMIN)
    status, problem = await gateway.api("GET", "/api/v1/conversations?state=bogus", token)
    assert status == 400
    assert "queued" in problem["detail"]


async def test_openapi_lists_routes_with_roles(gateway):
    async with gateway.http.get(gateway.base_url + "/api/v1/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    assert document["openapi"].startswith("3.")
    operation = document["paths"]["/api/v1/conversations/{conversation_id}"]["get"]
    assert operation["x-roles"] == ["admin", "agent", "supervisor"]
    assert operation["parameters"][0]["name"] == "conversation_id"
    assert "post" in document["paths"]["/webhooks/whatsapp"]
