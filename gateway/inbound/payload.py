"""Pydantic models of Meta's webhook envelope, tolerant of fields this version does not know.

Only the envelope and the fields the gateway reads are modelled; everything else is kept
as sent (`extra="allow"`), because Meta adds fields without notice and a missing optional
field must never drop an update.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Metadata(_Tolerant):
    display_phone_number: str | None = None
    phone_number_id: str | None = None


class Profile(_Tolerant):
    name: str | None = None


class Contact(_Tolerant):
    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class Context(_Tolerant):
    id: str | None = None
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None


class Message(_Tolerant):
    id: str
    timestamp: str | int
    type: str = "unknown"
    from_: str | None = Field(None, alias="from")
    from_user_id: str | None = None
    context: Context | None = None
    referral: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class Status(_Tolerant):
    id: str
    status: str
    timestamp: str | int
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    biz_opaque_callback_data: str | None = None
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None


class MessagesValue(_Tolerant):
    """The `value` of a change whose `field` is `messages`."""

    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class Change(_Tolerant):
    field: str = "unknown"
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Tolerant):
    id: str | None = None
    time: int | None = None
    changes: list[Change] = Field(default_factory=list)


class Envelope(_Tolerant):
    object: str | None = None
    entry: list[Entry] = Field(default_factory=list)
