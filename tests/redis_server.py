"""Start a private Redis-compatible server for the test session.

Tests never touch a shared server: each session runs its own on a unix socket in a
temporary directory. `WAG_TEST_REDIS_SERVER=/usr/bin/redis-server` runs the suite
against Redis 7 instead of the embedded Valkey, to check that the Lua scripts work on both.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gateway.embedded_redis import EmbeddedRedis


def start_test_server() -> tuple[EmbeddedRedis, tempfile.TemporaryDirectory[str]]:
    binary = os.environ.get("WAG_TEST_REDIS_SERVER")
    if binary:
        os.environ["WAG_EMBEDDED_REDIS_BINARY"] = binary
    # A short path under /tmp keeps the socket path below the 107-byte limit.
    tmp = tempfile.TemporaryDirectory(prefix="wagt-", dir="/tmp")
    server = EmbeddedRedis(Path(tmp.name), appendfsync="everysec")
    server.start()
    return server, tmp
