"""The pywa client that sender workers call the Graph API with.

pywa 4.5 sets its session's base URL to Meta's host in its constructor and has no setting
for another one. To reach the local simulator, the client gets an httpx transport that
rewrites every request's scheme, host and port, so that the real pywa client (its request
building and its error classes) runs unchanged.
"""

from __future__ import annotations

import httpx
from pywa_async.client import WhatsApp

from gateway.settings import Settings

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class RedirectTransport(httpx.AsyncBaseTransport):
    """Send every request to `base_url`'s scheme, host and port, keeping path and query."""

    def __init__(self, base_url: str, limits: httpx.Limits) -> None:
        target = httpx.URL(base_url)
        if target.host not in LOCAL_HOSTS:
            msg = f"the Graph API redirect must point at this machine, got host {target.host!r}"
            raise ValueError(msg)
        self._scheme = target.scheme
        self._host = target.host
        self._port = target.port
        self._inner = httpx.AsyncHTTPTransport(limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
        request.headers["Host"] = f"{self._host}:{self._port}" if self._port else self._host
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def graph_timeout(settings: Settings) -> httpx.Timeout:
    """Return explicit timeouts: pywa's httpx default (5 s for everything) is not tuned."""
    return httpx.Timeout(
        settings.graph_timeout_s,
        connect=settings.graph_connect_timeout_s,
        pool=settings.graph_timeout_s,
    )


def build_whatsapp(settings: Settings, graph_url: str | None) -> tuple[WhatsApp, httpx.AsyncClient]:
    """Build the pywa async client and its httpx session (the caller closes it).

    `graph_url` sends every call to the simulator there.

    In sandbox mode (no access token) a `graph_url` is required, so that nothing ever
    reaches Meta without credentials.
    """
    limits = httpx.Limits(
        max_connections=settings.graph_max_connections,
        max_keepalive_connections=settings.graph_max_connections,
    )
    if graph_url is None and settings.sandbox:
        msg = "sandbox mode (no WAG_ACCESS_TOKEN) needs the simulator's URL for outbound calls"
        raise ValueError(msg)

    transport: httpx.AsyncBaseTransport
    if graph_url is not None:
        transport = RedirectTransport(graph_url, limits)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits, retries=0)
    session = httpx.AsyncClient(transport=transport, timeout=graph_timeout(settings))

    token = "sandbox-token" if settings.sandbox else settings.access_token.get_secret_value()  # type: ignore[union-attr]  # sandbox is False only with a token
    whatsapp = WhatsApp(
        phone_id=settings.phone_number_id,
        token=token,
        session=session,
        api_version=settings.graph_api_version.removeprefix("v"),
        validate_updates=False,
    )
    return whatsapp, session
