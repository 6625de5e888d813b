"""`/webhooks/whatsapp`: Meta's handshake and the durable, signature-checked receiver."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.ingest import IngestUnavailableError, StreamAppender
from gateway.keys import GatewayKeys
from gateway.problems import problem_response
from gateway.secrets import resolve_app_secret
from gateway.signature import SIGNATURE_HEADER, SignatureError, verify

log = structlog.get_logger(__name__)

APP_SECRET = web.AppKey("app_secret", str)
APPENDER = web.AppKey("appender", StreamAppender)
WEBHOOK_PATH = "/webhooks/whatsapp"


async def handshake(request: web.Request) -> web.Response:
    """Return Meta's subscription challenge, only for the configured verify token."""
    token = request.app[SETTINGS].verify_token
    expected = token.get_secret_value() if token is not None else ""
    given = request.query.get("hub.verify_token", "")
    mode_ok = request.query.get("hub.mode") == "subscribe"
    token_ok = bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
    if not (mode_ok and token_ok):
        log.warning("webhook_handshake_rejected", mode_ok=mode_ok, token_configured=bool(expected))
        detail = (
            "hub.mode must be `subscribe` and hub.verify_token must equal WAG_VERIFY_TOKEN"
            if expected
            else "WAG_VERIFY_TOKEN is not set, so every handshake is rejected; set it to the "
            "verify token entered in the Meta app dashboard"
        )
        return problem_response(403, "handshake-rejected", "Forbidden", detail)
    return web.Response(text=request.query.get("hub.challenge", ""))


async def receive(request: web.Request) -> web.Response:
    """Check the signature, append the raw body to the inbound stream, then return 200."""
    started = time.perf_counter()
    body = await request.read()

    try:
        verify(body, request.headers.get(SIGNATURE_HEADER), request.app[APP_SECRET])
    except SignatureError as exc:
        # The header value itself is never logged: it is attacker-controlled input.
        log.warning("webhook_rejected", reason=exc.reason, bytes=len(body))
        return problem_response(
            401,
            "invalid-signature",
            "Invalid signature",
            f"X-Hub-Signature-256 is {exc.reason}; it must be `sha256=` followed by the "
            "lowercase hex HMAC-SHA256 of the raw body under the app secret (WAG_APP_SECRET)",
        )

    try:
        entry_id = await request.app[APPENDER].append(body, request.app[CLOCK].now_ms())
    except IngestUnavailableError as exc:
        # The failed batch is logged once as an error by the appender; this line ties the
        # 503 to its request id.
        log.warning("webhook_unavailable", bytes=len(body), error=str(exc))
        return problem_response(
            503,
            "storage-unavailable",
            "Service unavailable",
            "the webhook could not be stored; it was not accepted and should be retried",
        )

    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    log.info("webhook_accepted", entry_id=entry_id, bytes=len(body), duration_ms=duration_ms)
    return web.Response(text="OK")


async def _appender(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[APPENDER] = StreamAppender(
        app[REDIS],
        GatewayKeys(settings.redis_prefix).inbound_stream,
        timeout_s=settings.webhook_store_timeout_s,
    )
    yield


def setup(app: web.Application) -> None:
    app[APP_SECRET] = resolve_app_secret(app[SETTINGS])
    app.cleanup_ctx.append(_appender)
    app.router.add_get(WEBHOOK_PATH, handshake)
    app.router.add_post(WEBHOOK_PATH, receive)
