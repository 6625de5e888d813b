"""`GET /api/v1/consents/{phone}/proof`: a printable proof of consent (GDPR Art. 7(1))."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from consent.audit import verify_ledger
from consent.errors import ConsentError, UnknownText
from consent.phones import wa_id_of
from gateway.appkeys import REDIS, SETTINGS
from gateway.auth import Role, requires
from gateway.consent_form import LANGUAGES, render_page
from sessions.conversations import conversation_id_for
from sessions.messages import MessageStore


def utc(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@requires(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATION)
async def proof_page(request: web.Request) -> web.Response:
    from gateway.api.consent_routes import business_of, consent_problem, services_of

    services = services_of(request)
    language = request.query.get("lang", "de")
    language = language if language in LANGUAGES else "de"
    business = business_of(request, None)
    try:
        phone, subject = services.ledger.subject_of(request.match_info["phone"])
    except ConsentError as exc:
        raise consent_problem(exc) from exc

    history = await services.ledger.history(business, subject)
    states = await services.ledger.states_of_subject(business, subject)
    messages = MessageStore(
        request.app[REDIS], request.app[SETTINGS].redis_prefix, services.ledger.clock
    )
    events = [await _with_text(services, event) for event in history]
    for event in events:
        event["message_text"] = await _confirming_message(messages, business, event)
    for event in events:
        relied = await services.gate.log.relied_on(business, str(event["event_id"]))
        event["sends"] = [
            {**decision, "decided_utc": utc(decision.get("decided_ms"))} for decision in relied
        ]
    report = await verify_ledger(request.app[REDIS], request.app[SETTINGS].redis_prefix, business)
    erased = bool(history) and all(event["personal"] is None for event in history)

    return render_page(
        "proof.html",
        language,
        phone=None if erased else phone,
        subject=subject,
        business=business,
        created_utc=utc(services.ledger.clock.now_ms()),
        states=sorted(states.items()),
        events=events,
        report=report,
    )


async def _confirming_message(
    messages: MessageStore, business: str, event: dict[str, Any]
) -> str | None:
    """Return the text of the message an event names as evidence, while it is still stored."""
    evidence = str(event.get("evidence") or "")
    phone = (event.get("personal") or {}).get("phone")
    if not evidence.startswith("wamid.") or not phone:
        return None
    conversation_id = conversation_id_for(business, wa_id_of(str(phone)))
    message = await messages.get(conversation_id, evidence)
    return str(message.get("text") or "") if message else None


async def _with_text(services: Any, event: dict[str, Any]) -> dict[str, Any]:
    shown = dict(event)
    shown["occurred_utc"] = utc(event.get("occurred_ms"))
    shown["received_utc"] = utc(event.get("received_ms"))
    shown["text"] = None
    if event.get("text_version_id"):
        try:
            shown["text"] = (await services.texts.get(str(event["text_version_id"]))).text
        except UnknownText:
            shown["text"] = None
    return shown
