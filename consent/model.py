"""Consent records, event types, methods and states.

Legal anchors: GDPR Art. 7(1) (the controller must be able to demonstrate consent, so each
event keeps when, how, which text and which evidence), Art. 7(3) (withdrawal as easy as giving,
effective at once), German UWG §7(2) (prior express consent per channel: consent for e-mail
never unlocks WhatsApp), CJEU C-673/17 Planet49 (a pre-ticked box is no consent), and the
ISO/IEC TS 27560 consent record fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

CHANNEL_WHATSAPP = "whatsapp"
CHANNELS = ("whatsapp", "email", "sms", "voice", "post")
DEFAULT_PURPOSES = ("marketing", "service_updates", "authentication")
LANGUAGES = ("de", "en")


class EventType(StrEnum):
    GIVEN = "given"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RECONFIRMED = "reconfirmed"
    INVALIDATED = "invalidated"
    # Meta's `resume` of marketing messages: recorded for the proof, but it is no new consent
    # and never changes the state.
    RESUMED = "resumed"


class Method(StrEnum):
    WEB_FORM = "web_form"
    CHECKOUT = "checkout"
    WHATSAPP_CODE = "whatsapp_code"
    KEYWORD = "keyword"
    WHATSAPP_BUTTON = "whatsapp_button"
    META_PREFERENCES = "meta_preferences"
    AGENT = "agent"
    CRM_SYNC = "crm_sync"
    IMPORT = "import"


class State(StrEnum):
    NONE = "none"
    PENDING_CONFIRMATION = "pending_confirmation"
    ACTIVE = "active"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    INVALIDATED = "invalidated"
    UNVERIFIED = "unverified"


_STATES = {state.value: state for state in State}  # a dict lookup is 40x faster than State(value)

# Events that state what the customer agreed to, so they must name the exact text shown.
EVENTS_NEEDING_TEXT = frozenset({EventType.GIVEN, EventType.REFUSED, EventType.RECONFIRMED})
# Methods where the customer ticked a box that the business rendered.
CHECKBOX_METHODS = frozenset({Method.WEB_FORM, Method.CHECKOUT})


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent event as a caller asks to record it, before validation and chaining.

    `phone` may be in any format `phonenumbers` reads; `occurred_ms` is when the person
    acted (UTC epoch ms). Personal fields (`phone`, `user_id`, `ip`, `user_agent`) are kept
    apart from the chain so that they can be erased.
    """

    business_number: str
    phone: str
    purpose: str
    type: EventType
    method: Method | None
    occurred_ms: int | None
    channel: str = CHANNEL_WHATSAPP
    capture_source: str | None = None
    text_version_id: str | None = None
    text_sha256: str | None = None
    language: str | None = None
    checkbox_default: bool | None = None
    ip: str | None = None
    user_agent: str | None = None
    user_id: str | None = None
    evidence: str | None = None
    actor: str = "customer"
    lawful_basis: str = "consent"
    detail: str | None = None
    # The keyed subject id, for events about a contact whose number is not at hand (a sweep of
    # expired opt-ins, a username user known only by user id). Used only when `phone` is empty.
    subject: str | None = None


class CurrentState(NamedTuple):
    """The derived state of one (contact, channel, purpose) and the event that set it.

    A named tuple rather than a frozen dataclass, because the gate builds one per recipient
    and a tuple is several times cheaper to create.
    """

    state: State
    event_id: str | None = None
    since_ms: int | None = None

    def encode(self) -> str:
        return f"{self.state.value}|{self.event_id or ''}|{self.since_ms or 0}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> CurrentState:
        if not raw:
            return NO_CONSENT
        text = raw.decode() if isinstance(raw, bytes) else raw
        state, event_id, since_ms = text.split("|")
        return cls(_STATES[state], event_id or None, int(since_ms) or None)


NO_CONSENT = CurrentState(State.NONE)


@dataclass(frozen=True, slots=True)
class AppendedEvent:
    """An event as written to the ledger, with the state it led to."""

    event: dict[str, object]
    state: CurrentState
    duplicate: bool = False

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])


@dataclass(slots=True)
class Subject:
    """One contact of one business number, as the ledger addresses it."""

    business_number: str
    phone: str  # E.164
    subject: str  # keyed hash of `phone`
    purposes: dict[str, CurrentState] = field(default_factory=dict)


def state_field(channel: str, purpose: str) -> str:
    return f"{channel}:{purpose}"


def as_text(value: bytes | str) -> str:
    """Return a Redis reply as text; the clients here return bytes, but the type allows str."""
    return value.decode() if isinstance(value, bytes) else value
