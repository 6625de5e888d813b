"""Normalised inbound updates, the contract between the webhook parser and the domain packages.

The parser in `gateway.inbound` turns Meta's payloads into these objects; sessions, routing
and consent work on them and never see Meta's JSON layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Customer:
    """A WhatsApp user as seen by one business number.

    `customer_id` is the business-scoped user id when Meta sends one, otherwise the wa_id,
    because username users arrive with `wa_id` and `from` set to empty strings.
    """

    customer_id: str
    wa_id: str | None = None
    user_id: str | None = None
    profile_name: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message (`value.messages[]`)."""

    wamid: str
    phone_number_id: str
    display_phone_number: str | None
    customer: Customer
    timestamp_ms: int
    type: str  # Meta's type; "unknown" for types this version does not know
    text: str | None = None  # text body, caption, or the button/reply title
    payload: str | None = None  # quick-reply button payload or interactive reply id
    context_wamid: str | None = None
    forwarded: bool = False
    referral: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    content: dict[str, Any] = field(default_factory=dict)  # the type-specific object as sent


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One status of an outbound message (`value.statuses[]`)."""

    wamid: str
    phone_number_id: str
    status: str  # sent, delivered, read, played, failed, or unknown
    timestamp_ms: int
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_message: str | None = None
    biz_opaque_callback_data: str | None = None
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FieldEvent:
    """Any other webhook change (`user_preferences`, `account_update`, template updates, ...)."""

    field: str
    phone_number_id: str | None
    waba_id: str | None
    received_ms: int
    value: dict[str, Any]
    event_id: str  # stable across redeliveries of the same change: a hash of its content
