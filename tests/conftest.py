"""Shared fixtures: a private Redis server per test session, a clean database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from common.clock import ManualClock
from gateway.embedded_redis import EmbeddedRedis
from gateway.settings import Settings
from tests.redis_server import start_test_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    server, tmp = start_test_server()
    yield server
    server.stop()
    tmp.cleanup()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client on the session's own server; the database is emptied before each test."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("data"),
        app_secret="test-app-secret",
        verify_token="test-verify-token",
        log_format="json",
    )


@pytest.fixture
async def gateway(settings: Settings, clock: ManualClock, redis: Redis) -> AsyncIterator[Any]:
    """A gateway on 127.0.0.1 without background workers; tests call `gateway.drain()`."""
    from tests.helpers import running_gateway

    async with running_gateway(settings, clock) as gw:
        yield gw
