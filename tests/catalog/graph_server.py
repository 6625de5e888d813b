"""A minimal stand-in for `GET /{version}/{waba_id}/message_templates`, with Meta's paging.

Used where a test needs nothing else of the Graph API. It records each request's query.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class TemplateServer:
    templates: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    fail_page: int | None = None  # answer this page (1-based) with a 500
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.query))
        limit = int(request.query.get("limit", "25"))
        after = request.query.get("after")
        start = int(base64.b64decode(after).decode()) if after else 0
        if self.fail_page is not None and start // limit + 1 == self.fail_page:
            error = {
                "error": {
                    "message": "An unknown error occurred",
                    "type": "OAuthException",
                    "code": 1,
                }
            }
            return web.json_response(error, status=500)

        page = self.templates[start : start + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            end = start + len(page)
            cursors = {
                "before": base64.b64encode(str(start).encode()).decode(),
                "after": base64.b64encode(str(end).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if end < len(self.templates):
                body["paging"]["next"] = (
                    f"{self.base_url}{request.path}?limit={limit}&after={cursors['after']}"
                )
        return web.json_response(body)


@asynccontextmanager
async def template_server(templates: list[dict[str, Any]]) -> AsyncIterator[TemplateServer]:
    server = TemplateServer(templates=list(templates))
    app = web.Application()
    app.router.add_get("/{version}/{waba_id}/message_templates", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
