"""RFC 9457 problem details for every HTTP error the gateway returns."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://wa-gateway.dev/problems/"


class ProblemError(web.HTTPException):
    """An HTTP error whose body is a problem+json document.

    `slug` becomes the problem `type`, `detail` says what was wrong with which value and
    what to do, and `extra` adds members such as `window_expires_at_ms` or `errors`.
    """

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        self.status_code = status
        body = {
            "type": PROBLEM_TYPE_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            **extra,
        }
        super().__init__(text=orjson.dumps(body).decode(), content_type=PROBLEM_CONTENT_TYPE)
        self.problem = body


def problem_response(status: int, slug: str, title: str, detail: str, **extra: Any) -> web.Response:
    """Return (rather than raise) a problem+json response."""
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return web.Response(status=status, body=orjson.dumps(body), content_type=PROBLEM_CONTENT_TYPE)


def bad_request(detail: str, **extra: Any) -> ProblemError:
    return ProblemError(400, "bad-request", "Bad request", detail, **extra)


def not_found(detail: str) -> ProblemError:
    return ProblemError(404, "not-found", "Not found", detail)


def conflict(slug: str, detail: str, **extra: Any) -> ProblemError:
    return ProblemError(409, slug, "Conflict", detail, **extra)


def unprocessable(detail: str, errors: list[dict[str, Any]]) -> ProblemError:
    return ProblemError(422, "validation-failed", "Validation failed", detail, errors=errors)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")
