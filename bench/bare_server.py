"""The baseline of the ingest benchmark: an aiohttp handler that only reads the body."""

from __future__ import annotations

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="OK")


def main() -> None:
    app = web.Application(client_max_size=3 * 1024 * 1024)
    app.router.add_post("/webhooks/whatsapp", receive)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
