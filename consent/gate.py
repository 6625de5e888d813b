"""The template gate: may this business number send this template to this phone now?

Public API (for the template, campaign and outbound code):

    gate = Gate(redis, prefix, clock, secret, category_purposes={"utility": "service_updates"})

    decision = await gate.check(phone_number_id, phone, template_name="spring_sale")
    decision = await gate.check(phone_number_id, phone, purpose="service_updates")
    decisions = await gate.check_many(phone_number_id, phones, template_name="spring_sale")

    decision.allowed           True only with active WhatsApp consent for the required purpose
    decision.reason            "consent_active", or why not: "consent_none", "consent_withdrawn",
                               "consent_pending_confirmation", "consent_unverified", ...,
                               "unknown_template", "unknown_category", "unknown_purpose",
                               "purpose_missing", "gate_unavailable"
    decision.consent_event_id  the ledger event the decision relied on (the confirmation)
    decision.purpose, decision.category, decision.decision_id (None when not logged)

Call it at dispatch time, right before the send, not only when a campaign is planned: a
withdrawal is effective on the very next decision. `phone` is E.164 or anything
`phonenumbers` reads (default region DE). A string that already looks like E.164 is used as it
is, without parsing, so pass numbers in the canonical form `phonenumbers` gives
(`+4915112345678`); a non-canonical one finds no consent and is denied.

The required purpose comes from the template's current category in `TemplateCategories`,
because Meta may have recategorised the template since it was created. Without a stored
category, `template_category` as passed is used. A marketing template always needs
`marketing`, and other categories map through `category_purposes`. Without a template,
`purpose` is used. Only consent on the `whatsapp` channel counts (UWG §7(2):
consent is given per channel).

Fail closed: an unknown template, an unknown purpose, a Redis error or a decision that could
not be logged all deny. Every decision, allowed or denied, is appended to the business number's
hash-chained decision log before it is returned. `check` never raises.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.clock import Clock
from common.lua import load_script
from consent.decision_log import DecisionLog
from consent.errors import ChainConflict, InvalidPhone
from consent.keys import ConsentKeys
from consent.model import (
    CHANNEL_WHATSAPP,
    DEFAULT_PURPOSES,
    NO_CONSENT,
    CurrentState,
    State,
    as_text,
    state_field,
)
from consent.phones import DEFAULT_REGION, normalize_phone, subject_id
from consent.templates import CATEGORIES

log = structlog.get_logger(__name__)

DEFAULT_CATEGORY_PURPOSES: dict[str, str] = {
    "utility": "service_updates",
    "authentication": "authentication",
}
BULK_BATCH_SIZE = 2000
# Numbers stored in the ledger are E.164; a string of this form needs no parsing, because an
# invalid number can have no consent on record and is denied as `consent_none` anyway.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class Decision(NamedTuple):
    """One gate decision; a named tuple because bulk checks create one per recipient."""

    allowed: bool
    reason: str
    consent_event_id: str | None = None
    purpose: str | None = None
    category: str | None = None
    decision_id: str | None = None


class Gate:
    """Decide template sends against the consent state and log each decision (see the module
    docstring).
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        clock: Clock,
        secret: bytes,
        *,
        purposes: Sequence[str] = DEFAULT_PURPOSES,
        category_purposes: Mapping[str, str] | None = None,
        default_region: str = DEFAULT_REGION,
    ) -> None:
        self._redis = redis
        self._keys = ConsentKeys(prefix)
        self._clock = clock
        self._secret = secret
        self._purposes = tuple(purposes)
        # Marketing templates always need marketing consent, whatever the configuration sets.
        self._category_purposes = {
            **DEFAULT_CATEGORY_PURPOSES,
            **(category_purposes or {}),
            "marketing": "marketing",
        }
        self._region = default_region
        self._read_states = load_script(redis, "consent", "gate_states.lua")
        self.log = DecisionLog(redis, prefix)

    async def check(
        self,
        phone_number_id: str,
        phone: str,
        *,
        purpose: str | None = None,
        template_category: str | None = None,
        template_name: str | None = None,
        actor: str = "system",
    ) -> Decision:
        """Decide one send and log the decision; Redis errors become a `gate_unavailable` denial."""
        decisions = await self.check_many(
            phone_number_id,
            [phone],
            purpose=purpose,
            template_category=template_category,
            template_name=template_name,
            actor=actor,
        )
        return decisions[0]

    async def check_many(
        self,
        phone_number_id: str,
        phones: Sequence[str],
        *,
        purpose: str | None = None,
        template_category: str | None = None,
        template_name: str | None = None,
        actor: str = "system",
        batch_size: int = BULK_BATCH_SIZE,
    ) -> list[Decision]:
        """Decide a send of one template to many phones, pipelined in batches.

        Redis errors and chain conflicts deny every phone with `gate_unavailable` (fail closed).

        Returns one Decision per phone, in order. A campaign calls this per dispatch batch.
        """
        try:
            return await self._check_many(
                phone_number_id,
                phones,
                purpose,
                template_category,
                template_name,
                actor,
                batch_size,
            )
        except asyncio.CancelledError:
            raise
        except (RedisError, ChainConflict, OSError) as exc:
            log.warning(
                "consent_gate_unavailable",
                business=phone_number_id,
                error=str(exc),
                count=len(phones),
            )
            return [Decision(False, "gate_unavailable") for _ in phones]

    async def _check_many(
        self,
        business: str,
        phones: Sequence[str],
        purpose: str | None,
        template_category: str | None,
        template_name: str | None,
        actor: str,
        batch_size: int,
    ) -> list[Decision]:
        category, required, reason = await self._required_purpose(
            purpose, template_category, template_name
        )
        batches = [
            phones[start : start + batch_size] for start in range(0, len(phones), batch_size)
        ]
        # Three steps overlap: the state read of the next batch, building the current batch, and
        # the log append of the previous one. The appends stay strictly in order, because the
        # decision log's lock is first come, first served and each append chains onto the last.
        next_read: asyncio.Future[tuple[list[str | None], list[CurrentState]]] | None = None
        if batches:
            next_read = asyncio.ensure_future(
                self._read_batch(business, batches[0], required, reason)
            )
        logged: list[asyncio.Future[list[Decision]]] = []
        try:
            for index in range(len(batches)):
                assert next_read is not None
                subjects, states = await next_read
                next_read = None
                if index + 1 < len(batches):
                    next_read = asyncio.ensure_future(
                        self._read_batch(business, batches[index + 1], required, reason)
                    )
                logged.append(
                    asyncio.ensure_future(
                        self._log_batch(
                            business,
                            subjects,
                            states,
                            required,
                            reason,
                            category,
                            template_name,
                            actor,
                        )
                    )
                )
                if len(logged) >= 2:
                    # At most two batches wait for the log, which bounds the memory in use.
                    await logged[-2]
            decisions = [decision for future in logged for decision in await future]
        finally:
            for pending in [next_read, *logged]:
                if pending is not None and not pending.done():
                    pending.cancel()

        if len(decisions) == 1:
            decision = decisions[0]
            log.info(
                "consent_gate_decision",
                business=business,
                allowed=decision.allowed,
                reason=decision.reason,
                purpose=required,
                template=template_name,
                decision_id=decision.decision_id,
            )
        else:
            allowed = sum(1 for decision in decisions if decision.allowed)
            log.info(
                "consent_gate_batch",
                business=business,
                count=len(decisions),
                allowed=allowed,
                purpose=required,
                template=template_name,
            )
        return decisions

    async def _required_purpose(
        self, purpose: str | None, template_category: str | None, template_name: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """Return (category, purpose, denial reason); the reason is set when no purpose applies."""
        category = None
        if template_name is not None:
            stored = await self._redis.hget(self._keys.template_categories, template_name)
            category = as_text(stored) if stored else template_category
            if category is None:
                return None, None, "unknown_template"
        elif template_category is not None:
            category = template_category

        if category is not None:
            category = category.strip().lower()
            mapped = self._category_purposes.get(category) if category in CATEGORIES else None
            if mapped is None:
                return category, None, "unknown_category"
            return category, mapped, None

        if purpose is None:
            return None, None, "purpose_missing"
        if purpose not in self._purposes:
            return None, purpose, "unknown_purpose"
        return None, purpose, None

    async def _read_batch(
        self, business: str, phones: Sequence[str], purpose: str | None, reason: str | None
    ) -> tuple[list[str | None], list[CurrentState]]:
        """Return the subject id and the current state of each phone, in one round trip."""
        subjects = [self._subject(phone) for phone in phones]
        states: list[CurrentState] = [NO_CONSENT] * len(phones)
        if reason is not None or purpose is None:
            return subjects, states

        known = [(i, subject) for i, subject in enumerate(subjects) if subject is not None]
        if known:
            raw = await self._read_states(
                keys=[self._keys.state(business, subject) for _, subject in known],
                args=[state_field(CHANNEL_WHATSAPP, purpose)],
            )
            for (i, _), value in zip(known, raw, strict=True):
                states[i] = CurrentState.decode(value)
        return subjects, states

    async def _log_batch(
        self,
        business: str,
        subjects: list[str | None],
        states: list[CurrentState],
        purpose: str | None,
        reason: str | None,
        category: str | None,
        template_name: str | None,
        actor: str,
    ) -> list[Decision]:
        """Build, log and return the decisions of one batch."""
        now_ms = self._clock.now_ms()
        batch_id = "gdc_" + secrets.token_hex(6)
        bodies = [
            self._body(
                f"{batch_id}{index:05x}",
                business,
                subject,
                state,
                purpose,
                reason,
                category,
                template_name,
                actor,
                now_ms,
            )
            for index, (subject, state) in enumerate(zip(subjects, states, strict=True))
        ]
        entries = await self.log.append(business, bodies)
        return [
            Decision(
                allowed=entry["allowed"],
                reason=entry["reason"],
                consent_event_id=entry["consent_event_id"],
                purpose=purpose,
                category=category,
                decision_id=entry["decision_id"],
            )
            for entry in entries
        ]

    def _subject(self, phone: str) -> str | None:
        if E164.match(phone):
            return subject_id(self._secret, phone)
        try:
            return subject_id(self._secret, normalize_phone(phone, self._region))
        except InvalidPhone:
            return None

    @staticmethod
    def _body(
        decision_id: str,
        business: str,
        subject: str | None,
        state: CurrentState,
        purpose: str | None,
        reason: str | None,
        category: str | None,
        template_name: str | None,
        actor: str,
        now_ms: int,
    ) -> dict[str, Any]:
        if reason is None and subject is None:
            reason = "invalid_phone"
        allowed = reason is None and state.state is State.ACTIVE
        if reason is None:
            reason = f"consent_{state.state.value}"
        return {
            "decision_id": decision_id,
            "business_number": business,
            "subject": subject,
            "decided_ms": now_ms,
            "template": template_name,
            "category": category,
            "purpose": purpose,
            "channel": CHANNEL_WHATSAPP,
            "allowed": allowed,
            "reason": reason,
            "consent_event_id": state.event_id if state.state is not State.NONE else None,
            "actor": actor,
        }
