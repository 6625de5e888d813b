"""`wa-gateway serve` and `wa-gateway worker`."""

from __future__ import annotations

import argparse
import asyncio
import signal

import structlog
from aiohttp import web

from gateway.app import create_app
from gateway.runtime import StartupError, redis_for
from gateway.settings import Settings

log = structlog.get_logger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP gateway with its workers "
        "(starts an embedded Redis when WAG_REDIS_URL is empty)",
    )
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="only receive webhooks; run `wa-gateway worker` separately",
    )
    serve.set_defaults(handler=run_serve)

    worker = subparsers.add_parser("worker", help="process the inbound stream without HTTP")
    worker.add_argument(
        "--once", action="store_true", help="process what is waiting now, then exit"
    )
    worker.set_defaults(handler=run_worker)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    with redis_for(settings, exclusive=True) as live:
        asyncio.run(_serve(live, run_workers=not args.no_workers, embedded=settings.embedded_redis))
    return 0


async def _serve(settings: Settings, *, run_workers: bool, embedded: bool) -> None:
    app = create_app(settings, run_workers=run_workers)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        msg = (
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "is another process using WAG_PORT, or is WAG_HOST an address of this machine?"
        )
        raise StartupError(msg) from exc
    log.info(
        "gateway_started",
        host=settings.host,
        port=settings.port,
        sandbox=settings.sandbox,
        embedded_redis=embedded,
        workers=run_workers,
    )
    await _wait_for_stop_signal()
    log.info("gateway_stopping")
    await runner.cleanup()
    log.info("gateway_stopped")


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    with redis_for(settings) as live:
        asyncio.run(_worker(live, once=args.once))
    return 0


async def _worker(settings: Settings, *, once: bool) -> None:
    # The worker runs inside an app without routes, so that features register their
    # inbound hooks (consent, templates, outbound statuses) exactly as under `serve`.
    from gateway.app import FEATURES
    from gateway.inbound.service import WORKERS

    features = [
        name for name in FEATURES if not name.startswith(("gateway.api.", "gateway.webhook"))
    ]
    app = create_app(settings, features=features, run_workers=not once)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        if once:
            from gateway.inbound.service import build_worker

            processed = await build_worker(settings, app).drain()
            log.info("worker_drained", entries=processed)
        else:
            log.info("worker_started", workers=len(app[WORKERS]))
            await _wait_for_stop_signal()
    finally:
        await runner.cleanup()
