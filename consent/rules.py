"""Rules a consent record must meet, and the state each event leads to.

Both are pure functions, so that rebuilding the state from the ledger gives exactly the
state the appends produced, and the property tests can run them without Redis.
"""

from __future__ import annotations

import re

from consent.errors import InvalidRecord, InvalidTransition
from consent.model import (
    CHANNELS,
    CHECKBOX_METHODS,
    EVENTS_NEEDING_TEXT,
    LANGUAGES,
    ConsentRecord,
    CurrentState,
    EventType,
    Method,
    State,
)

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# A person's own clock may be a little ahead of ours; a record far in the future is an error.
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
# Events that need proof that the customer controls the number: the wamid of a message they sent.
EVENTS_NEEDING_EVIDENCE = frozenset({EventType.CONFIRMED, EventType.RECONFIRMED})


def validate_record(record: ConsentRecord, purposes: tuple[str, ...], now_ms: int) -> None:
    """Raise InvalidRecord naming the field when `record` cannot be stored as consent evidence."""
    if record.occurred_ms is None or record.occurred_ms <= 0:
        raise InvalidRecord(
            "occurred_ms is missing: record when the person acted, as UTC epoch milliseconds",
            field="occurred_ms",
            value=record.occurred_ms,
        )
    if record.occurred_ms > now_ms + MAX_FUTURE_SKEW_MS:
        raise InvalidRecord(
            f"occurred_ms {record.occurred_ms} lies in the future (now {now_ms}); send epoch "
            "milliseconds, not microseconds",
            field="occurred_ms",
            value=record.occurred_ms,
        )
    if record.method is None:
        raise InvalidRecord(
            "method is missing: say how consent was collected "
            "(web_form, checkout, whatsapp_code, ...)",
            field="method",
            value=None,
        )

    _validate_scope(record, purposes)
    _validate_text(record)

    if record.checkbox_default is True:
        # Planet49 (CJEU C-673/17): a box ticked in advance expresses no consent.
        raise InvalidRecord(
            "checkbox_default is true: a pre-ticked box is no valid consent; "
            "render the box unticked",
            field="checkbox_default",
            value=True,
        )
    if (
        record.type is EventType.GIVEN
        and record.method in CHECKBOX_METHODS
        and record.checkbox_default is None
    ):
        raise InvalidRecord(
            f"checkbox_default is missing for method {record.method.value}: "
            "state that the box was unticked (false)",
            field="checkbox_default",
            value=None,
        )
    if record.type in EVENTS_NEEDING_EVIDENCE and not record.evidence:
        raise InvalidRecord(
            f"evidence is missing for a `{record.type.value}` event: "
            "give the wamid of the customer's "
            "confirming message",
            field="evidence",
            value=None,
        )


def _validate_scope(record: ConsentRecord, purposes: tuple[str, ...]) -> None:
    if record.channel not in CHANNELS:
        raise InvalidRecord(
            f"channel `{record.channel}` is unknown; use one of {', '.join(CHANNELS)}",
            field="channel",
            value=record.channel,
        )
    if record.purpose not in purposes:
        raise InvalidRecord(
            f"purpose `{record.purpose}` is unknown; use one of {', '.join(purposes)}",
            field="purpose",
            value=record.purpose,
        )
    if record.language is not None and record.language not in LANGUAGES:
        raise InvalidRecord(
            f"language `{record.language}` is not supported; use one of {', '.join(LANGUAGES)}",
            field="language",
            value=record.language,
        )


def _validate_text(record: ConsentRecord) -> None:
    if record.type not in EVENTS_NEEDING_TEXT:
        return
    if not record.text_sha256:
        raise InvalidRecord(
            f"text_sha256 is missing for a `{record.type.value}` event: "
            "give the SHA-256 of the exact "
            "consent text the person saw",
            field="text_sha256",
            value=None,
        )
    if not SHA256_HEX.match(record.text_sha256):
        raise InvalidRecord(
            "text_sha256 must be 64 lowercase hex digits (SHA-256 of the UTF-8 text)",
            field="text_sha256",
            value=record.text_sha256,
        )
    if not record.text_version_id:
        raise InvalidRecord(
            f"text_version_id is missing for a `{record.type.value}` event: "
            "name the consent text version shown",
            field="text_version_id",
            value=None,
        )


def next_state(
    current: CurrentState, event_type: EventType, method: Method, evidence: str | None
) -> State:
    """Return the state that `event_type` leads to from `current`.

    Raise InvalidTransition if it does not apply.
    """
    if event_type is EventType.GIVEN:
        if method is Method.IMPORT and not evidence:
            return State.UNVERIFIED
        return State.PENDING_CONFIRMATION

    if event_type is EventType.CONFIRMED:
        # Only an opt-in still waiting for proof can be confirmed; a code that arrives after a
        # withdrawal or refusal must not bring consent back.
        if current.state not in (State.PENDING_CONFIRMATION, State.UNVERIFIED):
            raise InvalidTransition(
                f"nothing to confirm: the consent is `{current.state.value}`, "
                "not pending_confirmation",
                field="type",
                value=event_type.value,
            )
        return State.ACTIVE

    if event_type is EventType.RECONFIRMED:
        if current.state not in (State.ACTIVE, State.EXPIRED):
            raise InvalidTransition(
                f"nothing to reconfirm: the consent is `{current.state.value}`; "
                "record a new opt-in instead",
                field="type",
                value=event_type.value,
            )
        return State.ACTIVE

    if event_type is EventType.RESUMED:
        return current.state

    return _TERMINAL[event_type]


_TERMINAL = {
    EventType.REFUSED: State.REFUSED,
    EventType.WITHDRAWN: State.WITHDRAWN,
    EventType.EXPIRED: State.EXPIRED,
    EventType.INVALIDATED: State.INVALIDATED,
}
