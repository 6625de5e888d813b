"""Feature: the consent services of the gateway process.

Sets up the ledger, the gate (also as the campaign dispatcher's `TEMPLATE_GATE`), the consent
texts, opt-in codes and withdrawals on the app. It also adds the routes and hooks that use
them: the consent form, the consent APIs and the inbound consent reactions.
List it in `FEATURES` after
`gateway.inbound.service` and `gateway.outbound.feature` and before the campaign feature.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.clock import Clock
from consent.gate import Gate
from consent.keys import ConsentKeys
from consent.keywords import StopKeywords
from consent.ledger import Ledger
from consent.optin import OptIns
from consent.templates import TemplateCategories
from consent.texts import TextStore
from consent.withdrawal import Withdrawals
from gateway.appkeys import CLOCK, REDIS, SETTINGS
from gateway.settings import Settings

log = structlog.get_logger(__name__)

EXPIRY_SWEEP_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class ConsentServices:
    ledger: Ledger
    gate: Gate
    texts: TextStore
    optins: OptIns
    withdrawals: Withdrawals
    templates: TemplateCategories
    secret: bytes
    settings: Settings


CONSENT = web.AppKey("consent", ConsentServices)


async def consent_secret(redis: Redis, settings: Settings) -> bytes:
    """Return the key of subject ids and form tokens: the configured one, else one generated once in
    Redis.

    The subject id of a number must stay the same for the ledger's lifetime, so a generated
    key is written with SET NX and never replaced.
    """
    if settings.consent_secret is not None and settings.consent_secret.get_secret_value():
        return settings.consent_secret.get_secret_value().encode()
    key = ConsentKeys(settings.redis_prefix).secret
    await redis.set(key, secrets.token_hex(32), nx=True)
    stored = await redis.get(key)
    if stored is None:
        msg = f"the consent secret at {key} vanished right after it was written"
        raise RuntimeError(msg)
    return stored if isinstance(stored, bytes) else stored.encode()


async def build_consent(redis: Redis, settings: Settings, clock: Clock) -> ConsentServices:
    """Build the consent services on one Redis client (used by the app and the CLI)."""
    secret = await consent_secret(redis, settings)
    purposes = tuple(settings.consent_purposes)
    prefix = settings.redis_prefix
    ledger = Ledger(
        redis,
        prefix,
        clock,
        secret,
        purposes=purposes,
        default_region=settings.consent_default_region,
        outbox=bool(settings.consent_crm_webhook_url),
    )
    gate = Gate(
        redis,
        prefix,
        clock,
        secret,
        purposes=purposes,
        category_purposes=settings.consent_category_purposes,
        default_region=settings.consent_default_region,
    )
    return ConsentServices(
        ledger=ledger,
        gate=gate,
        texts=TextStore(redis, prefix, clock, purposes),
        optins=OptIns(ledger, validity_ms=settings.consent_code_validity_s * 1000),
        withdrawals=Withdrawals(
            ledger,
            keywords=StopKeywords(settings.consent_stop_keywords),
            optout_payloads=settings.consent_optout_payloads,
        ),
        templates=TemplateCategories(redis, prefix),
        secret=secret,
        settings=settings,
    )


def setup(app: web.Application) -> None:
    from gateway import consent_form, inbound_consent
    from gateway.api import consent_routes

    app.cleanup_ctx.append(_consent_services)
    consent_form.setup(app)
    consent_routes.setup(app)
    inbound_consent.setup(app)


async def _consent_services(app: web.Application) -> AsyncIterator[None]:
    services = await build_consent(app[REDIS], app[SETTINGS], app[CLOCK])
    app[CONSENT] = services
    _offer_gate_to_campaigns(app, services.gate)

    from gateway.app import RUN_WORKERS

    tasks = []
    if app[RUN_WORKERS]:
        tasks.append(asyncio.create_task(_expiry_loop(services), name="consent-expiry"))
        if app[SETTINGS].consent_crm_webhook_url:
            from gateway.consent_crm import run_crm_sender

            tasks.append(asyncio.create_task(run_crm_sender(services), name="consent-crm"))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _offer_gate_to_campaigns(app: web.Application, gate: Gate) -> None:
    # The campaign feature reads its gate from this key when it starts; without it, it denies
    # every send. Its module may not exist in every build, so the import is optional.
    try:
        from gateway.campaigns.feature import TEMPLATE_GATE
    except ImportError:
        return
    app[TEMPLATE_GATE] = gate


async def _expiry_loop(services: ConsentServices) -> None:
    """Record `expired` for opt-ins whose confirmation deadline passed, once a minute."""
    while True:
        await asyncio.sleep(EXPIRY_SWEEP_INTERVAL_S)
        try:
            for business in await services.ledger.businesses():
                expired = await services.optins.expire_due(business)
                if expired:
                    log.info("consent_optins_expired", business=business, count=expired)
        except RedisError as exc:
            log.warning("consent_expiry_failed", error=str(exc))
