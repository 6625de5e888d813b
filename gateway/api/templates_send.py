"""`POST /api/v1/messages/template`: send one approved template to one customer.

Roles `integration` and `marketing`, and agents for a conversation assigned to them. The
request is checked completely before anything is queued: the template must be approved,
the parameters must match its schema (422 naming component and parameter), and the
consent gate must allow the send now (403 with the reason). The response is 202 with our
message id. An `Idempotency-Key` header makes a retried request return the first response.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.bodies import parse_body
from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.auth import Principal, Role, principal_of, requires
from gateway.campaigns.feature import TEMPLATE_GATE
from gateway.campaigns.recipients import e164_of
from gateway.campaigns.texts import both
from gateway.catalog.keys import CatalogKeys
from gateway.catalog.service import CATALOG
from gateway.catalog.store import Template
from gateway.catalog.validate import fill
from gateway.outbound.service import OUTBOUND
from gateway.problems import ProblemError, json_response
from routing.intake import Intake
from sessions.conversations import ConversationStore, conversation_id_for
from sessions.windows import Window, WindowStore

log = structlog.get_logger(__name__)

IDEMPOTENCY_TTL_S = 24 * 3600
IDEMPOTENCY_PENDING = b"pending:"
HOLDING_STATES = frozenset({"assigned", "held"})


class TemplateSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=64, description="E.164 number; default region DE.")
    phone_number_id: str | None = Field(None, max_length=64, description="Business number.")
    template: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15)
    parameters: dict[str, Any] = Field(default_factory=dict)
    conversation_id: str | None = Field(None, max_length=64, description="Required for agents.")


@requires(Role.INTEGRATION, Role.MARKETING, Role.AGENT)
async def send_template(request: web.Request) -> web.Response:
    """Check and queue one template send; 202 with our message id."""
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    idempotency = _idempotency_key(request, principal, settings.redis_prefix)
    body_sha256 = hashlib.sha256(await request.read()).hexdigest()
    if idempotency is not None:
        earlier = await _earlier_answer(request, idempotency, body_sha256)
        if earlier is not None:
            return earlier

    try:
        answer = await _send(request, principal)
    except BaseException:
        if idempotency is not None:
            await request.app[REDIS].delete(idempotency)
        raise

    if idempotency is not None:
        stored = {"body_sha256": body_sha256, "response": answer}
        await request.app[REDIS].set(idempotency, orjson.dumps(stored), ex=IDEMPOTENCY_TTL_S)
    return json_response(answer, status=202)


async def _send(request: web.Request, principal: Principal) -> dict[str, Any]:
    body = await parse_body(request, TemplateSend)
    settings = request.app[SETTINGS]
    phone_number_id = body.phone_number_id or settings.phone_number_id
    if not phone_number_id:
        raise ProblemError(
            422,
            "validation-failed",
            "Validation failed",
            "`phone_number_id` is missing and WAG_PHONE_NUMBER_ID is not set; "
            "name the business number",
        )

    phone = e164_of(body.to)
    if phone is None:
        raise ProblemError(
            422,
            "invalid-phone",
            "Invalid phone number",
            field="to",
            **both("phone_invalid", value=body.to),
        )
    wa_id = phone.lstrip("+")
    conversation_id = body.conversation_id or conversation_id_for(phone_number_id, wa_id)
    if body.conversation_id is not None:
        await _require_same_customer(request, body.conversation_id, wa_id)
    if principal.role is Role.AGENT:
        await _require_holder(request, principal, body.conversation_id)

    template = await _sendable(request, body.template, body.language)
    components = _components(template, body.parameters)
    decision = await _gate(request, principal, phone_number_id, phone, template)

    message_id = await request.app[OUTBOUND].send_template(
        phone_number_id=phone_number_id,
        to=wa_id,
        name=template.name,
        language=template.language,
        components=components,
        reason="template_api",
        conversation_id=conversation_id,
    )
    window = await WindowStore(request.app[REDIS], settings.redis_prefix, request.app[CLOCK]).get(
        conversation_id
    )
    log.info(
        "template_send_accepted",
        message_id=message_id,
        template=template.name,
        category=template.category,
        decision_id=decision.decision_id,
    )
    return {
        "message_id": message_id,
        "status": "queued",
        "conversation_id": conversation_id,
        "template": {
            "name": template.name,
            "language": template.language,
            "category": template.category,
        },
        "pricing": pricing_of(template.category, window),
        "consent": {
            "decision_id": decision.decision_id,
            "consent_event_id": decision.consent_event_id,
            "purpose": decision.purpose,
        },
    }


def pricing_of(category: str, window: Window | None) -> dict[str, Any]:
    """Return the pricing Meta is expected to apply, judged from the stored window state.

    Per-message pricing (since 1 July 2025): inside a free entry point window every message
    is free, and utility templates inside an open service window are free. Anything else is
    charged at the template category's rate. `known` is False without a conversation.
    """
    category = category.lower()
    if window is None:
        return {"type": "regular", "category": category, "known": False}
    if window.free_entry_point_open:
        return {"type": "free_entry_point", "category": category, "known": True}
    if window.open and category == "utility":
        return {"type": "free_customer_service", "category": category, "known": True}
    return {"type": "regular", "category": category, "known": True}


async def _sendable(request: web.Request, name: str, language: str) -> Template:
    template = await request.app[CATALOG].get(name, language)
    if template is None:
        raise ProblemError(
            404,
            "template-not-found",
            "Template not found",
            template=name,
            language=language,
            **both("template_not_found", template=name, language=language),
        )
    refusal = template.refusal()
    if refusal is not None:
        raise ProblemError(
            409,
            "template-not-sendable",
            "Template not sendable",
            template=name,
            language=language,
            template_status=template.status,
            **both("template_not_sendable", template=name, language=language, reason=refusal),
        )
    return template


def _components(template: Template, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    assert template.schema is not None  # refusal() is None only with a schema
    filled = fill(template.schema, parameters)
    if not filled.errors:
        return filled.components

    errors = [error.to_dict() for error in filled.errors]
    more = f" (and {len(errors) - 1} more, see `errors`)" if len(errors) > 1 else ""
    first = filled.errors[0].describe()
    raise ProblemError(
        422,
        "template-parameters-invalid",
        "Template parameters invalid",
        errors=errors,
        parameters=template.schema.to_dict(),
        **both("parameters_invalid", template=template.name, first=first, more=more),
    )


async def _gate(
    request: web.Request, principal: Principal, phone_number_id: str, phone: str, template: Template
) -> Any:
    gate = request.app.get(TEMPLATE_GATE)
    if gate is None:
        decision_reason, purpose, decision = "gate_unavailable", None, None
    else:
        decisions = await gate.check_many(
            phone_number_id,
            [phone],
            template_category=template.category,
            template_name=template.name,
            actor=f"{principal.role.value}:{principal.token_id}",
        )
        decision = decisions[0]
        if decision.allowed:
            return decision
        decision_reason, purpose = decision.reason, decision.purpose

    raise ProblemError(
        403,
        "consent-required",
        "Consent required",
        reason=decision_reason,
        purpose=purpose,
        decision_id=getattr(decision, "decision_id", None),
        **both("consent_denied", purpose=purpose or "?", reason=decision_reason),
    )


async def _require_same_customer(request: web.Request, conversation_id: str, wa_id: str) -> None:
    """Reject a `conversation_id` whose customer is not `to`: the send would be filed there."""
    settings = request.app[SETTINGS]
    conversation = await ConversationStore(request.app[REDIS], settings.redis_prefix).get(
        conversation_id
    )
    if conversation is None or conversation.wa_id in (None, wa_id):
        return
    detail = (
        f"`to` is not the customer of conversation {conversation_id}; "
        "leave out `conversation_id` or send to that conversation's number"
    )
    raise ProblemError(422, "conversation-mismatch", "Validation failed", detail, field="to")


async def _require_holder(
    request: web.Request, principal: Principal, conversation_id: str | None
) -> None:
    settings = request.app[SETTINGS]
    if conversation_id is not None:
        conversation = await ConversationStore(request.app[REDIS], settings.redis_prefix).get(
            conversation_id
        )
        interaction = await Intake(
            request.app[REDIS], settings.redis_prefix, request.app[CLOCK]
        ).describe(conversation_id)
        holds = (
            conversation is not None
            and principal.agent_id is not None
            and interaction.agent_id == principal.agent_id
            and interaction.state in HOLDING_STATES
        )
        if holds:
            return
    raise ProblemError(
        403, "not-conversation-holder", "Forbidden", **both("not_conversation_holder")
    )


def _idempotency_key(request: web.Request, principal: Principal, prefix: str) -> str | None:
    header = request.headers.get("Idempotency-Key", "").strip()
    if not header:
        return None
    digest = hashlib.sha256(header.encode()).hexdigest()[:32]
    # Scoped by token: two API clients may choose the same key.
    return CatalogKeys(prefix).send_idempotency(principal.token_id, digest)


async def _earlier_answer(request: web.Request, key: str, body_sha256: str) -> web.Response | None:
    """Return the stored response to an earlier request with this key, or None for a new key.

    A key reused with another body is rejected: the client would take the first response
    for the answer to a different send.
    """
    redis = request.app[REDIS]
    if await redis.set(
        key, IDEMPOTENCY_PENDING + body_sha256.encode(), nx=True, ex=IDEMPOTENCY_TTL_S
    ):
        return None
    raw = await redis.get(key)
    stored = raw.encode() if isinstance(raw, str) else raw
    if stored is None or stored.startswith(IDEMPOTENCY_PENDING):
        raise ProblemError(
            409, "idempotency-in-progress", "Conflict", **both("idempotency_in_progress")
        )
    earlier = orjson.loads(stored)
    if earlier["body_sha256"] != body_sha256:
        raise ProblemError(
            422,
            "idempotency-key-reused",
            "Idempotency key reused",
            **both("idempotency_key_reused"),
        )
    return json_response(earlier["response"], status=202)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/messages/template", send_template)
