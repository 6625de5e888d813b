"""`wa-gateway consent ...`: verify and rebuild the ledger, import, export, load texts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from common.clock import SystemClock
from consent.audit import rebuild_states, verify_chain, verify_ledger
from consent.export import FORMATS, FORMATTERS, csv_header, events_with_personal
from consent.importer import import_rows, read_rows
from consent.keys import ConsentKeys
from consent.texts import default_texts, read_texts_file
from gateway.consent_feature import ConsentServices, build_consent
from gateway.redis_client import create_redis
from gateway.runtime import redis_for
from gateway.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consent = subparsers.add_parser(
        "consent", help="consent ledger: verify, rebuild, import, export, texts"
    )
    actions = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")

    verify = actions.add_parser(
        "verify", help="walk the hash chains; exit 1 at the first broken link"
    )
    verify.add_argument(
        "--business", help="only this business number (phone_number_id); default: all"
    )
    verify.set_defaults(handler=lambda args, settings: _run(settings, _verify, args))

    rebuild = actions.add_parser("rebuild", help="derive the current state from the ledger again")
    rebuild.add_argument("--business", help="only this business number; default: all")
    rebuild.add_argument(
        "--check", action="store_true", help="only count differences, write nothing"
    )
    rebuild.set_defaults(handler=lambda args, settings: _run(settings, _rebuild, args))

    importer = actions.add_parser("import", help="import consents from CSV or JSON lines (.jsonl)")
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--business",
        help="business number for rows without phone_number_id; default: WAG_PHONE_NUMBER_ID",
    )
    importer.set_defaults(handler=lambda args, settings: _run(settings, _import, args))

    export = actions.add_parser("export", help="export consent events for a CRM")
    export.add_argument(
        "--format", choices=FORMATS, default="jsonl", help="output format (default jsonl)"
    )
    export.add_argument(
        "--since", help="only events received since this time: epoch ms or ISO 8601 with offset"
    )
    export.add_argument("--output", type=Path, help="write to this file instead of standard output")
    export.set_defaults(handler=lambda args, settings: _run(settings, _export, args))

    texts = actions.add_parser(
        "texts", help="load consent texts (a JSON list); default: the shipped texts"
    )
    texts.add_argument(
        "file",
        type=Path,
        nargs="?",
        help="JSON list of objects with purpose, language (de or en), text and optionally "
        "business_name; `{business_name}` in a text is replaced. Default: the German and "
        "English texts shipped in consent/texts_default.json",
    )
    texts.add_argument(
        "--business-name",
        help="business name for entries without one; default: WAG_CONSENT_BUSINESS_NAME",
    )
    texts.set_defaults(handler=lambda args, settings: _run(settings, _texts, args))


def _run(
    settings: Settings,
    action: Callable[[ConsentServices, argparse.Namespace, TextIO], Awaitable[int]],
    args: argparse.Namespace,
) -> int:
    with redis_for(settings) as live:
        return asyncio.run(_with_services(live, action, args))


async def _with_services(
    settings: Settings,
    action: Callable[[ConsentServices, argparse.Namespace, TextIO], Awaitable[int]],
    args: argparse.Namespace,
) -> int:
    redis = create_redis(settings.redis_url or "", settings, socket_timeout_s=30.0)
    try:
        services = await build_consent(redis, settings, SystemClock())
        return await action(services, args, sys.stdout)
    finally:
        await redis.aclose()


async def _businesses(services: ConsentServices, args: argparse.Namespace) -> list[str]:
    return [args.business] if args.business else await services.ledger.businesses()


async def _verify(services: ConsentServices, args: argparse.Namespace, out: TextIO) -> int:
    redis, prefix = services.ledger.redis, services.settings.redis_prefix
    keys = ConsentKeys(prefix)
    broken = 0
    for business in await _businesses(services, args):
        reports = [
            ("ledger", await verify_ledger(redis, prefix, business)),
            (
                "decision log",
                await verify_chain(
                    redis, keys.decisions(business), keys.decisions_head(business), business
                ),
            ),
        ]
        for name, report in reports:
            if report.broken is None:
                print(f"{business} {name}: ok, {report.entries} entries", file=out)
                continue
            broken += 1
            print(
                f"{business} {name}: BROKEN at position {report.broken.position}: "
                f"{report.broken.reason}",
                file=out,
            )

        if any(report.broken is not None for _name, report in reports):
            continue  # a state derived from a broken chain proves nothing

        # The gate reads the derived state, not the chain: a state written around the
        # ledger must fail verification too.
        state = await rebuild_states(redis, prefix, business, write=False)
        if state["differences"]:
            broken += 1
            print(
                f"{business} state: {state['differences']} of {state['subjects']} contacts "
                "differ from the ledger; inspect them, then run `wa-gateway consent rebuild`",
                file=out,
            )
        else:
            print(f"{business} state: ok, {state['subjects']} contacts", file=out)
    return 1 if broken else 0


async def _rebuild(services: ConsentServices, args: argparse.Namespace, out: TextIO) -> int:
    differences = 0
    for business in await _businesses(services, args):
        result = await rebuild_states(
            services.ledger.redis, services.settings.redis_prefix, business, write=not args.check
        )
        verb = "differ" if args.check else "rewritten"
        print(
            f"{business}: {result['subjects']} contacts, {result['differences']} {verb}", file=out
        )
        differences += result["differences"]
    # With --check, differences are a finding: exit non-zero so that a cron job notices.
    return 1 if args.check and differences else 0


async def _import(services: ConsentServices, args: argparse.Namespace, out: TextIO) -> int:
    business = args.business or services.settings.phone_number_id
    if not business:
        print(
            "wa-gateway: no business number: pass --business or set WAG_PHONE_NUMBER_ID",
            file=sys.stderr,
        )
        return 2
    raw = args.file.read_bytes()
    total = sum(1 for line in raw.splitlines() if line.strip()) - (
        0 if args.file.suffix in (".jsonl", ".ndjson", ".json") else 1
    )
    report = await import_rows(
        services.ledger, read_rows(raw, args.file.name), business, progress=_progress(total)
    )
    print(file=sys.stderr)
    print(
        f"{report.rows} rows: {report.active} active, "
        f"{report.unverified} unverified (denied until confirmed), "
        f"{report.recorded} refusals or withdrawals, {report.duplicates} already imported, "
        f"{len(report.rejected)} rejected",
        file=out,
    )
    for number, reason in report.rejected:
        print(f"  line {number}: {reason}", file=out)
    return 1 if report.rejected else 0


def _progress(total: int) -> Callable[[int], None]:
    width = 30

    def show(done: int) -> None:
        share = done / total if total > 0 else 1.0
        filled = int(width * min(share, 1.0))
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{max(total, done)} rows"
        )
        sys.stderr.flush()

    return show


def _since_ms(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        msg = f"--since `{value}` has no UTC offset; write it like 2025-03-01T00:00:00Z"
        raise SystemExit(msg)
    return int(moment.timestamp() * 1000)


async def _export(services: ConsentServices, args: argparse.Namespace, out: TextIO) -> int:
    formatter = FORMATTERS[args.format]
    target: Any = args.output.open("w", encoding="utf-8", newline="") if args.output else out
    count = 0
    try:
        if args.format == "csv":
            target.write(csv_header())
        businesses = await services.ledger.businesses()
        async for event in events_with_personal(
            services.ledger.redis, services.settings.redis_prefix, businesses, _since_ms(args.since)
        ):
            target.write(formatter(event))
            count += 1
    except BrokenPipeError:
        # The reader (for example `head`) closed the pipe; stop quietly like other Unix tools.
        sys.stderr.close()
        return 0
    finally:
        if args.output:
            target.close()
    print(f"exported {count} events as {args.format}", file=sys.stderr)
    return 0


async def _texts(services: ConsentServices, args: argparse.Namespace, out: TextIO) -> int:
    entries = read_texts_file(args.file) if args.file else default_texts()
    name = args.business_name or services.settings.consent_business_name
    try:
        versions = await services.texts.load(entries, business_name=name)
    except Exception as exc:
        print(f"wa-gateway: could not load the consent texts: {exc}", file=sys.stderr)
        return 1
    for version in versions:
        print(f"{version.version_id}  sha256={version.sha256}", file=out)
    return 0
