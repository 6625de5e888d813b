"""Request ids, access summaries and problem+json for every error."""

from __future__ import annotations

import asyncio
import os
import time

import structlog
from aiohttp import web

from gateway.auth import Handler
from gateway.problems import PROBLEM_CONTENT_TYPE, problem_response

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id for every log line of this request and echo it in the response."""
    request_id = request.headers.get(REQUEST_ID_HEADER) or os.urandom(12).hex()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id[:64])
    response = await handler(request)
    response.headers[REQUEST_ID_HEADER] = request_id[:64]
    return response


@web.middleware
async def problem_details(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Return every error as problem+json; unexpected exceptions become a logged 500."""
    started = time.perf_counter()
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == PROBLEM_CONTENT_TYPE or exc.status_code < 400:
            raise
        title = exc.reason or "Error"
        detail = _detail_for(exc, request)
        response = problem_response(exc.status_code, f"http-{exc.status_code}", title, detail)
        for name in ("Allow", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        log.exception("http_unhandled_error", path=request.path, duration_ms=duration_ms)
        return problem_response(
            500,
            "internal-error",
            "Internal server error",
            "the gateway failed to handle this request; the error is logged with its request id",
        )


def _detail_for(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status_code == 404:
        return f"no route matches {request.method} {request.path}"
    if exc.status_code == 405:
        allowed = exc.headers.get("Allow", "")
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    if exc.status_code == 413:
        return f"{exc.text.rstrip('.')}; the limit is set by WAG_WEBHOOK_MAX_BODY_BYTES"
    return exc.text or exc.reason
