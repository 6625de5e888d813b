"""Signed webhooks drive the consent hooks: codes confirm, STOP and Meta's opt-outs withdraw."""

from __future__ import annotations

from typing import Any

from common.clock import ManualClock
from consent.model import State
from gateway.consent_feature import CONSENT
from gateway.settings import Settings
from tests.consent.gateway_helpers import BUSINESS, BUSINESS_NAME, DISPLAY, consent_gateway
from tests.helpers import Gateway, envelope, status_value, text_value

PHONE = "+4915112345678"
WA_ID = "4915112345678"
OTHER_WA_ID = "4917612345678"


async def _state(gateway: Gateway, purpose: str = "marketing") -> State:
    states = await gateway.app[CONSENT].ledger.states(BUSINESS, PHONE)
    return states[f"whatsapp:{purpose}"].state if f"whatsapp:{purpose}" in states else State.NONE


async def _pending(gateway: Gateway) -> Any:
    services = gateway.app[CONSENT]
    return await services.optins.record_submission(
        business=BUSINESS,
        business_display_number=DISPLAY,
        business_name=BUSINESS_NAME,
        phone=PHONE,
        shown=await services.texts.current_for("de"),
        ticked={"marketing", "service_updates"},
        language="de",
    )


async def _send_text(gateway: Gateway, wamid: str, body: str, wa_id: str = WA_ID) -> None:
    timestamp_s = gateway.clock.now_ms() // 1000
    response = await gateway.post_webhook(
        envelope(text_value(wamid, body, wa_id=wa_id, timestamp_s=timestamp_s))
    )
    assert response.status == 200
    await gateway.drain()


async def test_code_confirms(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)

        await _send_text(gateway, "wamid.code1", outcome.prefill)

        assert await _state(gateway) is State.ACTIVE
        assert await _state(gateway, "service_updates") is State.ACTIVE


async def test_code_other_number(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)

        await _send_text(gateway, "wamid.code2", outcome.prefill, wa_id=OTHER_WA_ID)

        assert await _state(gateway) is State.PENDING_CONFIRMATION


async def test_confirmation_reply_once(settings: Settings, clock: ManualClock) -> None:
    """The gateway replies inside the window that the code message opened, once per message."""
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.code3", outcome.prefill)
        await gateway.app[CONSENT].optins.confirm(
            business=BUSINESS,
            wa_id=WA_ID,
            user_id=None,
            text=outcome.prefill,
            wamid="wamid.code3",
            timestamp_ms=clock.now_ms(),
        )

        marker = gateway.app[CONSENT].ledger.keys.reply_sent(BUSINESS, "wamid.code3")
        assert await gateway.app_redis.get(marker) == b"1"


async def test_stop_withdraws(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.c", outcome.prefill)

        await _send_text(gateway, "wamid.stop", "Stopp!")

        assert await _state(gateway) is State.WITHDRAWN
        assert await _state(gateway, "service_updates") is State.WITHDRAWN
        assert not (
            await gateway.app[CONSENT].gate.check(BUSINESS, PHONE, purpose="marketing")
        ).allowed


async def test_storno_sentence_keeps(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.c", outcome.prefill)

        await _send_text(gateway, "wamid.storno", "bitte stornieren Sie meine Bestellung")

        assert await _state(gateway) is State.ACTIVE


async def test_user_preferences_stop(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.c", outcome.prefill)
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "4930123456789", "phone_number_id": BUSINESS},
            "contacts": [{"wa_id": WA_ID}],
            "user_preferences": [
                {
                    "wa_id": WA_ID,
                    "detail": "User requested to stop marketing messages",
                    "category": "marketing_messages",
                    "value": "stop",
                    "timestamp": clock.now_ms() // 1000,
                }
            ],
        }

        response = await gateway.post_webhook(envelope(value, field="user_preferences"))
        await gateway.drain()

        assert response.status == 200
        assert await _state(gateway) is State.WITHDRAWN
        assert await _state(gateway, "service_updates") is State.ACTIVE


async def test_status_131050_withdraws(settings: Settings, clock: ManualClock) -> None:
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.c", outcome.prefill)
        failed = status_value(
            "wamid.out1",
            "failed",
            clock.now_ms() // 1000,
            errors=[
                {
                    "code": 131050,
                    "title": "Unable to deliver the message. This recipient has chosen to stop "
                    "receiving marketing messages on WhatsApp from your business.",
                }
            ],
        )

        await gateway.post_webhook(envelope(failed))
        await gateway.drain()

        assert await _state(gateway) is State.WITHDRAWN


async def _outbound_texts(gateway: Gateway) -> list[str]:
    from sessions.conversations import conversation_id_for
    from sessions.messages import MessageStore

    store = MessageStore(gateway.app_redis, gateway.settings.redis_prefix, gateway.clock)
    history = await store.history(conversation_id_for(BUSINESS, WA_ID))
    return [str(item.get("text")) for item in history if item.get("direction") == "out"]


async def test_stop_reply_queued_once(settings: Settings, clock: ManualClock) -> None:
    """A STOP gets one reply inside the window, in German, telling how to opt in again."""
    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.c", outcome.prefill)

        await _send_text(gateway, "wamid.stop", "STOP")
        await _send_text(gateway, "wamid.stop", "STOP")

        # Both replies carry the same manual clock time, so the history order between them is open.
        replies = sorted(await _outbound_texts(gateway))
        assert len(replies) == 2
        assert replies[0].startswith("Danke! Ihre Einwilligung ist bestätigt")
        assert replies[1].startswith("Sie sind abgemeldet")
        assert "Anmeldeformular" in replies[1]


async def test_send_rejected_131050_withdraws(settings: Settings, clock: ManualClock) -> None:
    """A 131050 in the Graph API's response to a send withdraws marketing via outbound hooks."""
    from gateway.inbound_consent import ConsentReactions
    from gateway.outbound.feature import OUTBOUND_HOOKS
    from gateway.outbound.outcomes import OutboundFailureEvent

    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.c", outcome.prefill)
        [callback] = [
            hook
            for hook in gateway.app[OUTBOUND_HOOKS].on_failure
            if isinstance(getattr(hook, "__self__", None), ConsentReactions)
        ]
        failure = OutboundFailureEvent(
            type="marketing_stopped",
            message_id="m_1",
            conversation_id="c",
            phone_number_id=BUSINESS,
            customer_id=WA_ID,
            code=131050,
            message="user stopped marketing",
            at_ms=clock.now_ms(),
            source="send",
        )

        await callback(failure)
        await callback(failure)

        assert await _state(gateway) is State.WITHDRAWN
        assert await _state(gateway, "service_updates") is State.ACTIVE


async def test_proof_shows_message(settings: Settings, clock: ManualClock) -> None:
    """The proof quotes the customer's confirming message next to its wamid."""
    from gateway.auth import Role

    async with consent_gateway(settings, clock) as gateway:
        outcome = await _pending(gateway)
        await _send_text(gateway, "wamid.code9", outcome.prefill)
        admin = await gateway.token(Role.ADMIN)

        async with gateway.http.get(
            f"{gateway.base_url}/api/v1/consents/{PHONE}/proof",
            headers={"Authorization": f"Bearer {admin}"},
        ) as response:
            html = await response.text()

        assert "wamid.code9" in html
        assert outcome.code in html
