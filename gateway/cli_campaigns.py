"""`wa-gateway campaign ...`: create, dry-run, start, pause, resume, cancel, status, report.

The commands work on Redis directly; a running `wa-gateway serve` dispatches started
campaigns. `--wait` follows a campaign with a progress bar until it stops running. Output
is German unless `WAG_LANGUAGE` or `LANG` starts with `en`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from common.clock import SystemClock
from gateway.campaigns.model import CampaignState
from gateway.campaigns.recipients import RecipientListError
from gateway.campaigns.report import funnel_csv
from gateway.campaigns.service import CampaignError, CampaignService, NewCampaign
from gateway.campaigns.store import CampaignNotFound, CampaignStore, WrongState
from gateway.campaigns.texts import cli_language, state_name, text
from gateway.catalog.store import CatalogStore
from gateway.consent_feature import build_consent
from gateway.redis_client import create_redis
from gateway.runtime import redis_for
from gateway.settings import Settings

ResultT = TypeVar("ResultT")
BAR_WIDTH = 30
POLL_S = 0.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = subparsers.add_parser("campaign", help="marketing campaigns with approved templates")
    actions = campaign.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", help="create a draft campaign from a CSV or JSON lines file"
    )
    create.add_argument(
        "file", type=Path, help="recipient list: .csv, or .jsonl/.ndjson (JSON lines)"
    )
    create.add_argument("--template", required=True, help="approved template name")
    create.add_argument("--language", required=True, help="template language code, e.g. de")
    create.add_argument("--name", help="campaign name (default: the file name)")
    create.add_argument("--phone-number-id", help="business number (default: WAG_PHONE_NUMBER_ID)")
    create.add_argument("--defaults", help="JSON parameters shared by every recipient")
    create.add_argument("--schedule-at-ms", type=int, help="start time, UTC epoch milliseconds")
    create.set_defaults(handler=run_create)

    for name, help_text in (
        ("dry-run", "count who would be sent and who is blocked, and why; sends nothing"),
        ("start", "start a draft or scheduled campaign"),
        ("pause", "pause a running campaign"),
        ("resume", "resume a paused campaign"),
        ("cancel", "cancel a campaign; recipients not yet handed off are not sent"),
        ("status", "show the state and counts of a campaign"),
        ("report", "print the funnel report (JSON, or CSV with --csv)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("campaign_id")
        if name in ("start", "resume", "status"):
            action.add_argument("--wait", action="store_true", help="follow with a progress bar")
        if name == "report":
            action.add_argument("--csv", action="store_true", help="the timeline as CSV")
        action.set_defaults(handler=_handler(name))

    listing = actions.add_parser("list", help="list the newest campaigns as JSON lines")
    listing.set_defaults(handler=run_list)


def _run(settings: Settings, work: Callable[[CampaignService], Awaitable[ResultT]]) -> ResultT:
    with redis_for(settings) as live:
        return asyncio.run(_with_service(live, work))


async def _with_service(
    settings: Settings, work: Callable[[CampaignService], Awaitable[ResultT]]
) -> ResultT:
    redis = create_redis(settings.redis_url or "", settings)
    try:
        clock = SystemClock()
        consent = await build_consent(redis, settings, clock)
        service = CampaignService(
            CampaignStore(redis, settings.redis_prefix),
            CatalogStore(redis, settings.redis_prefix),
            consent.gate,
            clock,
        )
        return await work(service)
    finally:
        await redis.aclose()


def _fail(message: str) -> int:
    print(f"wa-gateway campaign: {message}", file=sys.stderr)
    return 1


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    language = cli_language()
    phone_number_id = args.phone_number_id or settings.phone_number_id
    if not phone_number_id:
        return _fail("--phone-number-id is missing and WAG_PHONE_NUMBER_ID is not set")
    try:
        data = args.file.read_text(encoding="utf-8-sig")
        defaults = orjson.loads(args.defaults) if args.defaults else None
    except (OSError, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        return _fail(f"cannot read the input: {exc}")

    suffix = args.file.suffix.lower()
    content_type = "application/x-ndjson" if suffix in (".jsonl", ".ndjson") else "text/csv"
    request = NewCampaign(
        name=args.name or args.file.stem,
        template=args.template,
        language=args.language,
        phone_number_id=phone_number_id,
        recipients=data,
        content_type=content_type,
        defaults=defaults,
        scheduled_at_ms=args.schedule_at_ms,
    )
    try:
        campaign, recipients = _run(
            settings, lambda service: service.create(request, created_by="cli")
        )
    except (CampaignError, RecipientListError) as exc:
        return _fail(str(exc))

    for rejected in recipients.rejected:
        print(text("cli_rejected_line", language, **rejected.to_dict()), file=sys.stderr)
    print(
        text(
            "cli_created",
            language,
            campaign_id=campaign.campaign_id,
            recipients=campaign.total,
            rejected=len(recipients.rejected),
        )
    )
    print(campaign.campaign_id)
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    campaigns = _run(settings, lambda service: service.list())
    for campaign in campaigns:
        sys.stdout.write(orjson.dumps(campaign.to_dict()).decode() + "\n")
    return 0


def _handler(name: str) -> Callable[[argparse.Namespace, Settings], int]:
    def handle(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return _act(name, args, settings)
        except CampaignNotFound:
            return _fail(f"campaign {args.campaign_id} not found")
        except WrongState as exc:
            return _fail(
                f"campaign {args.campaign_id} is {exc.current}; `{name}` is not possible now"
            )
        except CampaignError as exc:
            return _fail(exc.detail)

    return handle


def _act(name: str, args: argparse.Namespace, settings: Settings) -> int:
    language = cli_language()
    campaign_id = args.campaign_id
    if name == "dry-run":
        result = _run(settings, lambda service: service.dry_run(campaign_id))
        print(
            text(
                "cli_dry_run",
                language,
                would_send=result["would_send"],
                recipients=result["recipients"],
                blocked=result["blocked"],
                rejected=result["rejected_lines"],
            )
        )
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return 0
    if name == "report":
        report = _run(settings, lambda service: service.report(campaign_id))
        output = (
            funnel_csv(report)
            if args.csv
            else orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
        )
        print(output)
        return 0

    operations: dict[str, Callable[[CampaignService], Awaitable[Any]]] = {
        "start": lambda service: service.start(campaign_id),
        "resume": lambda service: service.start(campaign_id),
        "pause": lambda service: service.pause(campaign_id),
        "cancel": lambda service: service.cancel(campaign_id),
        "status": lambda service: service.store.get(campaign_id),
    }
    campaign = _run(settings, operations[name])
    print(
        text(
            "cli_state",
            language,
            campaign_id=campaign_id,
            state=state_name(campaign.state.value, language),
        )
    )
    if getattr(args, "wait", False):
        return _follow(settings, campaign_id, language)
    return 0


def _follow(settings: Settings, campaign_id: str, language: str) -> int:
    """Draw a progress bar until the campaign stops running."""

    async def follow(service: CampaignService) -> str:
        while True:
            report = await service.report(campaign_id)
            _draw(report, language)
            state = report["campaign"]["state"]
            if state not in (CampaignState.RUNNING.value, CampaignState.SCHEDULED.value):
                return str(state)
            await asyncio.sleep(POLL_S)

    final = _run(settings, follow)
    sys.stderr.write("\n")
    print(
        text("cli_finished", language, campaign_id=campaign_id, state=state_name(final, language))
    )
    return 0


def _draw(report: dict[str, Any], language: str) -> None:
    total = report["campaign"]["recipients"] or 1
    done = report["dispatched"]
    filled = int(BAR_WIDTH * done / total)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    reached = report["reached"]
    line = text(
        "cli_progress",
        language,
        done=done,
        total=report["campaign"]["recipients"],
        queued=reached["queued"],
        blocked=reached["blocked"],
        sent=reached["sent"],
        delivered=reached["delivered"],
        read=reached["read"],
        failed=reached["failed"],
    )
    sys.stderr.write(f"\r[{bar}] {line}")
    sys.stderr.flush()
