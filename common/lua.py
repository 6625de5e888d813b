"""Load Lua scripts that live as `.lua` files beside the module that runs them."""

from __future__ import annotations

import functools
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def load_script(redis: Redis, package: str, name: str) -> AsyncScript:
    """Register `package/name` with `redis` and return a callable script.

    The returned object runs EVALSHA and falls back to loading the script when the
    server does not know it yet (after a restart or on a new cluster node).
    """
    return redis.register_script(_source(package, name))


@functools.cache
def _source(package: str, name: str) -> str:
    # Stores are built per request in places; read each script file once per process.
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
