"""The README's path for a new user: serve on the embedded Redis, send a webhook, read it back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from gateway.embedded_redis import ping_socket
from sessions.conversations import conversation_id_for
from tests.helpers import FIXTURES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cli_env():
    with tempfile.TemporaryDirectory(prefix="wagc-", dir="/tmp") as tmp:
        env = {key: value for key, value in os.environ.items() if not key.startswith("WAG_")}
        env.update({"WAG_DATA_DIR": tmp, "WAG_PORT": str(_free_port()), "WAG_LOG_FORMAT": "json"})
        yield env, Path(tmp)


def _cli(env, *args: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_token_create_prints_token_last(cli_env):
    env, data_dir = cli_env
    result = _cli(env, "token", "create", "--role", "supervisor", "--name", "Schichtleitung")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("wag_")
    # The command started the embedded server for itself and stopped it again.
    assert not ping_socket(data_dir / "redis.sock")


def test_token_create_rejects_unknown_role(cli_env):
    env, _ = cli_env
    result = _cli(env, "token", "create", "--role", "boss", "--name", "x")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.slow
def test_new_user_flow(cli_env):
    env, data_dir = cli_env
    base_url = f"http://127.0.0.1:{env['WAG_PORT']}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(f"{base_url}/readyz")
        sent = _cli(env, "webhook", "send", str(FIXTURES / "01_meta_text_plain.json"))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        token = _cli(
            env, "token", "create", "--role", "admin", "--name", "ops"
        ).stdout.splitlines()[-1]

        conversation_id = conversation_id_for("156305421874268", "4915112345678")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = httpx.get(
                f"{base_url}/api/v1/conversations/{conversation_id}/messages",
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 200 and response.json()["items"]:
                break
            time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["items"][0]["text"] == "Does it come in another color?"
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(20) == 0
    assert not ping_socket(data_dir / "redis.sock")


def test_invalid_setting_is_a_clear_error(cli_env):
    env, _ = cli_env
    env["WAG_PORT"] = "not-a-port"
    result = _cli(env, "token", "create", "--role", "admin", "--name", "x")
    assert result.returncode == 2
    assert "port" in result.stderr


def test_production_without_app_secret_fails_at_start(cli_env):
    env, _ = cli_env
    env["WAG_ACCESS_TOKEN"] = "EAAG-test"
    result = _cli(env, "serve")
    assert result.returncode == 2
    assert "WAG_APP_SECRET" in result.stderr


def _wait(url: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout_s} s")


def test_serve_port_in_use_fails_clearly(cli_env):
    env, data_dir = cli_env
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env["WAG_PORT"] = str(busy.getsockname()[1])
        result = _cli(env, "serve")
    assert result.returncode == 2
    assert "cannot listen on" in result.stderr
    assert not ping_socket(data_dir / "redis.sock")


@pytest.mark.slow
def test_second_serve_on_same_data_dir_fails(cli_env):
    env, _ = cli_env
    first = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{env['WAG_PORT']}/healthz")
        second = _cli({**env, "WAG_PORT": str(_free_port())}, "serve")
        assert second.returncode == 2
        assert "another wa-gateway process" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(20)


def test_agent_token_needs_agent_id(cli_env):
    env, _ = cli_env
    result = _cli(env, "token", "create", "--role", "agent", "--name", "Anna")
    assert result.returncode == 2
    assert "--agent-id" in result.stderr


def test_unreachable_redis_url_fails_clearly(cli_env):
    env, _ = cli_env
    env["WAG_REDIS_URL"] = f"redis://:secret-pw@127.0.0.1:{_free_port()}/0"
    result = _cli(env, "token", "create", "--role", "admin", "--name", "x")
    assert result.returncode == 2
    assert "cannot reach Redis" in result.stderr
    assert "secret-pw" not in result.stderr
