"""Helpers for tests that talk to a running gateway over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from common.clock import Clock
from gateway.app import create_app
from gateway.appkeys import CLOCK, REDIS
from gateway.auth import Role, TokenStore
from gateway.inbound.hooks import INBOUND_HOOKS
from gateway.inbound.service import build_worker
from gateway.settings import Settings
from gateway.signature import SIGNATURE_HEADER, sign

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
TEST_SECRET = "test-app-secret"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_names() -> list[str]:
    return sorted(path.name for path in FIXTURES.glob("*.json"))


def signed_headers(body: bytes, secret: str = TEST_SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


def envelope(*values: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    """Build a webhook body with one change per value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "110469221776353",
                "changes": [{"field": field, "value": value} for value in values],
            }
        ],
    }


def text_value(
    wamid: str,
    body: str,
    *,
    wa_id: str = "4915112345678",
    user_id: str | None = None,
    timestamp_s: int = 1_750_000_000,
    phone_number_id: str = "156305421874268",
) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": "Erika Mustermann"}, "wa_id": wa_id}
    message: dict[str, Any] = {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(timestamp_s),
        "type": "text",
        "text": {"body": body},
    }
    if user_id:
        contact["user_id"] = user_id
        message["from_user_id"] = user_id
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": phone_number_id},
        "contacts": [contact],
        "messages": [message],
    }


def status_value(wamid: str, status: str, timestamp_s: int, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp_s),
        "recipient_id": "4915112345678",
        **extra,
    }
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": "156305421874268"},
        "statuses": [item],
    }


@dataclass
class Gateway:
    """A gateway app served on 127.0.0.1 with an HTTP session pointed at it."""

    app: web.Application
    base_url: str
    http: aiohttp.ClientSession
    settings: Settings

    async def post_webhook(
        self, body: bytes | dict[str, Any], **headers: str
    ) -> aiohttp.ClientResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = signed_headers(raw) | headers
        return await self.http.post(
            f"{self.base_url}/webhooks/whatsapp", data=raw, headers=all_headers
        )

    async def drain(self) -> int:
        """Process everything on the inbound stream, as a worker would."""
        worker = build_worker(self.settings, self.app)
        return await worker.drain()

    async def token(self, role: Role, name: str = "test", agent_id: str | None = None) -> str:
        return await TokenStore(self.app[REDIS], self.settings.redis_prefix).create(
            role, name, agent_id
        )

    async def api(self, method: str, path: str, token: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{self.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs
        ) as response:
            data = await response.json(content_type=None) if response.content_length != 0 else None
            return response.status, data

    @property
    def hooks(self) -> Any:
        return self.app[INBOUND_HOOKS]

    @property
    def app_redis(self) -> Any:
        return self.app[REDIS]

    @property
    def clock(self) -> Any:
        return self.app[CLOCK]

    async def app_redis_get(self, key: str) -> bytes | None:
        value: bytes | None = await self.app[REDIS].get(key)
        return value

    async def app_redis_zrange(self, key: str) -> list[bytes]:
        members: list[bytes] = await self.app[REDIS].zrange(key, 0, -1)
        return members


@asynccontextmanager
async def running_gateway(
    settings: Settings, clock: Clock | None = None, *, run_workers: bool = False
) -> AsyncIterator[Gateway]:
    app = create_app(settings, clock=clock, run_workers=run_workers)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        try:
            yield Gateway(app, f"http://127.0.0.1:{port}", http, settings)
        finally:
            await runner.cleanup()

