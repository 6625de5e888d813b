"""Agent replies: window check, the call to the simulator, and the statuses that come back."""

from __future__ import annotations

from tests.outbound.conftest import WA_ID, Outbound, wait_for

HOUR_MS = 3_600_000


async def test_reply_inside_window_is_read(outbound: Outbound) -> None:
    """The reply reaches the simulator as Meta's JSON and ends as `read`."""
    conversation_id = await outbound.customer_writes("Wo ist mein Paket?")
    await outbound.assign(conversation_id)

    status, body = await outbound.reply(
        conversation_id, {"type": "text", "text": "Schon unterwegs!"}
    )
    assert status == 202, body
    message_id = body["message_id"]
    message = await outbound.wait_status(message_id, "read")

    sends = outbound.simulator.sends()
    assert len(sends) == 1
    assert sends[0]["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"body": "Schon unterwegs!", "preview_url": False},
        "biz_opaque_callback_data": message_id,
    }
    assert sends[0]["path"].endswith("/156305421874268/messages")
    assert message["direction"] == "out"
    assert message["wamid"] == sends[0]["wamid"]
    assert message["statuses"][0]["status"] == "accepted"
    assert {"sent", "delivered", "read"} <= {s["status"] for s in message["statuses"]}


async def test_reply_appears_accepted(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    outbound.simulator.statuses.plan.sent_delay_ms = 60_000  # keep the status at accepted

    _, body = await outbound.reply(conversation_id, {"type": "text", "text": "Moment bitte"})
    message = await outbound.message(body["message_id"])

    assert message is not None
    assert message["direction"] == "out"
    assert message["text"] == "Moment bitte"
    assert message["statuses"][0]["status"] == "accepted"


async def test_three_days_late_gets_409(outbound: Outbound) -> None:
    """A message Meta stamped three days ago opens no window, whenever it arrives."""
    conversation_id = await outbound.customer_writes(age_ms=72 * HOUR_MS)
    await outbound.assign(conversation_id)

    status, body = await outbound.reply(conversation_id, {"type": "text", "text": "Hallo?"})

    assert status == 409
    assert body["type"].endswith("/window-closed")
    assert (
        body["window_expires_at_ms"]
        == (outbound.clock.now_ms() - 72 * HOUR_MS) // 1000 * 1000 + 24 * HOUR_MS
    )
    assert outbound.simulator.sends() == []


async def test_late_delivery_keeps_window(outbound: Outbound) -> None:
    """An older message delivered after a newer one does not shorten the window."""
    conversation_id = await outbound.customer_writes("neu", age_ms=0)
    await outbound.customer_writes("alt", age_ms=20 * HOUR_MS)

    status, body = await outbound.gateway.api(
        "GET", f"/api/v1/conversations/{conversation_id}/window", outbound.agent_token
    )

    assert status == 200
    assert body["window"]["open"]
    assert body["window"]["expires_at_ms"] == outbound.clock.now_ms() // 1000 * 1000 + 24 * HOUR_MS


async def test_window_closes_after_24h(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    outbound.clock.advance(24 * HOUR_MS + 1_000)

    status, _ = await outbound.reply(conversation_id, {"type": "text", "text": "Noch da?"})

    assert status == 409
    assert outbound.simulator.sends() == []


async def test_interactive_buttons_json(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    reply = {
        "type": "buttons",
        "text": "Passt der Termin?",
        "footer": "Ihr Service-Team",
        "buttons": [{"id": "yes", "title": "Ja"}, {"id": "no", "title": "Nein"}],
    }

    status, body = await outbound.reply(conversation_id, reply)
    assert status == 202, body
    await wait_for(lambda: _sent(outbound), what="send")

    sent = outbound.simulator.sends()[0]["json"]
    assert sent["type"] == "interactive"
    assert sent["interactive"]["type"] == "button"
    assert sent["interactive"]["body"] == {"text": "Passt der Termin?"}
    assert [b["reply"] for b in sent["interactive"]["action"]["buttons"]] == [
        {"id": "yes", "title": "Ja"},
        {"id": "no", "title": "Nein"},
    ]


async def test_list_with_reply_to(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes(wamid="wamid.customer1")
    await outbound.assign(conversation_id)
    reply = {
        "type": "list",
        "text": "Wählen Sie",
        "button": "Optionen",
        "reply_to": "wamid.customer1",
        "sections": [
            {
                "title": "Lieferung",
                "rows": [
                    {"id": "r1", "title": "Status", "description": "Wo ist mein Paket?"},
                    {"id": "r2", "title": "Rücksendung"},
                ],
            }
        ],
    }

    status, body = await outbound.reply(conversation_id, reply)
    assert status == 202, body
    await wait_for(lambda: _sent(outbound), what="send")

    sent = outbound.simulator.sends()[0]["json"]
    assert sent["context"] == {"message_id": "wamid.customer1"}
    action = sent["interactive"]["action"]
    assert action["button"] == "Optionen"
    assert [row["id"] for row in action["sections"][0]["rows"]] == ["r1", "r2"]


async def test_image_by_link(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    reply = {
        "type": "image",
        "image": {"link": "https://example.com/a.png", "caption": "Ihr Beleg"},
    }

    status, body = await outbound.reply(conversation_id, reply)
    assert status == 202, body
    await wait_for(lambda: _sent(outbound), what="send")

    sent = outbound.simulator.sends()[0]["json"]
    assert sent["image"] == {"link": "https://example.com/a.png", "caption": "Ihr Beleg"}


async def test_document_by_upload(outbound: Outbound) -> None:
    """An uploaded file goes to Meta's media route first, then the send uses its id."""
    import aiohttp

    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    form = aiohttp.FormData()
    form.add_field(
        "message",
        '{"type": "document", "document": {"caption": "Rechnung", "filename": "rechnung.pdf"}}',
        content_type="application/json",
    )
    form.add_field(
        "file", b"%PDF-1.4 test", filename="rechnung.pdf", content_type="application/pdf"
    )

    status, body = await outbound.reply(conversation_id, data=form)
    assert status == 202, body
    await wait_for(lambda: _sent(outbound), what="send")

    uploads = [entry for entry in outbound.simulator.requests if entry["route"] == "media"]
    sent = outbound.simulator.sends()[0]["json"]
    assert len(uploads) == 1
    assert uploads[0]["json"]["type"] == "application/pdf"
    assert sent["document"]["id"] == uploads[0]["media_id"]
    assert sent["document"]["caption"] == "Rechnung"


async def _sent(outbound: Outbound) -> bool:
    return any(entry.get("status") == 200 for entry in outbound.simulator.sends())


async def test_document_upload_without_filename(outbound: Outbound) -> None:
    """A document uploaded with only a type is sent under the uploaded file's name."""
    import aiohttp

    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    form = aiohttp.FormData()
    form.add_field("message", '{"type": "document"}', content_type="application/json")
    form.add_field("file", b"%PDF-1.4 test", filename="angebot.pdf", content_type="application/pdf")

    status, body = await outbound.reply(conversation_id, data=form)
    assert status == 202, body
    await wait_for(lambda: _sent(outbound), what="send")

    sent = outbound.simulator.sends()[0]["json"]
    assert sent["document"]["filename"] == "angebot.pdf"
