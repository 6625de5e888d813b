"""`wa-gateway dead-letters ...` and `wa-gateway webhook send FILE`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx

from gateway.inbound.worker import dead_letters, replay_dead_letter
from gateway.redis_client import create_redis
from gateway.runtime import redis_for
from gateway.secrets import resolve_app_secret
from gateway.settings import Settings
from gateway.signature import SIGNATURE_HEADER, sign


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dead = subparsers.add_parser("dead-letters", help="show and replay failed inbound updates")
    actions = dead.add_subparsers(dest="dead_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list dead letters, newest first")
    listing.add_argument(
        "--count", type=_positive_int, default=50, help="how many to show (default 50)"
    )
    listing.set_defaults(handler=run_list)
    replay = actions.add_parser("replay", help="put dead letters back on the inbound stream")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", help="dead letter id from `dead-letters list`")
    target.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.set_defaults(handler=run_replay)

    webhook = subparsers.add_parser("webhook", help="send test webhooks to a running gateway")
    webhook_actions = webhook.add_subparsers(
        dest="webhook_command", required=True, metavar="ACTION"
    )
    send = webhook_actions.add_parser(
        "send", help="sign FILE with the app secret and POST it to the gateway"
    )
    send.add_argument("file", type=Path, help="a webhook body (JSON), sent byte for byte")
    send.add_argument("--url", help="default: http://127.0.0.1:$WAG_PORT/webhooks/whatsapp")
    send.set_defaults(handler=run_send)


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        msg = f"must be a whole number of 1 or more, not {raw!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(raw)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async def _list(live: Settings) -> list[dict[str, str]]:
        redis = create_redis(live.redis_url or "", live)
        try:
            return await dead_letters(redis, live.redis_prefix, args.count)
        finally:
            await redis.aclose()

    with redis_for(settings) as live:
        letters = asyncio.run(_list(live))
    if not letters:
        print("No dead letters.")
        return 0
    for letter in letters:
        print(
            f"{letter['id']}  entry={letter['entry_id']}  {letter['locator']}  "
            f"attempts={letter['attempts']}  error={letter['error'][:160]}"
        )
    return 0


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    async def _replay(live: Settings) -> int:
        redis = create_redis(live.redis_url or "", live)
        try:
            ids = (
                [letter["id"] for letter in await dead_letters(redis, live.redis_prefix, 100_000)]
                if args.all
                else [args.id]
            )
            replayed = 0
            for dead_id in ids:
                try:
                    new_id = await replay_dead_letter(redis, live.redis_prefix, dead_id)
                except ValueError as exc:
                    print(f"wa-gateway: error: {exc}", file=sys.stderr)
                    return -1
                if new_id is None and args.all:
                    continue  # removed together with an earlier dead letter of its body
                if new_id is None:
                    print(
                        f"dead letter {dead_id} not found; "
                        "list them with `wa-gateway dead-letters list`",
                        file=sys.stderr,
                    )
                    continue
                print(f"replayed {dead_id} as inbound entry {new_id}")
                replayed += 1
            return replayed
        finally:
            await redis.aclose()

    with redis_for(settings) as live:
        replayed = asyncio.run(_replay(live))
    if replayed < 0:
        return 2
    return 0 if replayed or args.all else 1


def run_send(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.is_file():
        print(f"webhook file not found: {args.file}", file=sys.stderr)
        return 2
    body = args.file.read_bytes()
    url = args.url or f"http://127.0.0.1:{settings.port}/webhooks/whatsapp"
    headers = {
        SIGNATURE_HEADER: sign(body, resolve_app_secret(settings)),
        "Content-Type": "application/json",
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=5.0)
    except httpx.HTTPError as exc:
        print(
            f"could not reach the gateway at {url}: {exc}; is `wa-gateway serve` running?",
            file=sys.stderr,
        )
        return 1
    print(f"{response.status_code} {response.text}")
    return 0 if response.status_code == 200 else 1
