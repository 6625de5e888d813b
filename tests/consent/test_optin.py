"""Double opt-in: the form records given or refused; the same number's code confirms."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from consent.ledger import Ledger
from consent.model import State
from consent.optin import OptIns, find_code
from consent.texts import TextStore, default_texts
from tests.consent.conftest import BUSINESS, OTHER_PHONE, PHONE, PREFIX

DISPLAY = "+49 30 123456789"


@pytest.fixture
async def optins(ledger: Ledger) -> OptIns:
    return OptIns(ledger)


@pytest.fixture
async def texts(redis: Redis, clock: ManualClock) -> TextStore:
    store = TextStore(redis, PREFIX, clock)
    await store.load(default_texts(), business_name="Beispiel GmbH")
    return store


async def _submit(optins: OptIns, texts: TextStore, ticked: set[str]) -> object:
    return await optins.record_submission(
        business=BUSINESS,
        business_display_number=DISPLAY,
        business_name="Beispiel GmbH",
        phone=PHONE,
        shown=await texts.current_for("de"),
        ticked=ticked,
        language="de",
        ip="203.0.113.7",
        user_agent="test",
    )


async def _state(ledger: Ledger, purpose: str = "marketing") -> State:
    return (await ledger.states(BUSINESS, PHONE))[f"whatsapp:{purpose}"].state


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ich möchte WhatsApp-Nachrichten erhalten. Code: ABCD-EF23", "ABCD-EF23"),
        ("abcd-ef23", "ABCD-EF23"),
        ("ABCDEF23", "ABCD-EF23"),
        ("no code here", None),
        ("XABCD-EF23", None),
        ("WHATSAPP", None),
    ],
    ids=["prefilled", "lowercase", "no-hyphen", "none", "embedded", "word-without-digit"],
)
def test_find_code(text: str, code: str | None) -> None:
    assert find_code(text) == code


async def test_untick_stores_refusal(optins: OptIns, texts: TextStore, ledger: Ledger) -> None:
    outcome = await _submit(optins, texts, set())

    assert outcome.code is None  # type: ignore[attr-defined]
    assert await _state(ledger) is State.REFUSED


async def test_tick_stores_pending(optins: OptIns, texts: TextStore, ledger: Ledger) -> None:
    outcome = await _submit(optins, texts, {"marketing"})

    assert outcome.link.startswith("https://wa.me/4930123456789?text=")  # type: ignore[attr-defined]
    assert await _state(ledger) is State.PENDING_CONFIRMATION
    assert await _state(ledger, "service_updates") is State.REFUSED


async def test_code_from_same_number(optins: OptIns, texts: TextStore, ledger: Ledger) -> None:
    outcome = await _submit(optins, texts, {"marketing"})

    result = await optins.confirm(
        business=BUSINESS,
        wa_id=PHONE.lstrip("+"),
        user_id=None,
        text=outcome.prefill,
        wamid="wamid.c1",
        timestamp_ms=ledger.clock.now_ms(),
    )  # type: ignore[attr-defined]

    assert result is not None
    assert result.status == "confirmed"
    assert result.events[0].event["evidence"] == "wamid.c1"
    assert await _state(ledger) is State.ACTIVE


async def test_code_from_other_number(optins: OptIns, texts: TextStore, ledger: Ledger) -> None:
    outcome = await _submit(optins, texts, {"marketing"})

    result = await optins.confirm(
        business=BUSINESS,
        wa_id=OTHER_PHONE.lstrip("+"),
        user_id=None,
        text=outcome.prefill,
        wamid="wamid.c2",
        timestamp_ms=ledger.clock.now_ms(),
    )  # type: ignore[attr-defined]

    assert result is not None
    assert result.status == "wrong_number"
    assert await _state(ledger) is State.PENDING_CONFIRMATION


async def test_late_code_expires(
    optins: OptIns, texts: TextStore, ledger: Ledger, clock: ManualClock
) -> None:
    outcome = await _submit(optins, texts, {"marketing"})
    clock.advance(25 * 3600 * 1000)

    result = await optins.confirm(
        business=BUSINESS,
        wa_id=PHONE.lstrip("+"),
        user_id=None,
        text=outcome.prefill,
        wamid="wamid.c3",
        timestamp_ms=clock.now_ms(),
    )  # type: ignore[attr-defined]

    assert result is not None
    assert result.status == "expired"
    assert await _state(ledger) is State.EXPIRED


async def test_sweep_expires_pending(
    optins: OptIns, texts: TextStore, ledger: Ledger, clock: ManualClock
) -> None:
    await _submit(optins, texts, {"marketing"})
    clock.advance(24 * 3600 * 1000 + 1)

    assert await optins.expire_due(BUSINESS) == 1
    assert await _state(ledger) is State.EXPIRED


async def test_redelivered_code_once(optins: OptIns, texts: TextStore, ledger: Ledger) -> None:
    outcome = await _submit(optins, texts, {"marketing"})
    kwargs = {
        "business": BUSINESS,
        "wa_id": PHONE.lstrip("+"),
        "user_id": None,
        "text": outcome.prefill,  # type: ignore[attr-defined]
        "wamid": "wamid.c4",
        "timestamp_ms": ledger.clock.now_ms(),
    }

    first = await optins.confirm(**kwargs)  # type: ignore[arg-type]
    second = await optins.confirm(**kwargs)  # type: ignore[arg-type]

    assert first is not None and second is not None
    assert first.status == "confirmed"
    assert second.status == "nothing_pending"
