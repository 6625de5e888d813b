"""STOP keywords, Meta's opt-outs and the opt-out button."""

from __future__ import annotations

import pytest

from consent.gate import Gate
from consent.keywords import StopKeywords
from consent.ledger import Ledger
from consent.model import State
from consent.withdrawal import Contact, Withdrawals
from tests.consent.conftest import BUSINESS, PHONE, RecordFactory, opt_in

WA_ID = PHONE.lstrip("+")


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "Stopp!",
        " stop ",
        "STOP 🛑",
        "Abmelden.",
        "ABBESTELLEN",
        "austragen",
        "Widerruf!!",
        "unsubscribe",
        "Cancel",
        "OPTOUT",
        "Opt-Out",
        "🙅‍♀️ stopp",
    ],
    ids=[
        "upper",
        "stopp-bang",
        "padded",
        "emoji",
        "abmelden-dot",
        "abbestellen",
        "austragen",
        "widerruf",
        "unsubscribe",
        "cancel",
        "optout",
        "opt-out-hyphen",
        "leading-emoji",
    ],
)
def test_keyword_matches(text: str) -> None:
    assert StopKeywords().matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "bitte stornieren Sie meine Bestellung",
        "Stop sending me this",
        "stop stop",
        "Stoppuhr",
        "",
        None,
        "Wann ist der Widerruf möglich?",
    ],
    ids=["storno-sentence", "stop-sentence", "repeated", "compound", "empty", "none", "question"],
)
def test_keyword_ignores(text: str | None) -> None:
    assert not StopKeywords().matches(text)


async def _states(ledger: Ledger) -> dict[str, State]:
    return {field: state.state for field, state in (await ledger.states(BUSINESS, PHONE)).items()}


async def test_stop_withdraws_all(ledger: Ledger, make_record: RecordFactory) -> None:
    """A STOP keyword withdraws every WhatsApp purpose of the contact for this business number."""
    await opt_in(ledger, make_record)
    await opt_in(ledger, make_record, purpose="service_updates")
    withdrawals = Withdrawals(ledger)

    events = await withdrawals.on_keyword(
        business=BUSINESS,
        contact=Contact(WA_ID),
        text="Stopp!",
        wamid="wamid.stop1",
        timestamp_ms=ledger.clock.now_ms(),
    )

    assert events is not None
    assert await _states(ledger) == {
        "whatsapp:marketing": State.WITHDRAWN,
        "whatsapp:service_updates": State.WITHDRAWN,
        "whatsapp:authentication": State.WITHDRAWN,
    }


async def test_sentence_withdraws_nothing(ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)

    events = await Withdrawals(ledger).on_keyword(
        business=BUSINESS,
        contact=Contact(WA_ID),
        text="bitte stornieren Sie meine Bestellung",
        wamid="wamid.x",
        timestamp_ms=ledger.clock.now_ms(),
    )

    assert events is None
    assert (await _states(ledger))["whatsapp:marketing"] is State.ACTIVE


async def test_stop_then_send_denied(
    ledger: Ledger, make_record: RecordFactory, gate: Gate
) -> None:
    await opt_in(ledger, make_record, purpose="service_updates")
    await Withdrawals(ledger).on_keyword(
        business=BUSINESS,
        contact=Contact(WA_ID),
        text="STOP",
        wamid="wamid.s",
        timestamp_ms=ledger.clock.now_ms(),
    )

    decision = await gate.check(BUSINESS, PHONE, template_category="utility")

    assert not decision.allowed
    assert decision.reason == "consent_withdrawn"


async def test_preferences_stop_marketing(ledger: Ledger, make_record: RecordFactory) -> None:
    """Meta's `user_preferences` stop withdraws marketing only."""
    await opt_in(ledger, make_record)
    await opt_in(ledger, make_record, purpose="service_updates")
    value = {
        "user_preferences": [
            {
                "wa_id": WA_ID,
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": ledger.clock.now_ms() // 1000,
            }
        ]
    }

    await Withdrawals(ledger).on_user_preferences(
        business=BUSINESS, value=value, event_id="ev1", received_ms=1
    )

    states = await _states(ledger)
    assert states["whatsapp:marketing"] is State.WITHDRAWN
    assert states["whatsapp:service_updates"] is State.ACTIVE


async def test_preferences_resume_no_consent(ledger: Ledger, make_record: RecordFactory) -> None:
    """Meta's resume is recorded, but it is no new consent."""
    await opt_in(ledger, make_record)
    withdrawals = Withdrawals(ledger)
    now_s = ledger.clock.now_ms() // 1000
    for event_id, action in (("ev1", "stop"), ("ev2", "resume")):
        value = {
            "user_preferences": [
                {
                    "wa_id": WA_ID,
                    "category": "marketing_messages",
                    "value": action,
                    "timestamp": now_s,
                }
            ]
        }
        await withdrawals.on_user_preferences(
            business=BUSINESS, value=value, event_id=event_id, received_ms=1
        )

    _, subject = ledger.subject_of(PHONE)
    history = await ledger.history(BUSINESS, subject)
    assert (await _states(ledger))["whatsapp:marketing"] is State.WITHDRAWN
    assert history[-1]["type"] == "resumed"


async def test_131050_withdraws_marketing(ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)

    await Withdrawals(ledger).on_send_failed(
        business=BUSINESS,
        contact=Contact(WA_ID),
        wamid="wamid.out",
        error_code=131050,
        timestamp_ms=ledger.clock.now_ms(),
    )

    assert (await _states(ledger))["whatsapp:marketing"] is State.WITHDRAWN


async def test_other_failure_keeps_consent(ledger: Ledger, make_record: RecordFactory) -> None:
    await opt_in(ledger, make_record)

    await Withdrawals(ledger).on_send_failed(
        business=BUSINESS,
        contact=Contact(WA_ID),
        wamid="wamid.out",
        error_code=131049,
        timestamp_ms=ledger.clock.now_ms(),
    )

    assert (await _states(ledger))["whatsapp:marketing"] is State.ACTIVE


@pytest.mark.parametrize(
    ("message_type", "payload", "expected"),
    [
        ("button", "STOP_PROMOTIONS", True),
        ("button", "opt_out", True),
        ("button", "callback_data", False),
        ("text", "STOP", False),
    ],
    ids=["stop-promotions", "lowercase", "other-payload", "text-type"],
)
def test_optout_button_payloads(
    ledger: Ledger, message_type: str, payload: str, expected: bool
) -> None:
    assert Withdrawals(ledger).is_optout_button(message_type, payload) is expected


async def test_username_user_withdraws(ledger: Ledger, make_record: RecordFactory) -> None:
    """A username user without wa_id is found through the user id recorded with their consent."""
    await opt_in(ledger, make_record, user_id="DE.37168418373200691946")

    await Withdrawals(ledger).on_keyword(
        business=BUSINESS,
        contact=Contact(None, "DE.37168418373200691946"),
        text="STOP",
        wamid="wamid.u",
        timestamp_ms=ledger.clock.now_ms(),
    )

    assert (await _states(ledger))["whatsapp:marketing"] is State.WITHDRAWN
