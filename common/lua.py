"""Load Lua scripts that live as `.lua` files beside the module that runs them."""

from __future__ import annotations

from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def load_script(redis: Redis, package: str, name: str) -> AsyncScript:
    """Register `package/name` with `redis` and return a callable script.

    The returned object runs EVALSHA and falls back to loading the script when the
    server does not know it yet (after a restart or on a new cluster node).
    """
    source = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return redis.register_script(source)


async def run_script(script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
    """Run `script` with `keys` and `args`; a thin wrapper that keeps call sites uniform."""
    return await script(keys=keys, args=args)
