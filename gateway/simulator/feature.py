"""Feature: in sandbox mode (no WAG_ACCESS_TOKEN), run the Graph API simulator in-process.

The sender is pointed at it through `GRAPH_URL`, and it posts signed status webhooks back
to this gateway's own webhook route. Must be set up before `gateway.outbound.feature`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from gateway.appkeys import SETTINGS
from gateway.outbound.feature import GRAPH_URL
from gateway.secrets import resolve_app_secret
from gateway.settings import Settings
from gateway.simulator.server import GraphSimulator

log = structlog.get_logger(__name__)

SIMULATOR = web.AppKey("simulator", GraphSimulator)


def webhook_url_for(settings: Settings) -> str:
    """Return where status webhooks go: the configured URL or this gateway's own route."""
    if settings.simulator_webhook_url:
        return settings.simulator_webhook_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - comparing, not binding
    return f"http://{host}:{settings.port}/webhooks/whatsapp"


async def _simulator_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    simulator = GraphSimulator(
        webhook_url=webhook_url_for(settings),
        app_secret=resolve_app_secret(settings),
        waba_id=settings.waba_id or "100000000000001",
    )
    url = await simulator.start("127.0.0.1", settings.simulator_port)
    app[SIMULATOR] = simulator
    app[GRAPH_URL] = url
    log.warning(
        "sandbox_mode",
        detail="WAG_ACCESS_TOKEN is not set: outbound messages go to the built-in Graph API "
        "simulator, not to WhatsApp",
        simulator_url=url,
        webhook_url=simulator.statuses.webhook_url,
    )
    yield
    await simulator.stop()


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    if not settings.sandbox or settings.graph_base_url:
        # With a token, or with an external simulator configured, nothing runs here.
        return
    app.cleanup_ctx.append(_simulator_context)
