"""Helpers for consent tests that run the whole gateway over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.clock import Clock
from consent.texts import default_texts
from gateway.consent_feature import CONSENT
from gateway.settings import Settings
from tests.helpers import Gateway, running_gateway

BUSINESS = "156305421874268"
DISPLAY = "+4930123456789"
BUSINESS_NAME = "Beispiel GmbH"


def consent_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "phone_number_id": BUSINESS,
            "consent_business_number": DISPLAY,
            "consent_business_name": BUSINESS_NAME,
        }
    )


@asynccontextmanager
async def consent_gateway(
    settings: Settings, clock: Clock, *, texts: bool = True
) -> AsyncIterator[Gateway]:
    """Run the gateway with a business number and, by default, the shipped consent texts."""
    async with running_gateway(consent_settings(settings), clock) as gateway:
        if texts:
            await gateway.app[CONSENT].texts.load(default_texts(), business_name=BUSINESS_NAME)
        yield gateway
