"""Campaign routes (roles `marketing` and `admin`).

- `POST /api/v1/campaigns`: JSON `{"name", "template", "language", "phone_number_id",
  "recipients": "<CSV or JSON lines>", "recipients_format": "csv" | "jsonl", "defaults",
  "scheduled_at_ms"}`; 201 with the campaign and every rejected line of the list.
- `GET /api/v1/campaigns`, `GET /api/v1/campaigns/{id}`.
- `POST /api/v1/campaigns/{id}/dry-run|start|pause|resume|cancel`.
- `GET /api/v1/campaigns/{id}/report` (JSON, or CSV with `?format=csv`),
  `GET /api/v1/campaigns/{id}/recipients.csv`, `GET /api/v1/campaigns/{id}/rejected`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.bodies import parse_body
from gateway.appkeys import SETTINGS
from gateway.auth import Role, principal_of, requires
from gateway.campaigns.feature import CAMPAIGNS
from gateway.campaigns.model import ALLOWED_FROM, CampaignState
from gateway.campaigns.recipients import RecipientListError
from gateway.campaigns.report import funnel_csv, recipients_csv_header
from gateway.campaigns.service import CampaignError, CampaignService, NewCampaign
from gateway.campaigns.store import CampaignNotFound, WrongState
from gateway.campaigns.texts import both
from gateway.problems import ProblemError, json_response

CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
ACTION_SUMMARIES = {
    "start": "Start a draft or scheduled campaign.",
    "resume": "Resume a paused campaign.",
    "pause": "Pause a running campaign.",
    "cancel": "Cancel a campaign; recipients not yet handed off are not sent.",
}
EXPORT_PAGE = 2000


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15)
    phone_number_id: str | None = Field(None, max_length=64)
    # NOTE: the whole body is bounded by the app's WAG_WEBHOOK_MAX_BODY_BYTES (3 MB by default,
    # some 50,000 short CSV lines); larger lists go through `wa-gateway campaign create`.
    recipients: str = Field(min_length=1, description="The list as CSV or JSON lines.")
    recipients_format: Literal["csv", "jsonl"] = "csv"
    defaults: dict[str, Any] | None = None
    scheduled_at_ms: int | None = Field(None, ge=0)


def _service(request: web.Request) -> CampaignService:
    return request.app[CAMPAIGNS]


def _problem_of(exc: Exception, campaign_id: str, action: str = "") -> ProblemError:
    if isinstance(exc, CampaignNotFound):
        return ProblemError(
            404,
            "campaign-not-found",
            "Not found",
            **both("campaign_not_found", campaign_id=campaign_id),
        )
    if isinstance(exc, WrongState):
        allowed = ", ".join(state.value for state in ALLOWED_FROM[_target_of(action)])
        return ProblemError(
            409,
            "campaign-wrong-state",
            "Conflict",
            state=exc.current,
            **both(
                "campaign_wrong_state",
                campaign_id=campaign_id,
                state=exc.current,
                action=action,
                allowed=allowed,
            ),
        )
    if isinstance(exc, CampaignError):
        return ProblemError(
            exc.status, exc.slug, "Campaign request failed", exc.detail, **exc.extra
        )
    raise exc


def _target_of(action: str) -> CampaignState:
    return {
        "start": CampaignState.RUNNING,
        "resume": CampaignState.RUNNING,
        "pause": CampaignState.PAUSED,
        "cancel": CampaignState.CANCELLED,
    }[action]


@requires(Role.MARKETING, Role.ADMIN)
async def create_campaign(request: web.Request) -> web.Response:
    """Create a draft campaign from a CSV or JSON lines recipient list."""
    body = await parse_body(request, CampaignRequest)
    phone_number_id = body.phone_number_id or request.app[SETTINGS].phone_number_id
    if not phone_number_id:
        detail = "`phone_number_id` is missing and WAG_PHONE_NUMBER_ID is not set; "
        detail += "name the business number"
        raise ProblemError(
            422, "validation-failed", "Validation failed", detail, field="phone_number_id"
        )

    new = NewCampaign(
        name=body.name,
        template=body.template,
        language=body.language,
        phone_number_id=phone_number_id,
        recipients=body.recipients,
        content_type=CONTENT_TYPES[body.recipients_format],
        defaults=body.defaults,
        scheduled_at_ms=body.scheduled_at_ms,
    )
    principal = principal_of(request)
    try:
        campaign, recipients = await _service(request).create(new, created_by=principal.name)
    except RecipientListError as exc:
        raise ProblemError(
            422,
            "recipient-list-invalid",
            "Recipient list invalid",
            **both("recipient_list_invalid", reason=str(exc)),
        ) from exc
    except CampaignError as exc:
        if exc.slug == "no-recipients":
            raise ProblemError(422, exc.slug, "No recipients", exc.detail, **exc.extra) from exc
        raise _problem_of(exc, "") from exc

    return json_response(
        {
            "campaign": campaign.to_dict(),
            "rejected": [rejected.to_dict() for rejected in recipients.rejected],
            "rejected_by_reason": recipients.count_by_reason(),
        },
        status=201,
    )


@requires(Role.MARKETING, Role.ADMIN)
async def list_campaigns(request: web.Request) -> web.Response:
    """List the newest campaigns."""
    campaigns = await _service(request).list()
    return json_response({"campaigns": [campaign.to_dict() for campaign in campaigns]})


@requires(Role.MARKETING, Role.ADMIN)
async def get_campaign(request: web.Request) -> web.Response:
    """Return a campaign with its recipients per state."""
    campaign_id = request.match_info["campaign_id"]
    try:
        report = await _service(request).report(campaign_id)
    except CampaignNotFound as exc:
        raise _problem_of(exc, campaign_id) from exc
    return json_response({**report["campaign"], "states": report["states"]})


@requires(Role.MARKETING, Role.ADMIN)
async def dry_run(request: web.Request) -> web.Response:
    """Count who would be sent and who is blocked, and why, without sending."""
    campaign_id = request.match_info["campaign_id"]
    try:
        return json_response(await _service(request).dry_run(campaign_id))
    except CampaignNotFound as exc:
        raise _problem_of(exc, campaign_id) from exc


def _action(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @requires(Role.MARKETING, Role.ADMIN)
    async def act(request: web.Request) -> web.Response:
        campaign_id = request.match_info["campaign_id"]
        service = _service(request)
        operations = {
            "start": service.start,
            "resume": service.start,
            "pause": service.pause,
            "cancel": service.cancel,
        }
        try:
            campaign = await operations[name](campaign_id)
        except (CampaignNotFound, WrongState, CampaignError) as exc:
            raise _problem_of(exc, campaign_id, name) from exc
        return json_response(campaign.to_dict())

    act.__name__ = f"campaign_{name}"
    act.__doc__ = ACTION_SUMMARIES[name]
    return act


@requires(Role.MARKETING, Role.ADMIN)
async def report(request: web.Request) -> web.Response:
    """Return the funnel report (JSON, or CSV with `?format=csv`)."""
    campaign_id = request.match_info["campaign_id"]
    try:
        data = await _service(request).report(campaign_id)
    except CampaignNotFound as exc:
        raise _problem_of(exc, campaign_id) from exc
    if request.query.get("format") == "csv" or "text/csv" in request.headers.get("Accept", ""):
        return _csv_response(funnel_csv(data), f"{campaign_id}-funnel.csv")
    return json_response(data)


@requires(Role.MARKETING, Role.ADMIN)
async def recipients_csv(request: web.Request) -> web.Response:
    """Export every recipient with line, number, state and the block reason or error code."""
    campaign_id = request.match_info["campaign_id"]
    service = _service(request)
    try:
        campaign = await service.store.get(campaign_id)
    except CampaignNotFound as exc:
        raise _problem_of(exc, campaign_id) from exc

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(recipients_csv_header())
    for start in range(0, campaign.total, EXPORT_PAGE):
        count = min(EXPORT_PAGE, campaign.total - start)
        states = await service.store.recipient_states(campaign_id, start, count)
        recipients = await service.store.recipients(campaign_id, range(start, start + count))
        for (index, state, detail), recipient in zip(states, recipients, strict=True):
            writer.writerow([index, recipient.get("line"), recipient.get("phone"), state, detail])
    return _csv_response(out.getvalue(), f"{campaign_id}-recipients.csv")


@requires(Role.MARKETING, Role.ADMIN)
async def rejected(request: web.Request) -> web.Response:
    """List the lines of the uploaded list that cannot be sent, with line and reason."""
    campaign_id = request.match_info["campaign_id"]
    try:
        await _service(request).store.get(campaign_id)
    except CampaignNotFound as exc:
        raise _problem_of(exc, campaign_id) from exc
    return json_response({"rejected": await _service(request).store.rejected_lines(campaign_id)})


def _csv_response(text: str, filename: str) -> web.Response:
    response = web.Response(text=text, content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/campaigns", create_campaign)
    app.router.add_get("/api/v1/campaigns", list_campaigns)
    app.router.add_get("/api/v1/campaigns/{campaign_id}", get_campaign)
    app.router.add_post("/api/v1/campaigns/{campaign_id}/dry-run", dry_run)
    for name in ("start", "pause", "resume", "cancel"):
        app.router.add_post(f"/api/v1/campaigns/{{campaign_id}}/{name}", _action(name))
    app.router.add_get("/api/v1/campaigns/{campaign_id}/report", report)
    app.router.add_get("/api/v1/campaigns/{campaign_id}/recipients.csv", recipients_csv)
    app.router.add_get("/api/v1/campaigns/{campaign_id}/rejected", rejected)
