"""Consent processing logs ids and hashes, never the phone number, IP or message text."""

from __future__ import annotations

import re

import structlog

from common.clock import ManualClock
from gateway.settings import Settings
from tests.consent.gateway_helpers import consent_gateway
from tests.helpers import envelope, text_value

TOKEN = re.compile(r'name="token" value="([^"]+)"')
PERSONAL = ("4915112345678", "+49 151 12345678", "198.51.100.23", "Stopp", "Bestätigungscode")


async def test_flow_logs_no_personal_data(settings: Settings, clock: ManualClock) -> None:
    """A form submission, a confirming code and a STOP leave no personal value in the logs."""
    async with consent_gateway(settings, clock) as gateway:
        with structlog.testing.capture_logs() as logs:
            async with gateway.http.get(f"{gateway.base_url}/consent/default") as response:
                match = TOKEN.search(await response.text())
            assert match is not None
            data = {"token": match.group(1), "phone": "+49 151 12345678", "purpose": "marketing"}
            headers = {"X-Forwarded-For": "198.51.100.23"}
            async with gateway.http.post(
                f"{gateway.base_url}/consent/default", data=data, headers=headers
            ) as response:
                page = await response.text()
            code = re.search(r'data-code="([^"]+)"', page)
            assert code is not None

            for wamid, text in (
                ("wamid.p1", f"Mein Bestätigungscode: {code.group(1)}"),
                ("wamid.p2", "Stopp"),
            ):
                value = text_value(wamid, text, timestamp_s=clock.now_ms() // 1000)
                await gateway.post_webhook(envelope(value))
                await gateway.drain()

    flattened = repr(logs)
    assert logs
    for value in PERSONAL:
        assert value not in flattened, f"{value!r} appears in the logs"
