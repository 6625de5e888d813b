"""Send failures by class: retries, window closing, pauses, and the events other parts receive."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from consent.model import EventType
from gateway.outbound.feature import OUTBOUND_HOOKS
from gateway.outbound.keys import OutboundKeys
from gateway.outbound.outcomes import OutboundFailureEvent
from gateway.outbound.sender import STATUS_GRACE_MS
from gateway.outbound.service import OUTBOUND
from gateway.simulator.faults import Fault, FaultKind
from sessions.keys import SessionKeys
from tests.helpers import envelope
from tests.outbound.conftest import WA_ID, Outbound, wait_for


async def start_reply(outbound: Outbound, text: str = "Hallo") -> tuple[str, str]:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    status, body = await outbound.reply(conversation_id, {"type": "text", "text": text})
    assert status == 202, body
    return conversation_id, body["message_id"]


async def calls(outbound: Outbound, count: int) -> None:
    async def reached() -> bool:
        return len([e for e in outbound.simulator.sends() if "status" in e]) >= count

    await wait_for(reached, what=f"{count} calls to the simulator")


async def allow_template(outbound: Outbound, name: str, category: str) -> None:
    """Make the dispatch-time gate pass: an approved template and confirmed consent.

    These tests are about Meta's responses; the gate itself is tested with consent.
    """
    from gateway.catalog.store import CatalogStore
    from gateway.consent_feature import CONSENT
    from tests.campaigns.harness import _record

    template = {
        "name": name,
        "language": "de",
        "status": "APPROVED",
        "category": category,
        "components": [{"type": "BODY", "text": "Hallo {{1}}"}],
    }
    app = outbound.gateway.app
    catalog = CatalogStore(outbound.redis, "wag:")

    async def synced_at_start() -> bool:
        # The gateway syncs the catalog when it starts; a later sync would overwrite ours.
        return bool(await catalog.sync_state())

    await wait_for(synced_at_start, what="the start-up template sync")
    await catalog.store_synced([template], 2, 1)
    purpose = "marketing" if category == "MARKETING" else "service_updates"
    ledger = app[CONSENT].ledger
    for event_type in (EventType.GIVEN, EventType.CONFIRMED):
        record = _record("+" + WA_ID, event_type, purpose)
        await ledger.append([replace(record, occurred_ms=outbound.clock.now_ms())])


async def window(outbound: Outbound, conversation_id: str) -> dict[str, Any]:
    _, body = await outbound.gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}/window", outbound.agent_token
    )
    result: dict[str, Any] = body["window"]
    return result


async def delayed_due_ms(outbound: Outbound) -> list[float]:
    keys = OutboundKeys(outbound.gateway.settings.redis_prefix)
    entries = await outbound.redis.zrange(keys.delayed, 0, -1, withscores=True)
    return [score for _, score in entries]


async def test_131047_in_open_window_retried_once(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=131047))

    _, message_id = await start_reply(outbound)
    message = await outbound.wait_status(message_id, "read")

    sends = outbound.simulator.sends()
    assert [entry["status"] for entry in sends] == [400, 200]
    assert message["wamid"] == sends[1]["wamid"]


async def test_131047_twice_closes_window(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=131047, times=2))

    conversation_id, message_id = await start_reply(outbound)
    message = await outbound.wait_status(message_id, "failed")
    state = await window(outbound, conversation_id)
    again, body = await outbound.reply(conversation_id, {"type": "text", "text": "Noch einmal"})

    assert message["error_code"] == 131047
    assert len(outbound.simulator.sends()) == 2
    assert not state["open"]
    assert state["closed_by_meta"]
    assert again == 409
    assert body["window_expires_at_ms"] == outbound.clock.now_ms()


async def test_131047_failed_status_resends_once(outbound: Outbound) -> None:
    """Meta's later `failed` status with 131047 inside our open window earns one resend."""
    outbound.simulator.add_fault(Fault(FaultKind.FAILED_STATUS, code=131047))

    conversation_id, message_id = await start_reply(outbound)
    failed = await outbound.wait_status(message_id, "failed")
    await calls(outbound, 2)
    retry_id = outbound.simulator.sends()[1]["json"]["biz_opaque_callback_data"]
    retry = await outbound.wait_status(retry_id, "read")

    assert failed["error_code"] == 131047
    assert retry_id != message_id
    assert retry["content"]["retry_of"] == message_id
    assert (await window(outbound, conversation_id))["open"]


async def test_131047_failed_status_twice_closes(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.FAILED_STATUS, code=131047, times=2))

    conversation_id, _ = await start_reply(outbound)
    await calls(outbound, 2)
    retry_id = outbound.simulator.sends()[1]["json"]["biz_opaque_callback_data"]
    await outbound.wait_status(retry_id, "failed")

    async def closed() -> bool:
        return not (await window(outbound, conversation_id))["open"]

    await wait_for(closed, what="window closed by Meta")
    await outbound.simulator.statuses.drain()
    assert len(outbound.simulator.sends()) == 2


async def test_130429_backoff_then_sent(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=130429, times=2))

    _, message_id = await start_reply(outbound)
    await calls(outbound, 1)
    first_due = await wait_for(lambda: delayed_due_ms(outbound), what="first retry")
    now_ms = outbound.clock.now_ms()
    outbound.clock.advance(1_000)
    await calls(outbound, 2)
    second_due = await wait_for(lambda: delayed_due_ms(outbound), what="second retry")
    outbound.clock.advance(2_000)
    message = await outbound.wait_status(message_id, "read")

    assert now_ms + 500 <= first_due[0] <= now_ms + 1_000
    assert now_ms + 1_000 + 1_000 <= second_due[0] <= now_ms + 1_000 + 2_000
    assert [entry["status"] for entry in outbound.simulator.sends()] == [400, 400, 200]
    assert message["statuses"][0]["status"] == "accepted"


@pytest.mark.parametrize(
    "fault",
    [
        Fault(FaultKind.SERVER_ERROR),
        Fault(FaultKind.TIMEOUT, delay_s=2.0),
        Fault(FaultKind.ERROR, code=131057),
    ],
    ids=["http-500", "timeout", "maintenance-131057"],
)
async def test_transient_retried(outbound: Outbound, fault: Fault) -> None:
    outbound.simulator.add_fault(fault)

    _, message_id = await start_reply(outbound)
    await wait_for(lambda: delayed_due_ms(outbound), what="retry scheduled")
    outbound.clock.advance(STATUS_GRACE_MS)  # a timeout waits for a status first
    await outbound.wait_status(message_id, "read")


@pytest.mark.parametrize("sender_overrides", [{"outbound_max_attempts": 2}], ids=["2-attempts"])
async def test_retries_bounded(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=130429, times=0))

    _, message_id = await start_reply(outbound)
    await wait_for(lambda: delayed_due_ms(outbound), what="retry scheduled")
    outbound.clock.advance(1_000)
    message = await outbound.wait_status(message_id, "failed")

    assert message["error_code"] == 130429
    assert len(outbound.simulator.sends()) == 2


@pytest.mark.parametrize("code", [131049, 130472, 100], ids=["131049", "130472", "invalid-100"])
async def test_no_retry(outbound: Outbound, code: int) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=code))

    _, message_id = await start_reply(outbound)
    message = await outbound.wait_status(message_id, "failed")

    assert message["error_code"] == code
    assert len(outbound.simulator.sends()) == 1
    assert await delayed_due_ms(outbound) == []


async def test_131026_marks_undeliverable(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=131026, recipient=WA_ID))

    conversation_id, message_id = await start_reply(outbound)
    message = await outbound.wait_status(message_id, "failed")
    key = SessionKeys(outbound.gateway.settings.redis_prefix).conversation(conversation_id)
    code = await outbound.redis.hget(key, "undeliverable_code")
    events = await outbound.redis.xrange(OutboundKeys("wag:").events)

    assert message["error_code"] == 131026
    assert code == b"131026"
    assert events[0][1][b"type"] == b"undeliverable"


async def test_131050_reported_to_hooks(outbound: Outbound) -> None:
    """A marketing stop is recorded as an event and handed to registered callbacks."""
    seen: list[OutboundFailureEvent] = []

    async def remember(event: OutboundFailureEvent) -> None:
        seen.append(event)

    outbound.gateway.app[OUTBOUND_HOOKS].on_failure.append(remember)
    await allow_template(outbound, "angebot", "MARKETING")
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=131050))
    service = outbound.gateway.app[OUTBOUND]

    message_id = await service.send_template(
        phone_number_id="156305421874268",
        to=WA_ID,
        name="angebot",
        language="de",
        reason="campaign:test",
    )
    message = await outbound.wait_status(message_id, "failed")
    events = await outbound.redis.xrange(OutboundKeys("wag:").events)

    assert message["error_code"] == 131050
    assert [event.type for event in seen] == ["marketing_stopped"]
    assert seen[0].customer_id == WA_ID
    assert events[0][1][b"type"] == b"marketing_stopped"


async def test_template_error_keeps_meta_message(outbound: Outbound) -> None:
    # Our catalog still lists it as approved; Meta has paused it since and rejects the send.
    await allow_template(outbound, "bestellung", "UTILITY")
    outbound.simulator.set_templates(
        [
            {"name": "bestellung", "language": "de", "status": "PAUSED", "category": "UTILITY"},
        ]
    )
    service = outbound.gateway.app[OUTBOUND]

    message_id = await service.send_template(
        phone_number_id="156305421874268",
        to=WA_ID,
        name="bestellung",
        language="de",
        components=[{"type": "body", "parameters": [{"type": "text", "text": "4711"}]}],
        reason="template_api",
    )
    message = await outbound.wait_status(message_id, "failed")

    sent = outbound.simulator.sends()[0]["json"]
    assert sent["template"]["components"][0]["parameters"][0]["text"] == "4711"
    assert message["error_code"] == 132015
    assert "Template is Paused" in message["statuses"][-1]["error_message"]


async def test_190_pauses_until_resumed(outbound: Outbound) -> None:
    outbound.simulator.add_fault(Fault(FaultKind.ERROR, code=190))
    admin = await outbound.gateway.token(__import__("gateway.auth").auth.Role.ADMIN, "ops")

    conversation_id, first_id = await start_reply(outbound, "eins")
    await wait_for(lambda: delayed_due_ms(outbound), what="paused send")
    _, state = await outbound.gateway.api("GET", "/api/v1/outbound/status", admin)
    _, second = await outbound.reply(conversation_id, {"type": "text", "text": "zwei"})
    await wait_for(lambda: _delayed_count(outbound, 2), what="second send held")
    outbound.clock.advance(10_000)
    await wait_for(lambda: _delayed_count(outbound, 2), what="sends still held")
    calls_while_paused = len(outbound.simulator.sends())

    status, _ = await outbound.gateway.api("POST", "/api/v1/outbound/resume", admin)
    outbound.clock.advance(10_000)
    await outbound.wait_status(first_id, "read")
    await outbound.wait_status(second["message_id"], "read")

    assert state["paused"]
    assert state["pause"]["reason"] == "access_token_expired"
    assert calls_while_paused == 1
    assert status == 200


async def _delayed_count(outbound: Outbound, count: int) -> bool:
    return len(await delayed_due_ms(outbound)) == count


async def test_timeout_then_status_not_resent(outbound: Outbound) -> None:
    """A call that timed out but reached Meta is recognised by its status webhook."""
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    outbound.simulator.add_fault(Fault(FaultKind.TIMEOUT, delay_s=2.0))

    _, body = await outbound.reply(conversation_id, {"type": "text", "text": "Hallo"})
    await wait_for(lambda: delayed_due_ms(outbound), what="retry after the timeout")
    # Meta accepted the first call after all: its status names our message id.
    wamid = "wamid.accepted-despite-timeout"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": "156305421874268"},
        "statuses": [
            {
                "id": wamid,
                "status": "delivered",
                "timestamp": "1750000000",
                "recipient_id": WA_ID,
                "biz_opaque_callback_data": body["message_id"],
            }
        ],
    }
    assert (await outbound.gateway.post_webhook(envelope(value))).status == 200
    message = await outbound.wait_status(body["message_id"], "delivered")
    outbound.clock.advance(STATUS_GRACE_MS)
    await wait_for(lambda: _delayed_count(outbound, 0), what="retry dropped")

    assert message["wamid"] == wamid
    assert len(outbound.simulator.sends()) == 1


async def test_template_send_creates_conversation(outbound: Outbound) -> None:
    """A business-started template opens a conversation that the read API finds."""
    from sessions.conversations import conversation_id_for

    await allow_template(outbound, "angebot", "MARKETING")
    service = outbound.gateway.app[OUTBOUND]
    await service.send_template(
        phone_number_id="156305421874268", to="4915100000077", name="angebot",
        language="de", reason="template_api",
    )
    admin = await outbound.gateway.token(__import__("gateway.auth").auth.Role.ADMIN, "ops")
    conversation_id = conversation_id_for("156305421874268", "4915100000077")
    status, body = await outbound.gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", admin
    )
    assert status == 200
    assert body["items"][0]["direction"] == "out"
