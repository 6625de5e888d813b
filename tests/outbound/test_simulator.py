"""The Graph API simulator: Meta's bodies, faults, templates paging, signed status webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from pywa.errors import MessageUndeliverable, RateLimitHit

from gateway.outbound.graph import build_whatsapp
from gateway.settings import Settings
from gateway.simulator.faults import Fault, FaultKind
from gateway.simulator.server import GraphSimulator
from gateway.simulator.status_webhooks import StatusPlan

SECRET = "simulator-test-secret"


class Receiver:
    """A webhook endpoint that records bodies and checks their signature."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.bad_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        self.bodies.append(orjson.loads(raw))
        return web.Response()

    def statuses(self) -> list[dict[str, Any]]:
        return [body["entry"][0]["changes"][0]["value"]["statuses"][0] for body in self.bodies]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/whatsapp", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield receiver, f"http://127.0.0.1:{port}/webhooks/whatsapp"
    await runner.cleanup()


@pytest.fixture
async def simulator(receiver: tuple[Receiver, str]) -> AsyncIterator[GraphSimulator]:
    plan = StatusPlan(sent_delay_ms=1, delivered_delay_ms=2, read_delay_ms=3, seed=7)
    simulator = GraphSimulator(webhook_url=receiver[1], app_secret=SECRET, plan=plan)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def whatsapp(simulator: GraphSimulator, settings: Settings) -> AsyncIterator[Any]:
    client, session = build_whatsapp(
        settings.model_copy(update={"phone_number_id": "111"}), simulator.url
    )
    yield client
    await session.aclose()


async def test_statuses_signed_and_tracked(
    whatsapp: Any, simulator: GraphSimulator, receiver: tuple[Receiver, str]
) -> None:
    sent = await whatsapp.send_message(to="4915112345678", text="Hallo", tracker="m_1")
    await simulator.statuses.drain()

    statuses = receiver[0].statuses()
    assert receiver[0].bad_signatures == 0
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {sent.id}
    assert {s["biz_opaque_callback_data"] for s in statuses} == {"m_1"}
    assert statuses[0]["pricing"]["category"] == "service"


async def test_recipient_user_id(
    whatsapp: Any, simulator: GraphSimulator, receiver: tuple[Receiver, str]
) -> None:
    """A send to a business-scoped user id uses `recipient`, and so do its statuses."""
    await whatsapp.send_message(to="DE.37168418373200691946", text="Hallo")
    await simulator.statuses.drain()

    assert simulator.sends()[0]["json"]["recipient"] == "DE.37168418373200691946"
    status = receiver[0].statuses()[0]
    assert status["recipient_id"] == ""
    assert status["recipient_user_id"] == "DE.37168418373200691946"


async def test_fault_per_recipient(whatsapp: Any, simulator: GraphSimulator) -> None:
    simulator.add_fault(Fault(FaultKind.ERROR, code=131026, recipient="4915100000001", times=0))

    with pytest.raises(MessageUndeliverable):
        await whatsapp.send_message(to="4915100000001", text="a")
    await whatsapp.send_message(to="4915100000002", text="b")
    with pytest.raises(MessageUndeliverable):
        await whatsapp.send_message(to="4915100000001", text="c")

    assert [entry["status"] for entry in simulator.sends()] == [400, 200, 400]


async def test_fault_per_call_used_up(whatsapp: Any, simulator: GraphSimulator) -> None:
    simulator.add_fault(Fault(FaultKind.ERROR, code=130429, times=2))

    for _ in range(2):
        with pytest.raises(RateLimitHit):
            await whatsapp.send_message(to="4915100000001", text="a")
    await whatsapp.send_message(to="4915100000001", text="a")

    assert simulator.faults.list() == []


async def test_failed_status_after_200(
    whatsapp: Any, simulator: GraphSimulator, receiver: tuple[Receiver, str]
) -> None:
    simulator.add_fault(Fault(FaultKind.FAILED_STATUS, code=131047))

    await whatsapp.send_message(to="4915100000001", text="a")
    await simulator.statuses.drain()

    status = receiver[0].statuses()[0]
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131047


async def test_duplicates_and_reorder(
    whatsapp: Any, simulator: GraphSimulator, receiver: tuple[Receiver, str]
) -> None:
    simulator.statuses.set_plan(
        StatusPlan(
            sent_delay_ms=1,
            delivered_delay_ms=20,
            read_delay_ms=40,
            duplicate_rate=1.0,
            reorder=True,
            seed=3,
        )
    )

    await whatsapp.send_message(to="4915100000001", text="a")
    await simulator.statuses.drain()

    names = [s["status"] for s in receiver[0].statuses()]
    assert sorted(names) == ["delivered", "delivered", "read", "read", "sent", "sent"]


async def test_invalid_text_meta_error(simulator: GraphSimulator) -> None:
    import aiohttp

    body = {
        "messaging_product": "whatsapp",
        "to": "49151",
        "type": "text",
        "text": {"body": "x" * 4097},
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{simulator.url}/v23.0/111/messages", json=body, headers={"Authorization": "Bearer t"}
        ) as response,
    ):
        error = (await response.json())["error"]

    assert response.status == 400
    assert error["code"] == 100
    assert "4096" in error["error_data"]["details"]


async def test_missing_token_190(simulator: GraphSimulator) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{simulator.url}/v23.0/111/messages", json={}) as response,
    ):
        error = (await response.json())["error"]

    assert response.status == 401
    assert error["code"] == 190


async def test_upload_unsupported_type(whatsapp: Any, simulator: GraphSimulator) -> None:
    from pywa.errors import MediaUploadError

    with pytest.raises(MediaUploadError):
        await whatsapp.upload_media(media=b"GIF89a", mime_type="image/gif", filename="a.gif")


async def test_templates_paging(simulator: GraphSimulator) -> None:
    """All pages of the template list come back, in order, through `paging.next`."""
    import aiohttp

    simulator.set_templates(
        [
            {"name": f"t{i:03}", "language": "de", "status": "APPROVED", "category": "UTILITY"}
            for i in range(57)
        ]
    )
    names: list[str] = []
    url: str | None = f"{simulator.url}/v23.0/waba1/message_templates?limit=25"
    pages = 0
    async with aiohttp.ClientSession() as http:
        while url:
            async with http.get(url, headers={"Authorization": "Bearer t"}) as response:
                page = await response.json()
            names.extend(t["name"] for t in page["data"])
            url = page.get("paging", {}).get("next")
            pages += 1

    assert pages == 3
    assert names == [f"t{i:03}" for i in range(57)]


async def test_templates_filter_by_status(simulator: GraphSimulator) -> None:
    import aiohttp

    simulator.set_templates(
        [
            {"name": "a", "language": "de", "status": "APPROVED"},
            {"name": "b", "language": "de", "status": "PAUSED"},
        ]
    )
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{simulator.url}/v23.0/waba1/message_templates?status=PAUSED",
            headers={"Authorization": "Bearer t"},
        ) as response,
    ):
        page = await response.json()

    assert [t["name"] for t in page["data"]] == ["b"]


async def test_control_routes(simulator: GraphSimulator, whatsapp: Any) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{simulator.url}/_simulator/faults", json={"kind": "error", "code": 131056}
        ) as response:
            assert response.status == 201
        with pytest.raises(Exception, match="131056"):
            await whatsapp.send_message(to="4915100000001", text="a")
        async with http.get(f"{simulator.url}/_simulator/requests") as response:
            log = (await response.json())["items"]
        async with http.delete(f"{simulator.url}/_simulator/requests") as response:
            assert response.status == 204

    assert log[0]["error_code"] == 131056
    assert simulator.requests == []


async def test_webhook_retried_until_accepted(simulator: GraphSimulator, whatsapp: Any) -> None:
    """Like Meta, the simulator posts a status again when the gateway does not answer 200."""
    attempts: list[int] = []

    async def flaky(request: web.Request) -> web.Response:
        attempts.append(1)
        return web.Response(status=503 if len(attempts) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    simulator.statuses.webhook_url = f"http://127.0.0.1:{port}/hook"
    simulator.statuses.plan.send_read = False
    simulator.statuses.plan.delivered_delay_ms = 500

    await whatsapp.send_message(to="4915100000001", text="a")
    await asyncio.sleep(0)
    await simulator.statuses.drain()
    await runner.cleanup()

    assert len(attempts) == 3  # sent twice (one 503), delivered once
