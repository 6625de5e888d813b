"""`wa-gateway sender`, `wa-gateway outbound status|resume` and `wa-gateway simulator`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from aiohttp import web

from common.clock import SystemClock
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.outcomes import PauseState
from gateway.redis_client import create_redis
from gateway.runtime import redis_for
from gateway.secrets import resolve_app_secret
from gateway.settings import Settings
from gateway.simulator.faults import Fault, FaultKind
from gateway.simulator.feature import webhook_url_for
from gateway.simulator.server import GraphSimulator
from gateway.simulator.status_webhooks import StatusPlan

# The sender process runs only these features: no HTTP routes, no inbound workers. The
# consent feature provides the gate that every template passes again right before it leaves;
# without it the sender blocks every template (fail closed).
SENDER_FEATURES = [
    "gateway.inbound.service",
    "gateway.simulator.feature",
    "gateway.outbound.feature",
    "gateway.consent_feature",
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sender = subparsers.add_parser(
        "sender", help="run outbound sender workers alone (no HTTP server, no inbound workers)"
    )
    sender.add_argument(
        "--senders",
        type=int,
        help="sender loops in this process (default WAG_OUTBOUND_SENDERS or 1)",
    )
    sender.set_defaults(handler=run_sender)

    outbound = subparsers.add_parser("outbound", help="inspect or resume the outbound path")
    actions = outbound.add_subparsers(dest="outbound_command", required=True, metavar="ACTION")
    actions.add_parser(
        "status", help="show queue lengths and whether sending is paused"
    ).set_defaults(handler=run_status)
    actions.add_parser(
        "resume", help="lift a pause (for example after renewing an expired access token)"
    ).set_defaults(handler=run_resume)

    simulator = subparsers.add_parser(
        "simulator", help="run the Graph API simulator on 127.0.0.1 (sandbox and load tests)"
    )
    simulator.add_argument("--port", type=int, default=9090, help="TCP port (default 9090)")
    simulator.add_argument(
        "--webhook-url", help="where status webhooks go (default: this gateway's webhook route)"
    )
    simulator.add_argument("--sent-delay-ms", type=int, default=20, help="delay of `sent` (ms)")
    simulator.add_argument(
        "--delivered-delay-ms", type=int, default=40, help="delay of `delivered`"
    )
    simulator.add_argument("--read-delay-ms", type=int, default=60, help="delay of `read` (ms)")
    simulator.add_argument("--no-read", action="store_true", help="send no `read` statuses")
    simulator.add_argument(
        "--duplicate-rate", type=float, default=0.0, help="share of statuses sent twice (0 to 1)"
    )
    simulator.add_argument("--reorder", action="store_true", help="shuffle each message's statuses")
    simulator.add_argument(
        "--no-statuses", action="store_true", help="send no status webhooks at all"
    )
    simulator.add_argument(
        "--templates", type=Path, help="JSON file with a list of Meta template objects"
    )
    simulator.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:CODE[:TIMES[:RECIPIENT]]]",
        help="script a fault, e.g. error:130429:3 or failed_status:131047:0:4915112345678",
    )
    simulator.set_defaults(handler=run_simulator)


def run_sender(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import create_app

    updates: dict[str, object] = {"workers": 0}
    if args.senders is not None:
        updates["outbound_senders"] = args.senders
    with redis_for(settings) as live:
        app = create_app(live.model_copy(update=updates), features=SENDER_FEATURES)
        asyncio.run(_serve_until_signal(app))
    return 0


async def _serve_until_signal(app: web.Application) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    async def _status(live: Settings) -> dict[str, object]:
        redis = create_redis(live.redis_url or "", live)
        keys = OutboundKeys(live.redis_prefix)
        try:
            paused = await PauseState(redis, live.redis_prefix, SystemClock()).get()
            return {
                "paused": paused,
                "stream_length": await redis.xlen(keys.stream),
                "delayed": await redis.zcard(keys.delayed),
            }
        finally:
            await redis.aclose()

    with redis_for(settings) as live:
        state = asyncio.run(_status(live))
    paused = state["paused"]
    print(
        f"waiting in stream: {state['stream_length']}, "
        f"delayed (retries, pacing): {state['delayed']}"
    )
    if isinstance(paused, dict):
        print(
            f"PAUSED since {paused.get('at_ms')} ms: {paused.get('reason')}; "
            "run `wa-gateway outbound resume` after fixing the cause"
        )
        return 1
    print("sending: running")
    return 0


def run_resume(args: argparse.Namespace, settings: Settings) -> int:
    async def _resume(live: Settings) -> bool:
        redis = create_redis(live.redis_url or "", live)
        try:
            return await PauseState(redis, live.redis_prefix, SystemClock()).resume()
        finally:
            await redis.aclose()

    with redis_for(settings) as live:
        resumed = asyncio.run(_resume(live))
    print("sending resumed" if resumed else "sending was not paused")
    return 0


def parse_fault(text: str) -> Fault:
    """Parse `KIND[:CODE[:TIMES[:RECIPIENT]]]`; raises ValueError with the accepted kinds."""
    parts = text.split(":")
    try:
        kind = FaultKind(parts[0])
    except ValueError as exc:
        kinds = ", ".join(k.value for k in FaultKind)
        msg = f"unknown fault kind {parts[0]!r}; use one of: {kinds}"
        raise ValueError(msg) from exc
    code = int(parts[1]) if len(parts) > 1 and parts[1] else None
    times = int(parts[2]) if len(parts) > 2 and parts[2] else 1
    recipient = parts[3] if len(parts) > 3 and parts[3] else None
    return Fault(kind=kind, code=code, times=times, recipient=recipient)


def run_simulator(args: argparse.Namespace, settings: Settings) -> int:
    plan = StatusPlan(
        sent_delay_ms=args.sent_delay_ms,
        delivered_delay_ms=args.delivered_delay_ms,
        read_delay_ms=args.read_delay_ms,
        send_read=not args.no_read,
        duplicate_rate=args.duplicate_rate,
        reorder=args.reorder,
    )
    try:
        faults = [parse_fault(text) for text in args.fault]
        templates = json.loads(args.templates.read_text(encoding="utf-8")) if args.templates else []
    except (ValueError, OSError) as exc:
        print(f"wa-gateway simulator: {exc}", file=sys.stderr)
        return 2

    async def _run() -> None:
        simulator = GraphSimulator(
            webhook_url=args.webhook_url or webhook_url_for(settings),
            app_secret=resolve_app_secret(settings),
            waba_id=settings.waba_id or "100000000000001",
            plan=plan,
        )
        if args.no_statuses:
            simulator.statuses.enabled = False
        simulator.set_templates(templates)
        for fault in faults:
            simulator.add_fault(fault)
        await simulator.start("127.0.0.1", args.port)
        print(
            f"Graph API simulator on {simulator.url}; status webhooks to "
            f"{simulator.statuses.webhook_url}. Point senders at it with "
            f"WAG_GRAPH_BASE_URL={simulator.url}",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await simulator.stop()

    asyncio.run(_run())
    return 0
