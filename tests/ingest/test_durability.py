"""Nothing acknowledged is lost: Redis outages, a killed gateway, a killed worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pytest

from gateway.embedded_redis import EmbeddedRedis
from gateway.inbound.worker import GROUP, InboundWorker
from sessions.conversations import conversation_id_for
from tests.helpers import TEST_SECRET, envelope, running_gateway, signed_headers, text_value

BIZ = "156305421874268"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis():
    """A server of this test's own, which the test may stop and start."""
    with tempfile.TemporaryDirectory(prefix="wagd-", dir="/tmp") as data_dir:
        server = EmbeddedRedis(Path(data_dir))
        server.start()
        yield server
        server.stop()


async def test_redis_down_is_503_within_a_second(settings, clock, private_redis):
    live = settings.model_copy(update={"redis_url": private_redis.url})
    async with running_gateway(live, clock) as gateway:
        assert (
            await gateway.post_webhook(envelope(text_value("wamid.R1", "vorher")))
        ).status == 200

        private_redis.stop()
        started = time.monotonic()
        response = await gateway.post_webhook(envelope(text_value("wamid.R2", "während")))
        elapsed_s = time.monotonic() - started
        assert response.status == 503
        assert response.content_type == "application/problem+json"
        assert elapsed_s < 1.0

        private_redis.start()
        assert (
            await gateway.post_webhook(
                envelope(text_value("wamid.R3", "nachher", timestamp_s=1_750_000_100))
            )
        ).status == 200
        await gateway.drain()
        conversation_id = conversation_id_for(BIZ, "4915112345678")
        history = await gateway.app_redis_zrange(f"wag:conv:{{{conversation_id}}}:history")
        # R1 was accepted before the outage and survived the restart (append-only file).
        assert history == [b"wamid.R1", b"wamid.R3"]


def _serve(data_dir: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WAG_DATA_DIR": str(data_dir),
        "WAG_PORT": str(port),
        "WAG_APP_SECRET": TEST_SECRET,
        "WAG_LOG_FORMAT": "json",
    }
    env.pop("WAG_REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _wait_ready(base_url: str, path: str = "/healthz", timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(base_url + path) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base_url}{path} did not become ready in {timeout_s} s")


@pytest.mark.slow
async def test_kill_9_after_200_loses_nothing():
    """Accepted bodies survive a SIGKILL of the gateway and its embedded Redis."""
    with tempfile.TemporaryDirectory(prefix="wagk-", dir="/tmp") as tmp:
        data_dir = Path(tmp)
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        bodies = [
            json.dumps(
                envelope(text_value(f"wamid.K{i}", f"Nachricht {i}", wa_id=f"49151000{i:05d}"))
            ).encode()
            for i in range(50)
        ]

        first = _serve(data_dir, port, "--no-workers")
        try:
            await _wait_ready(base_url)
            async with aiohttp.ClientSession() as http:
                for body in bodies:
                    async with http.post(
                        f"{base_url}/webhooks/whatsapp", data=body, headers=signed_headers(body)
                    ) as response:
                        assert response.status == 200
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)

        # The embedded server dies with its parent; wait for its socket to go quiet.
        await asyncio.sleep(0.5)
        second = _serve(data_dir, port)
        try:
            await _wait_ready(base_url, "/readyz")
            from redis.asyncio import Redis

            client = Redis.from_url(f"unix://{data_dir}/redis.sock")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                pending = await client.xpending("wag:inbound", GROUP)
                info = await client.xinfo_groups("wag:inbound")
                if pending["pending"] == 0 and info[0]["entries-read"] == len(bodies):
                    break
                await asyncio.sleep(0.1)
            for i in range(50):
                conversation_id = conversation_id_for(BIZ, f"49151000{i:05d}")
                history = await client.zrange(f"wag:conv:{{{conversation_id}}}:history", 0, -1)
                assert history == [f"wamid.K{i}".encode()], i
            await client.aclose()
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
        # No orphan: nothing answers on the embedded socket after a clean stop.
        from gateway.embedded_redis import ping_socket

        assert not ping_socket(data_dir / "redis.sock")


async def test_entries_of_a_dead_worker_are_claimed(gateway, redis, clock):
    for i in range(3):
        await gateway.post_webhook(
            envelope(text_value(f"wamid.W{i}", "x", timestamp_s=1_750_000_000 + i))
        )
    dead = InboundWorker(redis, "wag:", clock, name="dead-worker")
    await dead.ensure_group()
    # The dead worker read the entries and never acknowledged them.
    await redis.xreadgroup(GROUP, "dead-worker", {"wag:inbound": ">"}, count=10)

    survivor = InboundWorker(redis, "wag:", clock, name="survivor", claim_idle_ms=100)
    await asyncio.sleep(0.15)
    assert await survivor.claim_stale() == 3
    conversation_id = conversation_id_for(BIZ, "4915112345678")
    assert await redis.zcard(f"wag:conv:{{{conversation_id}}}:history") == 3
    assert (await redis.xpending("wag:inbound", GROUP))["pending"] == 0


async def test_processing_twice_has_one_effect(gateway, redis, clock):
    """A worker that dies after applying but before acknowledging causes no second effect."""
    await gateway.post_webhook(envelope(text_value("wamid.P1", "x")))
    entries = await redis.xrange("wag:inbound")
    worker = InboundWorker(redis, "wag:", clock)
    for _ in range(2):
        await worker._processor.process_body(entries[0][1][b"body"], 0)
    conversation_id = conversation_id_for(BIZ, "4915112345678")
    assert await redis.zcard(f"wag:conv:{{{conversation_id}}}:history") == 1
    from routing.intake import Intake

    view = await Intake(redis, "wag:", clock).describe(conversation_id)
    assert view.state == "queued"
