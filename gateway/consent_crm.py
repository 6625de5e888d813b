"""Send each new consent event to a configured CRM endpoint, signed, retried until acknowledged.

Events come from each business number's outbox stream in ledger order. An event counts as
delivered only after the endpoint returns 2xx. Until then the same event is retried with
backoff and no later event is sent, so the CRM receives the events in order. The body is the event
as JSON with its personal fields; `X-Consent-Signature: sha256=<hex>` is the HMAC-SHA256 of
the raw body with `WAG_CONSENT_CRM_WEBHOOK_SECRET`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import aiohttp
import orjson
import structlog
from redis.exceptions import RedisError

from consent.model import as_text
from gateway.consent_feature import ConsentServices

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Consent-Signature"
BATCH = 100
IDLE_POLL_S = 1.0
MAX_BACKOFF_S = 60.0


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver_pending(services: ConsentServices, http: aiohttp.ClientSession) -> int:
    """Send the undelivered events of every business number in order; return how many were
    acknowledged.

    Stops at the first event the endpoint does not acknowledge (raising CrmDeliveryError), so
    that it is retried before anything newer.
    """
    settings = services.settings
    url = settings.consent_crm_webhook_url or ""
    secret = (
        settings.consent_crm_webhook_secret.get_secret_value()
        if settings.consent_crm_webhook_secret
        else ""
    )
    ledger = services.ledger
    delivered = 0
    for business in await ledger.businesses():
        cursor_raw = await ledger.redis.hget(ledger.keys.crm_cursor, business)
        cursor = as_text(cursor_raw) if cursor_raw else "0-0"
        entries = await ledger.redis.xrange(
            ledger.keys.outbox(business), min=f"({cursor}", count=BATCH
        )
        for entry_id, fields in entries or []:
            assert entry_id is not None and fields is not None  # XRANGE returns complete entries
            event_id = as_text(fields[b"event_id"])
            await _deliver_one(services, http, url, secret, business, event_id)
            await ledger.redis.hset(ledger.keys.crm_cursor, business, entry_id)
            await ledger.redis.xtrim(
                ledger.keys.outbox(business), minid=entry_id, approximate=False
            )
            delivered += 1
    return delivered


class CrmDeliveryError(Exception):
    """The CRM endpoint did not acknowledge an event; it is retried later."""


async def _deliver_one(
    services: ConsentServices,
    http: aiohttp.ClientSession,
    url: str,
    secret: str,
    business: str,
    event_id: str,
) -> None:
    ledger = services.ledger
    [event] = await ledger.events_by_id(business, [event_id])
    personal_raw = await ledger.redis.hget(
        ledger.keys.personal(business, str(event["subject"])), event_id
    )
    personal = orjson.loads(personal_raw) if personal_raw else None
    if personal is not None:
        personal.pop("salt", None)
    body = orjson.dumps({**event, "personal": personal}, option=orjson.OPT_SORT_KEYS)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, secret),
        "X-Consent-Event-Id": event_id,
    }
    try:
        async with http.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            if 200 <= response.status < 300:
                return
            raise CrmDeliveryError(
                f"the CRM endpoint returned {response.status} for event {event_id}; it is retried"
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CrmDeliveryError(
            f"the CRM endpoint could not be reached for event {event_id}: {exc}"
        ) from exc


async def run_crm_sender(services: ConsentServices) -> None:
    """Deliver events until cancelled, backing off while the endpoint fails."""
    backoff_s = 1.0
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                delivered = await deliver_pending(services, http)
            except (CrmDeliveryError, RedisError) as exc:
                log.warning("consent_crm_delivery_failed", error=str(exc), retry_in_s=backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)
                continue
            backoff_s = 1.0
            if delivered:
                log.info("consent_crm_delivered", count=delivered)
            else:
                await asyncio.sleep(IDLE_POLL_S)
