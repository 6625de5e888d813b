"""The consent form over plain HTTP: token, honeypot, rate limits, languages, unknown forms."""

from __future__ import annotations

import re

import pytest

from common.clock import ManualClock
from gateway.consent_feature import CONSENT
from gateway.settings import Settings
from tests.consent.gateway_helpers import consent_gateway
from tests.helpers import Gateway

TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def _form(gateway: Gateway, lang: str = "de") -> tuple[int, str]:
    async with gateway.http.get(f"{gateway.base_url}/consent/default?lang={lang}") as response:
        return response.status, await response.text()


async def _submit(gateway: Gateway, data: dict[str, str]) -> tuple[int, str]:
    async with gateway.http.post(f"{gateway.base_url}/consent/default", data=data) as response:
        return response.status, await response.text()


async def _token(gateway: Gateway) -> str:
    _, html = await _form(gateway)
    match = TOKEN.search(html)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("lang", "heading"),
    [
        ("de", "WhatsApp-Nachrichten von"),
        ("en", "WhatsApp messages from"),
        ("fr", "WhatsApp-Nachrichten von"),
    ],
    ids=["german", "english", "fallback"],
)
async def test_form_language(
    settings: Settings, clock: ManualClock, lang: str, heading: str
) -> None:
    async with consent_gateway(settings, clock) as gateway:
        status, html = await _form(gateway, lang)

        assert status == 200
        assert heading in html
        assert " checked" not in html


async def test_missing_token_rejected(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        status, html = await _submit(gateway, {"phone": "+4915112345678", "purpose": "marketing"})

        assert status == 400
        assert "Das Formular ist abgelaufen" in html
        assert await gateway.app[CONSENT].ledger.businesses() == []


async def test_token_used_once(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        data = {"token": await _token(gateway), "phone": "+4915112345678"}

        first, _ = await _submit(gateway, data)
        second, _ = await _submit(gateway, data)

        assert first == 200
        assert second == 400


async def test_expired_token_rejected(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        token = await _token(gateway)
        clock.advance(3 * 3600 * 1000)

        status, _ = await _submit(gateway, {"token": token, "phone": "+4915112345678"})

        assert status == 400


async def test_honeypot_stores_nothing(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        data = {
            "token": await _token(gateway),
            "phone": "+4915112345678",
            "purpose": "marketing",
            "website": "http://spam.example",
        }

        status, html = await _submit(gateway, data)

        assert status == 200
        assert "Ihre Auswahl ist gespeichert" in html
        assert await gateway.app[CONSENT].ledger.businesses() == []


async def test_number_rate_limited(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        statuses = [
            (await _submit(gateway, {"token": await _token(gateway), "phone": "+4915112345678"}))[0]
            for _ in range(6)
        ]

        assert statuses == [200] * 5 + [429]


async def test_unknown_form_404(settings: Settings, clock: ManualClock) -> None:
    async with (
        consent_gateway(settings, clock) as gateway,
        gateway.http.get(f"{gateway.base_url}/consent/nope") as response,
    ):
        assert response.status == 404
        assert "Formular nicht gefunden" in await response.text()


async def test_form_without_texts_503(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock, texts=False) as gateway:
        status, html = await _form(gateway)

        assert status == 503
        assert "kein Einwilligungstext" in html


async def test_custom_form_purposes(settings: Settings, clock: ManualClock) -> None:
    """A form defined by an admin offers only its own purposes."""
    from gateway.auth import Role

    async with consent_gateway(settings, clock) as gateway:
        admin = await gateway.token(Role.ADMIN)
        status, _ = await gateway.api(
            "PUT",
            "/api/v1/consent-forms/shop",
            admin,
            json={"purposes": ["service_updates"], "capture_source": "shop checkout page"},
        )
        async with gateway.http.get(f"{gateway.base_url}/consent/shop") as response:
            html = await response.text()

        assert status == 200
        assert 'value="service_updates"' in html
        assert 'value="marketing"' not in html


async def test_form_rejects_unknown_purpose(settings: Settings, clock: ManualClock) -> None:
    from gateway.auth import Role

    async with consent_gateway(settings, clock) as gateway:
        admin = await gateway.token(Role.ADMIN)

        status, body = await gateway.api(
            "PUT", "/api/v1/consent-forms/shop", admin, json={"purposes": ["newsletter"]}
        )

        assert status == 422
        assert "newsletter" in body["detail"]
