"""Flatten one webhook body into its updates: every message, status and other change.

Each update is parsed on its own, so that a malformed message fails alone: the returned
`ParsedUpdate` then carries the error instead of the normalised object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from pydantic import ValidationError

from gateway.inbound.payload import Contact, Envelope, Message, MessagesValue, Status
from sessions.model import Customer, FieldEvent, InboundMessage, StatusUpdate

log = structlog.get_logger(__name__)

KNOWN_MESSAGE_TYPES = frozenset(
    {
        "text", "image", "audio", "video", "document", "sticker", "location", "contacts",
        "interactive", "button", "reaction", "order", "system", "edit", "revoke",
        "unsupported", "request_welcome",
    }
)  # fmt: skip
KNOWN_STATUSES = frozenset({"sent", "delivered", "read", "played", "failed"})

Update = InboundMessage | StatusUpdate | FieldEvent


class PayloadError(ValueError):
    """The body is not a webhook envelope at all; retrying cannot help."""


@dataclass(frozen=True, slots=True)
class ParsedUpdate:
    """One update, or the error that kept it from being normalised, with where it sat."""

    locator: str  # e.g. "entry[0].changes[1].messages[3]"
    update: Update | None
    error: str | None = None


def parse_body(body: bytes, received_ms: int) -> list[ParsedUpdate]:
    """Return every update of a webhook body; raise PayloadError for a body that is not one."""
    try:
        raw = orjson.loads(body)
        envelope = Envelope.model_validate(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    except ValidationError as exc:
        raise PayloadError(f"not a webhook envelope: {describe_validation(exc)}") from exc
    return list(_walk(envelope, received_ms))


def _walk(envelope: Envelope, received_ms: int) -> Iterator[ParsedUpdate]:
    for e_index, entry in enumerate(envelope.entry):
        for c_index, change in enumerate(entry.changes):
            where = f"entry[{e_index}].changes[{c_index}]"
            if change.field != "messages":
                yield ParsedUpdate(
                    where, _field_event(change.field, change.value, entry.id, received_ms)
                )
                continue
            yield from _messages_change(where, change.value, entry.id, received_ms)


def _messages_change(
    where: str, raw_value: dict[str, Any], waba_id: str | None, received_ms: int
) -> Iterator[ParsedUpdate]:
    try:
        value = MessagesValue.model_validate(raw_value)
    except ValidationError as exc:
        yield ParsedUpdate(where, None, f"invalid messages value: {describe_validation(exc)}")
        return

    phone_number_id = value.metadata.phone_number_id or ""
    for index, raw in enumerate(value.messages):
        locator = f"{where}.messages[{index}]"
        yield _guarded(locator, lambda raw=raw: _message(raw, value))
    for index, raw in enumerate(value.statuses):
        locator = f"{where}.statuses[{index}]"
        yield _guarded(locator, lambda raw=raw: _status(raw, phone_number_id))
    if value.errors:
        # Value-level errors (for example 130429) come without messages; they are kept as events.
        errors = {"metadata": raw_value.get("metadata"), "errors": value.errors}
        yield ParsedUpdate(
            f"{where}.errors", _field_event("messages.errors", errors, waba_id, received_ms)
        )


def describe_validation(exc: ValidationError) -> str:
    """Name the invalid fields without quoting their values, which may be personal data."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )


def _guarded(locator: str, build: Any) -> ParsedUpdate:
    try:
        return ParsedUpdate(locator, build())
    except ValidationError as exc:
        return ParsedUpdate(locator, None, f"invalid update: {describe_validation(exc)}")
    except (ValueError, TypeError, KeyError) as exc:
        return ParsedUpdate(locator, None, f"{type(exc).__name__}: {exc}")


def _message(raw: dict[str, Any], value: MessagesValue) -> InboundMessage:
    message = Message.model_validate(raw)
    customer = _customer(message, value.contacts)
    kind = message.type if message.type in KNOWN_MESSAGE_TYPES else "unknown"
    if kind == "unknown":
        log.warning("inbound_unknown_message_type", wamid=message.id, type=message.type)
    content = raw.get(message.type) if isinstance(raw.get(message.type), dict) else {}
    if message.type == "contacts":
        content = {"contacts": raw.get("contacts", [])}
    context = message.context
    text, payload = _text_and_payload(message.type, raw)
    return InboundMessage(
        wamid=message.id,
        phone_number_id=value.metadata.phone_number_id or "",
        display_phone_number=value.metadata.display_phone_number,
        customer=customer,
        timestamp_ms=_to_ms(message.timestamp),
        type=kind,
        text=text,
        payload=payload,
        context_wamid=context.id if context else None,
        forwarded=bool(context and (context.forwarded or context.frequently_forwarded)),
        referral=message.referral,
        errors=message.errors,
        content=content or {},
    )


def _customer(message: Message, contacts: list[Contact]) -> Customer:
    """Identify the sender: the business-scoped user id first, the wa_id otherwise."""
    sender_wa_id = message.from_ or None
    contact = next(
        (
            c
            for c in contacts
            if (sender_wa_id and c.wa_id == sender_wa_id)
            or (message.from_user_id and c.user_id == message.from_user_id)
        ),
        None,
    )
    user_id = message.from_user_id or (contact.user_id if contact else None) or None
    wa_id = sender_wa_id or (contact.wa_id if contact else None) or None
    customer_id = user_id or wa_id
    if not customer_id:
        msg = "the message has neither `from` nor `from_user_id`; its sender is unknown"
        raise ValueError(msg)
    name = contact.profile.name if contact and contact.profile else None
    return Customer(customer_id=customer_id, wa_id=wa_id, user_id=user_id, profile_name=name)


def _text_and_payload(kind: str, raw: dict[str, Any]) -> tuple[str | None, str | None]:
    obj = raw.get(kind)
    if not isinstance(obj, dict):
        return None, None
    if kind == "text":
        return obj.get("body"), None
    if kind in ("image", "video", "document", "sticker"):
        return obj.get("caption"), None
    if kind == "button":
        return obj.get("text"), obj.get("payload")
    if kind == "reaction":
        return obj.get("emoji") or None, None
    if kind == "interactive":
        reply = obj.get(obj.get("type", ""), {})
        if isinstance(reply, dict):
            return reply.get("title") or reply.get("body"), reply.get("id")
    if kind == "order":
        return obj.get("text") or None, None
    if kind == "system":
        return obj.get("body"), None
    if kind == "edit":
        inner = obj.get("message", {})
        inner_type = inner.get("type", "")
        return _text_and_payload(inner_type, inner)[0], None
    return None, None


def _status(raw: dict[str, Any], phone_number_id: str) -> StatusUpdate:
    status = Status.model_validate(raw)
    kind = status.status if status.status in KNOWN_STATUSES else "unknown"
    if kind == "unknown":
        log.warning("inbound_unknown_status", wamid=status.id, status=status.status)
    error = status.errors[0] if status.errors else {}
    details = error.get("error_data", {}).get("details") if isinstance(error, dict) else None
    return StatusUpdate(
        wamid=status.id,
        phone_number_id=phone_number_id,
        status=kind,
        timestamp_ms=_to_ms(status.timestamp),
        recipient_id=status.recipient_id or None,
        recipient_user_id=status.recipient_user_id or None,
        error_code=int(error["code"]) if error.get("code") is not None else None,
        error_title=error.get("title"),
        error_message=details or error.get("message"),
        biz_opaque_callback_data=status.biz_opaque_callback_data,
        pricing=status.pricing,
        conversation=status.conversation,
    )


def _field_event(
    field: str, value: dict[str, Any], waba_id: str | None, received_ms: int
) -> FieldEvent:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    canonical = orjson.dumps({"field": field, "value": value}, option=orjson.OPT_SORT_KEYS)
    return FieldEvent(
        field=field,
        phone_number_id=(metadata or {}).get("phone_number_id"),
        waba_id=waba_id,
        received_ms=received_ms,
        value=value,
        event_id=hashlib.sha256(canonical).hexdigest()[:32],
    )


def _to_ms(timestamp: str | int) -> int:
    """Meta sends epoch seconds (as a string for messages); the system uses milliseconds."""
    return int(timestamp) * 1000
