"""The CRM webhook: signed, in order, retried until the endpoint acknowledges."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis

from common.clock import ManualClock
from gateway.consent_crm import SIGNATURE_HEADER, CrmDeliveryError, deliver_pending
from gateway.consent_feature import build_consent
from gateway.settings import Settings
from tests.consent.conftest import BUSINESS, RecordFactory

SECRET = "crm-secret"


class Receiver:
    """A local CRM endpoint that fails the first `failures` requests."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.signatures_ok: list[bool] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=503)
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.signatures_ok.append(hmac.compare_digest(expected, request.headers[SIGNATURE_HEADER]))
        self.received.append(orjson.loads(body))
        return web.Response(status=204)


@pytest.fixture
async def receiver_url() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver(failures=1)
    app = web.Application()
    app.router.add_post("/crm", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield receiver, f"http://127.0.0.1:{port}/crm"
    await runner.cleanup()


async def test_delivers_after_retry(
    redis: Redis,
    clock: ManualClock,
    settings: Settings,
    make_record: RecordFactory,
    receiver_url: tuple[Receiver, str],
) -> None:
    receiver, url = receiver_url
    configured = settings.model_copy(
        update={"consent_crm_webhook_url": url, "consent_crm_webhook_secret": SecretStr(SECRET)}
    )
    services = await build_consent(redis, configured, clock)
    await services.ledger.append([make_record()])
    await services.ledger.append([make_record(purpose="service_updates")])

    async with aiohttp.ClientSession() as http:
        with pytest.raises(CrmDeliveryError, match="returned 503"):
            await deliver_pending(services, http)
        delivered = await deliver_pending(services, http)
        again = await deliver_pending(services, http)

    assert delivered == 2
    assert again == 0
    assert [event["purpose"] for event in receiver.received] == ["marketing", "service_updates"]
    assert receiver.signatures_ok == [True, True]
    assert receiver.received[0]["personal"]["phone"] == "+4915112345678"
    assert await redis.xlen(services.ledger.keys.outbox(BUSINESS)) <= 1
