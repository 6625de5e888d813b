"""The consent APIs over real HTTP: records, reads, withdrawals, gate checks, texts, erasure."""

from __future__ import annotations

from typing import Any

import pytest

from common.clock import ManualClock
from gateway.auth import Role
from gateway.consent_feature import CONSENT
from gateway.settings import Settings
from tests.consent.gateway_helpers import BUSINESS, consent_gateway
from tests.helpers import Gateway

PHONE = "+4915112345678"


async def _given(gateway: Gateway, token: str, **overrides: Any) -> tuple[int, Any]:
    texts = await gateway.app[CONSENT].texts.current_for("de")
    body = {
        "phone": "0151 12345678",
        "purpose": "marketing",
        "event_type": "given",
        "method": "checkout",
        "occurred_ms": gateway.clock.now_ms(),
        "text_version_id": texts["marketing"].version_id,
        "checkbox_default": False,
        "language": "de",
        "capture_source": "shop-checkout",
        "ip": "203.0.113.9",
        "user_agent": "Shop/1.0",
    }
    body.update(overrides)
    return await gateway.api("POST", "/api/v1/consents", token, json=body)


async def test_given_returns_confirmation(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        token = await gateway.token(Role.INTEGRATION)

        status, body = await _given(gateway, token)

        assert status == 201
        assert body["state"] == "pending_confirmation"
        assert body["confirmation"]["link"].startswith("https://wa.me/4930123456789?text=")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_ms": None}, "occurred_ms"),
        ({"checkbox_default": True}, "checkbox_default"),
        ({"method": None}, "method"),
        ({"phone": "12"}, "phone"),
    ],
    ids=["no-occurred-time", "pre-ticked", "no-method", "bad-phone"],
)
async def test_bad_record_is_422(
    settings: Settings, clock: ManualClock, overrides: dict[str, Any], field: str
) -> None:
    async with consent_gateway(settings, clock) as gateway:
        token = await gateway.token(Role.INTEGRATION)

        status, body = await _given(gateway, token, **overrides)

        assert status == 422
        assert body["errors"][0]["field"] == field
        assert gateway.app[CONSENT].ledger.keys.ledger(
            BUSINESS
        ).encode() not in await gateway.app_redis.keys("*")


async def test_wrong_text_hash_is_422(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        token = await gateway.token(Role.INTEGRATION)

        status, body = await _given(gateway, token, text_sha256="0" * 64)

        assert status == 422
        assert body["type"].endswith("text-hash-mismatch")


async def test_read_state_and_history(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        token = await gateway.token(Role.INTEGRATION)
        await _given(gateway, token)

        status, body = await gateway.api("GET", f"/api/v1/consents/{PHONE}", token)

        assert status == 200
        assert body["states"]["whatsapp:marketing"]["state"] == "pending_confirmation"
        assert body["history"][0]["personal"]["ip"] == "203.0.113.9"


async def test_agent_withdraws(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        agent = await gateway.token(Role.AGENT, agent_id="a1")

        status, _body = await gateway.api(
            "POST",
            f"/api/v1/consents/{PHONE}/withdraw",
            agent,
            json={"purposes": ["marketing"], "note": "Kunde will keine Werbung"},
        )
        states = await gateway.app[CONSENT].ledger.states(BUSINESS, PHONE)

        assert status == 201
        assert states["whatsapp:marketing"].state.value == "withdrawn"


async def test_gate_check_denies(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        token = await gateway.token(Role.MARKETING)

        status, body = await gateway.api(
            "POST", "/api/v1/gate/check", token, json={"phone": PHONE, "purpose": "marketing"}
        )

        assert status == 200
        assert body == {
            "allowed": False,
            "reason": "consent_none",
            "consent_event_id": None,
            "purpose": "marketing",
            "category": None,
            "decision_id": body["decision_id"],
        }


async def test_gate_check_role(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        agent = await gateway.token(Role.AGENT)

        status, _ = await gateway.api(
            "POST", "/api/v1/gate/check", agent, json={"phone": PHONE, "purpose": "marketing"}
        )

        assert status == 403


async def test_text_is_versioned(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock, texts=False) as gateway:
        admin = await gateway.token(Role.ADMIN)
        body = {
            "purpose": "marketing",
            "language": "de",
            "business_name": "Beispiel GmbH",
            "text": "Ja, {business_name} darf mir Angebote per WhatsApp senden. "
            "Antworten Sie STOP zum Abmelden.",
        }

        first = await gateway.api("POST", "/api/v1/consent-texts", admin, json=body)
        same = await gateway.api("POST", "/api/v1/consent-texts", admin, json=body)
        newer = await gateway.api(
            "POST", "/api/v1/consent-texts", admin, json={**body, "text": body["text"] + " Danke."}
        )

        assert first[1]["version_id"] == same[1]["version_id"] == "marketing.de.v1"
        assert newer[1]["version_id"] == "marketing.de.v2"
        assert newer[1]["supersedes"] == "marketing.de.v1"


async def test_text_without_stop_is_422(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock, texts=False) as gateway:
        admin = await gateway.token(Role.ADMIN)

        status, body = await gateway.api(
            "POST",
            "/api/v1/consent-texts",
            admin,
            json={
                "purpose": "marketing",
                "language": "de",
                "business_name": "Beispiel GmbH",
                "text": "Beispiel GmbH darf mir schreiben.",
            },
        )

        assert status == 422
        assert "STOP" in body["detail"]


async def test_erase_subject(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        integration = await gateway.token(Role.INTEGRATION)
        admin = await gateway.token(Role.ADMIN)
        await _given(gateway, integration)

        status, body = await gateway.api("DELETE", f"/api/v1/subjects/{PHONE}", admin)
        _, after = await gateway.api("GET", f"/api/v1/consents/{PHONE}", integration)

        assert status == 200
        assert body["withdrawn"] == 1
        assert [event["personal"] for event in after["history"]] == [None, None]


async def test_proof_page(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        integration = await gateway.token(Role.INTEGRATION)
        await _given(gateway, integration)

        async with gateway.http.get(
            f"{gateway.base_url}/api/v1/consents/{PHONE}/proof?lang=de",
            headers={"Authorization": f"Bearer {integration}"},
        ) as response:
            html = await response.text()

        assert response.status == 200
        assert "Einwilligungsnachweis" in html
        assert "203.0.113.9" in html
        assert "STOP antworte" in html
        assert "Hash-Kette des Ledgers ist unverändert" in html


async def test_proof_lists_sends(settings: Settings, clock: ManualClock) -> None:
    """The proof names the sends that relied on the confirmed consent."""
    async with consent_gateway(settings, clock) as gateway:
        services = gateway.app[CONSENT]
        outcome = await services.optins.record_submission(
            business=BUSINESS,
            business_display_number="+4930123456789",
            business_name="Beispiel GmbH",
            phone=PHONE,
            shown=await services.texts.current_for("en"),
            ticked={"marketing"},
            language="en",
        )
        await services.optins.confirm(
            business=BUSINESS,
            wa_id=PHONE.lstrip("+"),
            user_id=None,
            text=outcome.prefill,
            wamid="wamid.confirm1",
            timestamp_ms=clock.now_ms(),
        )
        await services.templates.set("spring_sale", "MARKETING")
        decision = await services.gate.check(BUSINESS, PHONE, template_name="spring_sale")
        admin = await gateway.token(Role.ADMIN)

        async with gateway.http.get(
            f"{gateway.base_url}/api/v1/consents/{PHONE}/proof?lang=en",
            headers={"Authorization": f"Bearer {admin}"},
        ) as response:
            html = await response.text()

        assert decision.allowed
        assert "Proof of consent" in html
        assert "wamid.confirm1" in html
        assert "spring_sale" in html
        assert str(decision.decision_id) in html


async def test_agent_sees_no_ip(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        await _given(gateway, await gateway.token(Role.INTEGRATION))
        agent = await gateway.token(Role.AGENT, agent_id="a1")

        status, body = await gateway.api("GET", f"/api/v1/consents/{PHONE}", agent)

        assert status == 200
        assert body["states"]["whatsapp:marketing"]["state"] == "pending_confirmation"
        assert body["history"][0]["personal"] is None
