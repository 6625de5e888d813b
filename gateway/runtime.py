"""Resolve where Redis is: the configured URL, or the embedded server in the data directory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import structlog

from gateway.embedded_redis import EmbeddedRedis, ping_socket, socket_path_for, url_for
from gateway.settings import Settings

log = structlog.get_logger(__name__)


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[Settings]:
    """Yield settings whose `redis_url` points at a live server.

    With `WAG_REDIS_URL` set, that server is used. Otherwise the embedded server of the
    data directory is reused when one answers (a running `serve` started it), or started
    for the duration of the block and stopped afterwards.
    """
    if settings.redis_url:
        yield settings
        return

    if ping_socket(socket_path_for(settings.data_dir)):
        log.info("embedded_redis_reused", data_dir=str(settings.data_dir))
        yield settings.model_copy(update={"redis_url": url_for(settings.data_dir)})
        return

    server = EmbeddedRedis(settings.data_dir, appendfsync=settings.embedded_appendfsync)
    server.start()
    try:
        yield settings.model_copy(update={"redis_url": server.url})
    finally:
        server.stop()
