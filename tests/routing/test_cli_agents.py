"""`wa-gateway agents add/list/presence` and `queues list` against the test Redis."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import redis as sync_redis
import structlog

from gateway.auth import token_digest
from gateway.cli import main


@pytest.fixture
def cli_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sync_redis.Redis]:
    monkeypatch.setenv("WAG_REDIS_URL", redis_url)
    monkeypatch.setenv("WAG_LOG_LEVEL", "warning")
    monkeypatch.delenv("WAG_ROUTING_CONFIG", raising=False)
    client = sync_redis.Redis.from_url(redis_url)
    client.flushdb()
    # `main` points structlog at this test's captured stderr, which closes after the test.
    saved = structlog.get_config()
    yield client
    structlog.configure(**saved)
    client.close()


def test_agents_add_prints_token(
    cli_redis: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "agents",
            "add",
            "--id",
            "anna",
            "--name",
            "Anna",
            "--skill",
            "billing=3",
            "--language",
            "de",
            "--capacity",
            "whatsapp=4",
            "--queue",
            "default",
        ]
    )

    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1].startswith("wag_")
    agent = orjson.loads(cli_redis.hget("wag:auth:tokens", token_digest(out[-1])) or b"{}")
    assert agent["agent_id"] == "anna"
    assert agent["role"] == "agent"


def test_agents_add_negative_capacity(
    cli_redis: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["agents", "add", "--id", "anna", "--name", "Anna", "--capacity", "whatsapp=-1"])

    assert code == 2
    assert "capacity.whatsapp" in capsys.readouterr().err
    assert not cli_redis.exists("wag:rt:{rt}:agent:anna")


def test_agents_add_unknown_queue(
    cli_redis: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["agents", "add", "--id", "anna", "--name", "Anna", "--queue", "nowhere"])

    assert code == 1
    assert "queue `nowhere` does not exist" in capsys.readouterr().err


def test_presence_and_list(cli_redis: sync_redis.Redis, capsys: pytest.CaptureFixture[str]) -> None:
    main(["agents", "add", "--id", "anna", "--name", "Anna", "--queue", "default"])
    capsys.readouterr()

    assert main(["agents", "presence", "anna", "available"]) == 0
    assert main(["agents", "list"]) == 0

    listing = orjson.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert listing[0]["presence"] == "available"


def test_queues_list(cli_redis: sync_redis.Redis, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queues", "list"]) == 0

    overview = orjson.loads(capsys.readouterr().out)
    assert [queue["name"] for queue in overview["queues"]] == ["default"]


def test_sweep_once(cli_redis: sync_redis.Redis, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routing", "sweep", "--once"]) == 0

    result = orjson.loads(capsys.readouterr().out)
    assert result["ran"] == 0
    assert result["offers"] == 0
