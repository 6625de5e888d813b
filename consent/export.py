"""Export ledger events for CRMs: flat CSV, JSON lines, Salesforce and Dynamics 365 consent records.

Salesforce: each event becomes a `ContactPointTypeConsent` (consent for the phone contact point
type and a data use purpose) and a `ContactPointConsent` (consent for the phone number itself).
Both carry CaptureDate, CaptureSource, CaptureContactPointType, DoubleConsentCaptureDate,
PrivacyConsentStatus and EffectiveFrom, following Salesforce's object reference (API 45.0+).
Lookups (DataUsePurposeId, ContactPointId, PartyId) are given by name for the import job to resolve.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from consent.audit import iter_events
from consent.keys import ConsentKeys
from consent.ledger import PERSONAL_FIELDS

FORMATS = ("csv", "jsonl", "salesforce", "dynamics")
CSV_COLUMNS = (
    "event_id",
    "seq",
    "business_number",
    "subject",
    "phone",
    "user_id",
    "channel",
    "purpose",
    "type",
    "state",
    "method",
    "occurred_at",
    "received_at",
    "capture_source",
    "text_version_id",
    "text_sha256",
    "language",
    "checkbox_default",
    "ip",
    "user_agent",
    "evidence",
    "actor",
    "lawful_basis",
    "detail",
    "hash",
)
# Salesforce PrivacyConsentStatus: NotSeen, Seen, OptIn, OptOut.
SALESFORCE_STATUS = {
    "active": "OptIn",
    "pending_confirmation": "Seen",
    "unverified": "Seen",
    "refused": "OptOut",
    "withdrawn": "OptOut",
    "expired": "OptOut",
    "invalidated": "OptOut",
    "none": "NotSeen",
}
WEB_METHODS = ("web_form", "checkout")


def iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


async def events_with_personal(
    redis: Redis, prefix: str, businesses: Iterable[str], since_ms: int | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield every event received since `since_ms`, with its personal fields unless erased."""
    keys = ConsentKeys(prefix)
    for business in businesses:
        async for event in iter_events(redis, keys, business, since_ms):
            raw = await redis.hget(
                keys.personal(business, str(event["subject"])), str(event["event_id"])
            )
            stored = orjson.loads(raw) if raw else {}
            event["personal"] = (
                {name: stored.get(name) for name in PERSONAL_FIELDS} if stored else None
            )
            yield event


def csv_header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(CSV_COLUMNS)
    return buffer.getvalue()


def to_csv_row(event: dict[str, Any]) -> str:
    personal = event.get("personal") or {}
    values = {
        **event,
        **personal,
        "occurred_at": iso(event.get("occurred_ms")),
        "received_at": iso(event.get("received_ms")),
    }
    buffer = io.StringIO()
    csv.writer(buffer).writerow(
        ["" if values.get(column) is None else values.get(column) for column in CSV_COLUMNS]
    )
    return buffer.getvalue()


def to_jsonl(event: dict[str, Any]) -> str:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode() + "\n"


def to_salesforce(event: dict[str, Any]) -> str:
    personal = event.get("personal") or {}
    captured = iso(event.get("occurred_ms"))
    double = captured if event["type"] in ("confirmed", "reconfirmed") else None
    common = {
        "CaptureDate": captured,
        "CaptureSource": (event.get("capture_source") or event["method"])[:255],
        "CaptureContactPointType": "Web" if event["method"] in WEB_METHODS else "Phone",
        "DoubleConsentCaptureDate": double,
        "PrivacyConsentStatus": SALESFORCE_STATUS.get(str(event["state"]), "NotSeen"),
        "EffectiveFrom": captured,
        "DataUsePurpose": {"Name": event["purpose"]},
    }
    record = {
        "event_id": event["event_id"],
        "channel": event["channel"],
        "ContactPointTypeConsent": {
            "Name": f"{event['channel']} {event['purpose']} {event['event_id']}"[:255],
            "ContactPointType": "Phone",
            **common,
        },
        "ContactPointConsent": {
            "Name": f"{event['channel']} {event['purpose']} {event['event_id']}"[:255],
            "ContactPoint": {"TelephoneNumber": personal.get("phone")},
            **common,
        },
    }
    return orjson.dumps(record).decode() + "\n"


def to_dynamics(event: dict[str, Any]) -> str:
    # NOTE: the column names follow the Contact Point Consent table of Customer Insights -
    # Journeys (msdynmkt_contactpointconsent4) but were not checked against a live environment.
    # Choice columns are written as labels, so the import job must map them to option values.
    personal = event.get("personal") or {}
    state = str(event["state"])
    value = (
        "Opted in"
        if state == "active"
        else "Opted out"
        if SALESFORCE_STATUS.get(state) == "OptOut"
        else "Not set"
    )
    record = {
        "event_id": event["event_id"],
        "msdynmkt_contactpointvalue": personal.get("phone"),
        "msdynmkt_contactpointtype": "WhatsApp",
        "msdynmkt_value": value,
        "msdynmkt_purpose": event["purpose"],
        "msdynmkt_source": event.get("capture_source") or event["method"],
        "msdynmkt_reason": event.get("detail") or event["type"],
        "msdynmkt_modifiedon": iso(event.get("occurred_ms")),
    }
    return orjson.dumps(record).decode() + "\n"


FORMATTERS = {
    "csv": to_csv_row,
    "jsonl": to_jsonl,
    "salesforce": to_salesforce,
    "dynamics": to_dynamics,
}
