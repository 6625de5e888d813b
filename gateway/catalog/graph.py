"""A pywa client for reading the template list, pointed at Meta or at a local simulator.

pywa has no base-URL setting and overwrites the `base_url` of a passed httpx client, so a
transport rewrites the scheme, host and port of every request when a simulator is used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
from pywa_async.client import WhatsApp

from gateway.catalog.sync import PageFetcher, pywa_page_fetcher
from gateway.settings import Settings

SYNC_TIMEOUT_S = 10.0
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the simulator accepts any token


class RewriteHostTransport(httpx.AsyncBaseTransport):
    """Send every request to `base_url`'s scheme, host and port, keeping path and query."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._scheme = parts.scheme or "http"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
        request.headers["Host"] = request.url.netloc.decode()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def template_client(access_token: str, api_version: str, base_url: str | None) -> WhatsApp:
    """Build a pywa client; with `base_url` every call goes there instead of Meta."""
    transport = RewriteHostTransport(base_url) if base_url else None
    session = httpx.AsyncClient(timeout=httpx.Timeout(SYNC_TIMEOUT_S), transport=transport)
    return WhatsApp(
        token=access_token,
        session=session,
        api_version=api_version.lstrip("v"),
    )


def graph_page_fetcher(settings: Settings) -> tuple[PageFetcher, Callable[[], Awaitable[None]]]:
    """Return a page fetcher for the configured account and a function that closes it."""
    # NOTE: the simulator's address comes from `graph_api_base_url` when a settings field of
    # that name exists; sandbox mode without it has no Graph API to sync from.
    base_url = getattr(settings, "graph_api_base_url", None)
    token = settings.access_token.get_secret_value() if settings.access_token else SANDBOX_TOKEN
    client = template_client(token, settings.graph_api_version, base_url)

    async def close() -> None:
        await client.api._session.aclose()

    return pywa_page_fetcher(client, str(settings.waba_id)), close
