"""Random sequences of opt-ins, codes, STOP messages, Meta opt-outs and sends never allow a send
without active consent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.audit import rebuild_states
from consent.gate import Gate
from consent.ledger import Ledger
from consent.model import ConsentRecord, EventType, Method
from consent.optin import OptIns
from consent.templates import TemplateCategories
from consent.texts import TextStore, default_texts
from consent.withdrawal import Contact, Withdrawals
from tests.consent.conftest import BUSINESS, PREFIX, SECRET, TEXT_SHA256

PHONES = ("+4915112345678", "+4917612345678")
PURPOSES = ("marketing", "service_updates")
CATEGORY_PURPOSE = {"marketing": "marketing", "utility": "service_updates"}
MESSAGES = (
    "STOP",
    "Stopp!",
    "abmelden 🛑",
    "bitte stornieren Sie meine Bestellung",
    "Hallo",
    "UNSUBSCRIBE",
)
HOUR_MS = 3600 * 1000


class ConsentMachine(RuleBasedStateMachine):
    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = Redis.from_url(redis_url)
        self.clock = ManualClock()
        self.ledger = Ledger(self.redis, PREFIX, self.clock, SECRET)
        self.gate = Gate(self.redis, PREFIX, self.clock, SECRET)
        self.optins = OptIns(self.ledger)
        self.withdrawals = Withdrawals(self.ledger)
        self.templates = TemplateCategories(self.redis, PREFIX)
        # The model: which (phone, purpose) pairs are active, and the given event each pending pair
        # waits on.
        self.active: set[tuple[str, str]] = set()
        self.pending: dict[tuple[str, str], str] = {}
        self.codes: list[
            tuple[str, str, int, dict[str, str]]
        ] = []  # owner, prefill, deadline, purpose -> given id
        self.wamids = 0

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def next_wamid(self) -> str:
        self.wamids += 1
        return f"wamid.{self.wamids}"

    @initialize()
    def setup_store(self) -> None:
        self.run(self.redis.flushdb())
        texts = TextStore(self.redis, PREFIX, self.clock)
        self.run(texts.load(default_texts(), business_name="Beispiel GmbH"))
        self.shown = {
            purpose: version
            for purpose, version in self.run(texts.current_for("de")).items()
            if purpose in PURPOSES
        }
        self.run(self.templates.set("t1", "utility"))

    @rule(phone=st.sampled_from(PHONES), ticked=st.sets(st.sampled_from(PURPOSES)))
    def submit_form(self, phone: str, ticked: set[str]) -> None:
        outcome = self.run(
            self.optins.record_submission(
                business=BUSINESS,
                business_display_number="+4930123456789",
                business_name="Beispiel GmbH",
                phone=phone,
                shown=self.shown,
                ticked=ticked,
                language="de",
            )
        )
        for purpose in PURPOSES:
            self.active.discard((phone, purpose))
            self.pending.pop((phone, purpose), None)
        for event in outcome.given:
            self.pending[(phone, str(event.event["purpose"]))] = event.event_id
        if outcome.code:
            given = {str(event.event["purpose"]): event.event_id for event in outcome.given}
            self.codes.append((phone, str(outcome.prefill), int(outcome.expires_ms or 0), given))

    @rule(data=st.data(), from_owner=st.sampled_from((True, True, True, False)))
    def send_code(self, data: st.DataObject, from_owner: bool) -> None:
        if not self.codes:
            return
        owner, prefill, deadline, given = data.draw(st.sampled_from(self.codes))
        sender = owner if from_owner else next(phone for phone in PHONES if phone != owner)
        now_ms = self.clock.now_ms()
        self.run(
            self.optins.confirm(
                business=BUSINESS,
                wa_id=sender.lstrip("+"),
                user_id=None,
                text=prefill,
                wamid=self.next_wamid(),
                timestamp_ms=now_ms,
            )
        )
        if sender != owner:
            return
        for purpose, event_id in given.items():
            if self.pending.get((owner, purpose)) == event_id:
                del self.pending[(owner, purpose)]
                if now_ms <= deadline:
                    self.active.add((owner, purpose))

    @rule(phone=st.sampled_from(PHONES), text=st.sampled_from(MESSAGES))
    def customer_message(self, phone: str, text: str) -> None:
        events = self.run(
            self.withdrawals.on_keyword(
                business=BUSINESS,
                contact=Contact(phone.lstrip("+")),
                text=text,
                wamid=self.next_wamid(),
                timestamp_ms=self.clock.now_ms(),
            )
        )
        if events is not None:
            for purpose in PURPOSES:
                self.active.discard((phone, purpose))
                self.pending.pop((phone, purpose), None)

    @rule(phone=st.sampled_from(PHONES), action=st.sampled_from(("stop", "resume")))
    def meta_preference(self, phone: str, action: str) -> None:
        value = {
            "user_preferences": [
                {
                    "wa_id": phone.lstrip("+"),
                    "category": "marketing_messages",
                    "value": action,
                    "timestamp": self.clock.now_ms() // 1000,
                }
            ]
        }
        self.run(
            self.withdrawals.on_user_preferences(
                business=BUSINESS,
                value=value,
                event_id=self.next_wamid(),
                received_ms=self.clock.now_ms(),
            )
        )
        if action == "stop":
            self.active.discard((phone, "marketing"))
            self.pending.pop((phone, "marketing"), None)

    @rule(phone=st.sampled_from(PHONES))
    def send_failed_131050(self, phone: str) -> None:
        self.run(
            self.withdrawals.on_send_failed(
                business=BUSINESS,
                contact=Contact(phone.lstrip("+")),
                wamid=self.next_wamid(),
                error_code=131050,
                timestamp_ms=self.clock.now_ms(),
            )
        )
        self.active.discard((phone, "marketing"))
        self.pending.pop((phone, "marketing"), None)

    @rule(phone=st.sampled_from(PHONES), purpose=st.sampled_from(PURPOSES))
    def email_consent(self, phone: str, purpose: str) -> None:
        """Consent on another channel must change nothing for WhatsApp."""
        for event_type, evidence in ((EventType.GIVEN, None), (EventType.CONFIRMED, "mail-click")):
            self.run(
                self.ledger.append(
                    [
                        ConsentRecord(
                            business_number=BUSINESS,
                            phone=phone,
                            channel="email",
                            purpose=purpose,
                            type=event_type,
                            method=Method.WEB_FORM,
                            occurred_ms=self.clock.now_ms(),
                            text_version_id="email.v1",
                            text_sha256=TEXT_SHA256,
                            checkbox_default=False,
                            evidence=evidence,
                        )
                    ]
                )
            )

    @rule(category=st.sampled_from(("marketing", "utility")))
    def recategorise(self, category: str) -> None:
        self.run(self.templates.set("t1", category))

    @rule(hours=st.sampled_from((1, 1, 1, 30)))
    def wait(self, hours: int) -> None:
        self.clock.advance(hours * HOUR_MS)

    @invariant()
    def sends_follow_consent(self) -> None:
        """At every moment, a send is allowed exactly when its purpose has active consent."""
        if not hasattr(self, "shown"):
            return
        category = str(self.run(self.templates.get("t1")))
        for phone in PHONES:
            checks = [
                (purpose, self.run(self.gate.check(BUSINESS, phone, purpose=purpose)))
                for purpose in PURPOSES
            ]
            checks.append(
                (
                    CATEGORY_PURPOSE[category],
                    self.run(self.gate.check(BUSINESS, phone, template_name="t1")),
                )
            )
            for purpose, decision in checks:
                if decision.allowed:
                    assert (phone, purpose) in self.active, (
                        f"send allowed without active consent: {decision}"
                    )
                    self._assert_last_event_confirms(phone, purpose, decision.consent_event_id)
                else:
                    assert (phone, purpose) not in self.active, f"active consent denied: {decision}"

    def _assert_last_event_confirms(self, phone: str, purpose: str, event_id: str | None) -> None:
        _, subject = self.ledger.subject_of(phone)
        history = self.run(self.ledger.history(BUSINESS, subject))
        relevant = [
            event
            for event in history
            if event["channel"] == "whatsapp"
            and event["purpose"] == purpose
            and event["type"] != "resumed"
        ]
        assert relevant[-1]["type"] == "confirmed"
        assert relevant[-1]["evidence"]
        assert relevant[-1]["event_id"] == event_id

    @invariant()
    def pending_is_not_active(self) -> None:
        assert not set(self.pending) & self.active

    def teardown(self) -> None:
        # Rebuilding the state from the ledger must give exactly the state the appends wrote.
        result = self.run(rebuild_states(self.redis, PREFIX, BUSINESS, write=False))
        self.run(self.redis.aclose())
        self.loop.close()
        assert result["differences"] == 0


def test_no_send_without_consent(redis_url: str) -> None:
    run_state_machine_as_test(
        lambda: ConsentMachine(redis_url),
        settings=settings(
            max_examples=50,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
