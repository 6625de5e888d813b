"""Resolve where Redis is: the configured URL, or the embedded server in the data directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import structlog

from gateway.embedded_redis import EmbeddedRedis, EmbeddedRedisError, ping_socket, url_for
from gateway.settings import Settings, masked_url

log = structlog.get_logger(__name__)

START_LOCK = "embedded-redis.lock"
OWNER_FILE = "embedded-redis.owner"
REDIS_WAIT_S = 5.0


class StartupError(RuntimeError):
    """The gateway cannot start. The message names the setting to change."""


@contextlib.contextmanager
def redis_for(settings: Settings, *, exclusive: bool = False) -> Iterator[Settings]:
    """Yield settings whose `redis_url` points at a live server.

    With `WAG_REDIS_URL` set, that server must reply within a few seconds. Otherwise the
    embedded server of the data directory is reused when one replies (a running `serve`
    started it), or started for the duration of the block and stopped afterwards. With
    `exclusive` (for `serve`), a server that another process started is an error, because
    that process would take it down when it exits.
    """
    if settings.redis_url:
        _wait_for_redis(settings.redis_url)
        yield settings
        return

    data_dir = _usable_data_dir(settings.data_dir)
    with _start_lock(data_dir):
        if ping_socket(data_dir / "redis.sock"):
            owner = _owner_of(data_dir)
            if exclusive:
                msg = (
                    f"another wa-gateway process ({owner}) runs the embedded Redis of "
                    f"{data_dir}; stop it first, or give this one its own WAG_DATA_DIR"
                )
                raise StartupError(msg)
            log.info("embedded_redis_reused", data_dir=str(data_dir))
            server = None
        else:
            server = EmbeddedRedis(data_dir, appendfsync=settings.embedded_appendfsync)
            try:
                server.start()
            except EmbeddedRedisError as exc:
                raise StartupError(str(exc)) from exc
            (data_dir / OWNER_FILE).write_text(f"pid {os.getpid()}\n", encoding="utf-8")

    try:
        yield settings.model_copy(update={"redis_url": url_for(data_dir)})
    finally:
        if server is not None:
            with _start_lock(data_dir):
                server.stop()
                with contextlib.suppress(FileNotFoundError):
                    (data_dir / OWNER_FILE).unlink()


def _usable_data_dir(data_dir: Path) -> Path:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the data directory {data_dir}: {exc.strerror}; set WAG_DATA_DIR"
        raise StartupError(msg) from exc
    if not data_dir.is_dir():
        msg = f"WAG_DATA_DIR={data_dir} is not a directory; point it at a directory"
        raise StartupError(msg)
    if not os.access(data_dir, os.W_OK | os.X_OK):
        msg = f"the data directory {data_dir} is not writable; fix its permissions or WAG_DATA_DIR"
        raise StartupError(msg)
    return data_dir.resolve()


@contextlib.contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    # Serialises "is a server running? if not, start one" between processes on one data
    # directory, so that two commands started at once do not run two servers on one file.
    with (data_dir / START_LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _owner_of(data_dir: Path) -> str:
    try:
        return (data_dir / OWNER_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown pid"


def _wait_for_redis(url: str) -> None:
    """Wait up to a few seconds for the configured Redis (a container may still be starting)."""
    deadline = time.monotonic() + REDIS_WAIT_S
    while True:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        except ValueError as exc:
            msg = f"WAG_REDIS_URL={masked_url(url)} is invalid: {exc}"
            raise StartupError(msg) from exc
        try:
            client.ping()
            return
        except redis.RedisError as exc:
            if time.monotonic() >= deadline:
                msg = (
                    f"cannot reach Redis at WAG_REDIS_URL={masked_url(url)}: {exc}; start it, "
                    "fix the URL, or unset WAG_REDIS_URL to use the embedded server"
                )
                raise StartupError(msg) from exc
            time.sleep(0.25)
        finally:
            client.close()
