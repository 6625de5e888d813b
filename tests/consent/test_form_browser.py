"""The consent form in headless Chromium: unticked boxes, refusal, pending, confirmation by code."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest

from common.clock import ManualClock
from consent.model import State
from gateway.consent_feature import CONSENT
from gateway.settings import Settings
from tests.consent.gateway_helpers import BUSINESS, consent_gateway
from tests.helpers import Gateway, envelope, text_value

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = "+4915112345678"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"Chromium is missing at {CHROMIUM}; "
        "install it with `apt-get install -y --no-install-recommends chromium`",
    ),
]


@pytest.fixture
async def page() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="de-DE")
        yield await context.new_page()
        await browser.close()


async def _state(gateway: Gateway) -> State:
    states = await gateway.app[CONSENT].ledger.states(BUSINESS, PHONE)
    return states["whatsapp:marketing"].state if "whatsapp:marketing" in states else State.NONE


async def _send_code(gateway: Gateway, wamid: str, text: str, wa_id: str) -> None:
    value = text_value(wamid, text, wa_id=wa_id, timestamp_s=gateway.clock.now_ms() // 1000)
    response = await gateway.post_webhook(envelope(value))
    assert response.status == 200
    await gateway.drain()


async def test_form_flow(settings: Settings, clock: ManualClock, page: object) -> None:
    """Unticked at first.

    No tick stores refused; a tick stores pending; only the same number's code confirms.
    """
    from playwright.async_api import Page

    assert isinstance(page, Page)
    async with consent_gateway(settings, clock) as gateway:
        url = f"{gateway.base_url}/consent/default"

        await page.goto(url)
        boxes = page.locator("input[type=checkbox][name=purpose]")
        assert await boxes.count() == 3
        for index in range(3):
            assert not await boxes.nth(index).is_checked()
        assert "STOP antworte" in await page.content()

        await page.fill("#phone", "0151 12345678")
        await page.click("#submit")
        await page.wait_for_selector("#refused-title")
        assert await _state(gateway) is State.REFUSED

        await page.goto(url)
        await page.check("#purpose-marketing")
        await page.fill("#phone", "+49 151 12345678")
        await page.click("#submit")
        await page.wait_for_selector("#confirm-title")
        code = await page.get_attribute("#code", "data-code")
        link = await page.get_attribute("#wa-link", "href")
        assert await _state(gateway) is State.PENDING_CONFIRMATION
        assert link is not None and link.startswith("https://wa.me/4930123456789?text=")
        prefill = unquote(link.partition("?text=")[2])
        assert code is not None and code in prefill

        await _send_code(gateway, "wamid.other", prefill, wa_id="4917612345678")
        assert await _state(gateway) is State.PENDING_CONFIRMATION

        await _send_code(gateway, "wamid.same", prefill, wa_id="4915112345678")
        assert await _state(gateway) is State.ACTIVE


async def test_invalid_phone_message(settings: Settings, clock: ManualClock, page: object) -> None:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    async with consent_gateway(settings, clock) as gateway:
        await page.goto(f"{gateway.base_url}/consent/default?lang=en")
        await page.check("#purpose-marketing")
        await page.fill("#phone", "12")
        await page.click("#submit")

        error = await page.text_content("#form-error")
        assert error is not None and "This phone number is invalid" in error
        assert await page.is_checked("#purpose-marketing")
        assert await gateway.app[CONSENT].ledger.businesses() == []
