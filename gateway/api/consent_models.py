"""Request bodies of the consent APIs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from consent.model import Method

RecordableEvent = Literal[
    "given", "confirmed", "refused", "withdrawn", "reconfirmed", "invalidated"
]


class ConsentBody(BaseModel):
    """One consent event reported by a checkout, CRM or other integration."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=3, max_length=64)
    phone_number_id: str | None = Field(
        None, max_length=64, description="Business number; default: the gateway's"
    )
    display_phone_number: str | None = Field(
        None, max_length=32, description="For the wa.me confirmation link"
    )
    channel: str = Field("whatsapp", max_length=16)
    purpose: str = Field(max_length=64)
    event_type: RecordableEvent
    method: Method | None = None
    occurred_ms: int | None = Field(
        None, description="When the person acted, UTC epoch milliseconds"
    )
    capture_source: str | None = Field(None, max_length=500)
    text_version_id: str | None = Field(None, max_length=128)
    text_sha256: str | None = Field(None, max_length=64)
    language: Literal["de", "en"] | None = None
    checkbox_default: bool | None = None
    ip: str | None = Field(None, max_length=64)
    user_agent: str | None = Field(None, max_length=512)
    user_id: str | None = Field(None, max_length=128)
    evidence: str | None = Field(None, max_length=256)
    lawful_basis: str = Field("consent", max_length=64)


class WithdrawBody(BaseModel):
    """A withdrawal an agent records for a customer who expressed it in other words."""

    model_config = ConfigDict(extra="forbid")

    phone_number_id: str | None = Field(None, max_length=64)
    purposes: list[str] | None = Field(None, description="Default: every purpose")
    note: str | None = Field(None, max_length=500)


class GateCheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=3, max_length=64)
    phone_number_id: str | None = Field(None, max_length=64)
    template: str | None = Field(None, max_length=512)
    purpose: str | None = Field(None, max_length=64)


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=64)
    language: Literal["de", "en"]
    text: str = Field(min_length=1, max_length=4000)
    business_name: str = Field(min_length=1, max_length=200)


class FormBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purposes: list[str] = Field(
        default_factory=list, description="Empty: every purpose with a current text"
    )
    capture_source: str | None = Field(None, max_length=500)
    phone_number_id: str | None = Field(None, max_length=64)
    display_phone_number: str | None = Field(None, max_length=32)
    business_name: str | None = Field(None, max_length=200)
