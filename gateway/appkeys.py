"""Typed keys of the aiohttp application state."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from common.clock import Clock
from gateway.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
# Short timeouts: the request path must fail fast when Redis is gone.
REDIS = web.AppKey("redis", Redis)
# Long socket timeout for blocking reads (XREADGROUP BLOCK) in background workers.
REDIS_BLOCKING = web.AppKey("redis_blocking", Redis)
