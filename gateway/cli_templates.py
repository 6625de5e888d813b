"""`wa-gateway templates sync|list`: the approved template catalog."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from common.clock import SystemClock
from gateway.campaigns.texts import cli_language, text
from gateway.catalog.service import waba_id_of
from gateway.catalog.store import CatalogStore
from gateway.catalog.sync import SyncError, SyncResult, pywa_page_fetcher, sync_catalog
from gateway.outbound.graph import build_whatsapp
from gateway.redis_client import create_redis
from gateway.runtime import redis_for
from gateway.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    templates = subparsers.add_parser("templates", help="sync and list approved message templates")
    actions = templates.add_subparsers(dest="templates_command", required=True, metavar="ACTION")

    sync = actions.add_parser(
        "sync",
        help="fetch every template of WAG_WABA_ID from the Graph API "
        "(or from the simulator at WAG_GRAPH_BASE_URL)",
    )
    sync.set_defaults(handler=run_sync)

    listing = actions.add_parser("list", help="print the catalog as JSON lines")
    listing.add_argument("--status", help="only templates with this status, e.g. APPROVED")
    listing.set_defaults(handler=run_list)


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    language = cli_language()
    with redis_for(settings) as live:
        try:
            result = asyncio.run(_sync(live))
        except (SyncError, ValueError) as exc:
            print(f"wa-gateway templates sync: {exc}", file=sys.stderr)
            return 1
    print(text("cli_synced", language, **result.to_dict()))
    return 0


async def _sync(settings: Settings) -> SyncResult:
    whatsapp, session = build_whatsapp(settings, settings.graph_base_url)
    redis = create_redis(settings.redis_url or "", settings)
    try:
        store = CatalogStore(redis, settings.redis_prefix)
        waba_id = waba_id_of(settings)
        if waba_id is None:
            msg = "WAG_WABA_ID is not set; name the WhatsApp Business Account to sync from"
            raise SyncError(msg)
        fetch = pywa_page_fetcher(whatsapp, waba_id)
        return await sync_catalog(store, fetch, SystemClock())
    finally:
        await session.aclose()
        await redis.aclose()


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    with redis_for(settings) as live:
        templates = asyncio.run(_list(live))
    status = (args.status or "").upper()
    for template in templates:
        if not status or template["status"] == status:
            sys.stdout.write(orjson.dumps(template).decode() + "\n")
    return 0


async def _list(settings: Settings) -> list[dict[str, object]]:
    redis = create_redis(settings.redis_url or "", settings)
    try:
        return [
            template.to_dict()
            for template in await CatalogStore(redis, settings.redis_prefix).list_all()
        ]
    finally:
        await redis.aclose()
