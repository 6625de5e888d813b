"""Bad replies get a clear 4xx problem+json and send nothing."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from gateway.auth import Role
from gateway.outbound.keys import OutboundKeys
from sessions.keys import SessionKeys
from tests.outbound.conftest import Outbound


async def assert_nothing_sent(outbound: Outbound, conversation_id: str) -> None:
    keys = OutboundKeys(outbound.gateway.settings.redis_prefix)
    history = SessionKeys(outbound.gateway.settings.redis_prefix).history(conversation_id)
    assert await outbound.redis.xlen(keys.stream) == 0
    assert await outbound.redis.zcard(history) <= 1  # only the customer's message
    assert outbound.simulator.sends() == []


@pytest.fixture
async def held(outbound: Outbound) -> str:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id)
    return conversation_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "text", "text": ""}, "text"),
        ({"type": "text", "text": "   \n"}, "text"),
        ({"type": "text", "text": "x" * 4097}, "text"),
        ({"type": "text"}, "text"),
        ({"type": "sms", "text": "hi"}, "type"),
        ({"type": "text", "text": "hi", "reply_to": "not-a-wamid"}, "reply_to"),
        (
            {
                "type": "buttons",
                "text": "?",
                "buttons": [{"id": str(i), "title": "t"} for i in range(4)],
            },
            "buttons",
        ),
        (
            {"type": "buttons", "text": "?", "buttons": [{"id": "a", "title": "x" * 21}]},
            "buttons.0.title",
        ),
        (
            {
                "type": "list",
                "text": "?",
                "button": "b",
                "sections": [{"rows": [{"id": str(i), "title": "t"} for i in range(11)]}],
            },
            "sections.0.rows",
        ),
        ({"type": "image", "image": {"link": "ftp://example.com/a.png"}}, "image.link"),
        ({"type": "audio", "audio": {"link": "https://example.com/a.ogg", "caption": "c"}}, ""),
    ],
    ids=[
        "empty",
        "blank",
        "4097-chars",
        "missing-text",
        "unknown-type",
        "bad-reply-to",
        "4-buttons",
        "long-button-title",
        "11-rows",
        "ftp-link",
        "audio-caption",
    ],
)
async def test_invalid_reply_422(
    outbound: Outbound, held: str, body: dict[str, Any], field: str
) -> None:
    status, problem = await outbound.reply(held, body)

    assert status == 422, problem
    assert problem["status"] == 422
    assert problem["errors"][0]["field"].startswith(field)
    await assert_nothing_sent(outbound, held)


async def test_4096_chars_accepted(outbound: Outbound, held: str) -> None:
    status, _ = await outbound.reply(held, {"type": "text", "text": "x" * 4096})
    assert status == 202


async def test_unknown_conversation_404(outbound: Outbound) -> None:
    status, problem = await outbound.reply("c_unknown", {"type": "text", "text": "Hallo"})
    assert status == 404
    assert "c_unknown" in problem["detail"]
    assert outbound.simulator.sends() == []


async def test_not_holder_403(outbound: Outbound) -> None:
    conversation_id = await outbound.customer_writes()
    await outbound.assign(conversation_id, agent_id="a-other")

    status, problem = await outbound.reply(conversation_id, {"type": "text", "text": "Hallo"})

    assert status == 403
    assert problem["type"].endswith("/not-conversation-holder")
    await assert_nothing_sent(outbound, conversation_id)


async def test_queued_conversation_403(outbound: Outbound) -> None:
    """A conversation still waiting in the queue belongs to no agent yet."""
    conversation_id = await outbound.customer_writes()
    status, _ = await outbound.reply(conversation_id, {"type": "text", "text": "Hallo"})
    assert status == 403
    await assert_nothing_sent(outbound, conversation_id)


async def test_supervisor_role_403(outbound: Outbound, held: str) -> None:
    token = await outbound.gateway.token(Role.SUPERVISOR, "chefin")
    status, problem = await outbound.reply(held, {"type": "text", "text": "Hallo"}, token=token)
    assert status == 403
    assert "supervisor" in problem["detail"]
    await assert_nothing_sent(outbound, held)


async def test_invalid_json_400(outbound: Outbound, held: str) -> None:
    status, problem = await outbound.reply(held, data=b"{not json")
    assert status == 400
    assert problem["type"].endswith("/invalid-json")
    await assert_nothing_sent(outbound, held)


def upload_form(message: str, content: bytes, content_type: str, filename: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("message", message, content_type="application/json")
    form.add_field("file", content, filename=filename, content_type=content_type)
    return form


@pytest.mark.parametrize(
    ("message", "content", "content_type", "status"),
    [
        ('{"type": "image"}', b"GIF89a", "image/gif", 415),
        ('{"type": "image"}', b"%PDF-1.4", "application/pdf", 415),
        ('{"type": "image"}', b"\x89PNG" + b"0" * (5 * 1024 * 1024), "image/png", 413),
        ('{"type": "image"}', b"", "image/png", 422),
        (
            '{"type": "image", "image": {"link": "https://example.com/a.png"}}',
            b"\x89PNG",
            "image/png",
            422,
        ),
    ],
    ids=["gif-as-image", "pdf-as-image", "image-over-5mb", "empty-file", "link-and-file"],
)
async def test_bad_upload(
    outbound: Outbound, held: str, message: str, content: bytes, content_type: str, status: int
) -> None:
    form = upload_form(message, content, content_type, "file.bin")

    answer, problem = await outbound.reply(held, data=form)

    assert answer == status, problem
    assert problem["detail"]
    await assert_nothing_sent(outbound, held)


@pytest.mark.parametrize("sender_overrides", [{"outbound_max_upload_bytes": 2048}], ids=["2kb"])
async def test_upload_over_limit_413(outbound: Outbound, held: str) -> None:
    form = upload_form('{"type": "document"}', b"x" * 4096, "application/pdf", "a.pdf")

    status, problem = await outbound.reply(held, data=form)

    assert status == 413
    assert problem["max_bytes"] == 2048
    await assert_nothing_sent(outbound, held)


async def test_media_without_source_422(outbound: Outbound, held: str) -> None:
    status, problem = await outbound.reply(held, {"type": "video", "video": {"caption": "x"}})
    assert status == 422
    assert "exactly one source" in problem["detail"]
    await assert_nothing_sent(outbound, held)
