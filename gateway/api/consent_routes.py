"""Consent APIs: record and read consent, withdraw, ask the gate, manage texts and forms, erase a
person.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from consent.erasure import erase_subject
from consent.errors import ChainConflict, ConsentError, InvalidTransition, Suppressed, UnknownText
from consent.forms import FormConfig, FormStore
from consent.model import CHANNEL_WHATSAPP, ConsentRecord, EventType, Method, State
from gateway.api.bodies import parse_body
from gateway.api.consent_models import ConsentBody, FormBody, GateCheckBody, TextBody, WithdrawBody
from gateway.api.consent_proof import proof_page
from gateway.appkeys import REDIS, SETTINGS
from gateway.auth import Role, principal_of, requires
from gateway.consent_feature import CONSENT, ConsentServices
from gateway.problems import ProblemError, json_response

log = structlog.get_logger(__name__)


def consent_problem(exc: ConsentError) -> ProblemError:
    """Map a rejected consent operation to problem+json naming the field and value."""
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"field": exc.field, "message": str(exc), "value": exc.value}]
    if isinstance(exc, ChainConflict):
        return ProblemError(503, "ledger-busy", "Ledger busy", str(exc))
    if isinstance(exc, Suppressed):
        return ProblemError(409, "subject-suppressed", "Subject suppressed", str(exc), **extra)
    if isinstance(exc, InvalidTransition):
        return ProblemError(409, "invalid-transition", "Event does not apply", str(exc), **extra)
    if isinstance(exc, UnknownText):
        return ProblemError(422, "unknown-text-version", "Unknown consent text", str(exc), **extra)
    return ProblemError(422, "invalid-consent-record", "Invalid consent record", str(exc), **extra)


def actor_of(request: web.Request) -> str:
    principal = principal_of(request)
    return f"{principal.role.value}:{principal.agent_id or principal.name}"


def business_of(request: web.Request, given: str | None) -> str:
    business = (
        given or request.query.get("phone_number_id") or request.app[SETTINGS].phone_number_id
    )
    if not business:
        raise ProblemError(
            422,
            "business-number-missing",
            "Business number missing",
            "no business number: send `phone_number_id` or set WAG_PHONE_NUMBER_ID",
        )
    return business


def services_of(request: web.Request) -> ConsentServices:
    return request.app[CONSENT]


@requires(Role.INTEGRATION, Role.ADMIN)
async def record_consent(request: web.Request) -> web.Response:
    """`POST /api/v1/consents`: record one event with its evidence.

    A `given` returns the wa.me confirmation.
    """
    body = await parse_body(request, ConsentBody)
    services = services_of(request)
    business = business_of(request, body.phone_number_id)
    text_sha256 = body.text_sha256
    try:
        if body.text_version_id:
            version = await services.texts.get(body.text_version_id)
            if text_sha256 and text_sha256 != version.sha256:
                raise ProblemError(
                    422,
                    "text-hash-mismatch",
                    "Text hash mismatch",
                    f"text_sha256 does not match text version `{version.version_id}` "
                    f"({version.sha256}); "
                    "send the hash of the text the person saw, or omit it",
                )
            text_sha256 = text_sha256 or version.sha256
        record = ConsentRecord(
            business_number=business,
            phone=body.phone,
            channel=body.channel,
            purpose=body.purpose,
            type=EventType(body.event_type),
            method=body.method,
            occurred_ms=body.occurred_ms,
            capture_source=body.capture_source,
            text_version_id=body.text_version_id,
            text_sha256=text_sha256,
            language=body.language,
            checkbox_default=body.checkbox_default,
            ip=body.ip,
            user_agent=body.user_agent,
            user_id=body.user_id,
            evidence=body.evidence,
            actor=actor_of(request),
            lawful_basis=body.lawful_basis,
        )
        [event] = await services.ledger.append([record])
    except ConsentError as exc:
        raise consent_problem(exc) from exc

    answer: dict[str, Any] = {
        "event_id": event.event_id,
        "event_hash": event.event["hash"],
        "seq": event.event["seq"],
        "state": event.state.state.value,
        "channel": body.channel,
        "purpose": body.purpose,
    }
    display = body.display_phone_number or request.app[SETTINGS].consent_business_number
    if (
        event.state.state is State.PENDING_CONFIRMATION
        and body.channel == CHANNEL_WHATSAPP
        and display
    ):
        outcome = await services.optins.start_confirmation(
            business=business,
            business_display_number=display,
            business_name=request.app[SETTINGS].consent_business_name,
            given=[event],
            language=body.language or "de",
            occurred_ms=int(str(event.event["occurred_ms"])),
        )
        answer["confirmation"] = {
            "code": outcome.code,
            "link": outcome.link,
            "expires_ms": outcome.expires_ms,
        }
    return json_response(answer, status=201)


@requires(Role.INTEGRATION, Role.ADMIN, Role.SUPERVISOR, Role.MARKETING, Role.AGENT)
async def read_consent(request: web.Request) -> web.Response:
    """`GET /api/v1/consents/{phone}`: the state per purpose and the history of one contact."""
    services = services_of(request)
    business = business_of(request, None)
    try:
        phone, subject = services.ledger.subject_of(request.match_info["phone"])
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    states = await services.ledger.states_of_subject(business, subject)
    history = await services.ledger.history(business, subject)
    if principal_of(request).role in (Role.AGENT, Role.MARKETING):
        # Data minimisation (GDPR Art. 5(1)(c)): agents and marketing need the state and the
        # events, not the IP address and browser behind them.
        for event in history:
            event["personal"] = None
    return json_response(
        {
            "phone": phone,
            "phone_number_id": business,
            "subject": subject,
            "states": {
                field: {
                    "state": state.state.value,
                    "event_id": state.event_id,
                    "since_ms": state.since_ms,
                }
                for field, state in sorted(states.items())
            },
            "history": history,
        }
    )


@requires(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION)
async def withdraw_consent(request: web.Request) -> web.Response:
    """`POST /api/v1/consents/{phone}/withdraw`: record a withdrawal the customer expressed in other
    words.
    """
    body = await parse_body(request, WithdrawBody)
    services = services_of(request)
    business = business_of(request, body.phone_number_id)
    purposes = body.purposes or list(services.ledger.purposes)
    try:
        phone, _ = services.ledger.subject_of(request.match_info["phone"])
        records = [
            ConsentRecord(
                business_number=business,
                phone=phone,
                purpose=purpose,
                type=EventType.WITHDRAWN,
                method=Method.AGENT,
                occurred_ms=request.app[CONSENT].ledger.clock.now_ms(),
                actor=actor_of(request),
                detail=body.note,
            )
            for purpose in purposes
        ]
        events = await services.ledger.append(records)
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    return json_response(
        {
            "withdrawn": [
                {"purpose": event.event["purpose"], "event_id": event.event_id} for event in events
            ]
        },
        status=201,
    )


@requires(Role.INTEGRATION, Role.MARKETING, Role.ADMIN)
async def gate_check(request: web.Request) -> web.Response:
    """`POST /api/v1/gate/check`: ask whether a template or purpose may be sent, without sending."""
    body = await parse_body(request, GateCheckBody)
    if body.template is None and body.purpose is None:
        raise ProblemError(
            422,
            "purpose-missing",
            "Template or purpose missing",
            "send `template` (a template name) or `purpose` (for example `marketing`)",
        )
    decision = await services_of(request).gate.check(
        business_of(request, body.phone_number_id),
        body.phone,
        purpose=body.purpose,
        template_name=body.template,
        actor=actor_of(request),
    )
    return json_response(
        {
            "allowed": decision.allowed,
            "reason": decision.reason,
            "consent_event_id": decision.consent_event_id,
            "purpose": decision.purpose,
            "category": decision.category,
            "decision_id": decision.decision_id,
        }
    )


@requires(Role.ADMIN)
async def add_text(request: web.Request) -> web.Response:
    """`POST /api/v1/consent-texts`: publish a new text version.

    An identical text returns the current one.
    """
    body = await parse_body(request, TextBody)
    try:
        version = await services_of(request).texts.add(
            body.purpose, body.language, body.text, body.business_name
        )
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    return json_response(
        {
            "version_id": version.version_id,
            "sha256": version.sha256,
            "text": version.text,
            "supersedes": version.supersedes,
        },
        status=201,
    )


@requires(Role.ADMIN, Role.MARKETING, Role.INTEGRATION)
async def list_texts(request: web.Request) -> web.Response:
    """`GET /api/v1/consent-texts`: the current text of each purpose and language."""
    texts = services_of(request).texts
    current = {language: await texts.current_for(language) for language in ("de", "en")}
    return json_response(
        [
            {
                "version_id": version.version_id,
                "purpose": version.purpose,
                "language": version.language,
                "sha256": version.sha256,
                "text": version.text,
                "created_ms": version.created_ms,
            }
            for versions in current.values()
            for version in versions.values()
        ]
    )


@requires(Role.ADMIN)
async def put_form(request: web.Request) -> web.Response:
    """`PUT /api/v1/consent-forms/{form_id}`: set the purposes and the business number of a form."""
    body = await parse_body(request, FormBody)
    unknown = [
        purpose for purpose in body.purposes if purpose not in services_of(request).ledger.purposes
    ]
    if unknown:
        raise ProblemError(
            422,
            "unknown-purpose",
            "Unknown purpose",
            f"purposes {unknown} are unknown; use {list(services_of(request).ledger.purposes)}",
        )
    form_id = request.match_info["form_id"]
    config = FormConfig(form_id=form_id, **body.model_dump())
    await FormStore(request.app[REDIS], request.app[SETTINGS].redis_prefix).put(config)
    return json_response({"form_id": form_id, "url": f"/consent/{form_id}", **body.model_dump()})


@requires(Role.ADMIN)
async def erase(request: web.Request) -> web.Response:
    """`DELETE /api/v1/subjects/{phone}`: erase one person's personal fields.

    The chain still verifies.
    """
    try:
        report = await erase_subject(
            services_of(request).ledger, request.match_info["phone"], actor=actor_of(request)
        )
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    return json_response(
        {
            "subject": report.subject,
            "businesses": report.businesses,
            "withdrawn": report.withdrawn,
            "erased_events": report.erased_events,
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/consents", record_consent)
    app.router.add_get("/api/v1/consents/{phone}", read_consent)
    app.router.add_post("/api/v1/consents/{phone}/withdraw", withdraw_consent)
    app.router.add_get("/api/v1/consents/{phone}/proof", proof_page)
    app.router.add_post("/api/v1/gate/check", gate_check)
    app.router.add_post("/api/v1/consent-texts", add_text)
    app.router.add_get("/api/v1/consent-texts", list_texts)
    app.router.add_put("/api/v1/consent-forms/{form_id}", put_form)
    app.router.add_delete("/api/v1/subjects/{phone}", erase)
