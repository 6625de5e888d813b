"""Load the routing Lua scripts, each with the shared helper files in front of it."""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from common.clock import Clock
from routing.errors import RoutingError
from routing.keys import RoutingKeys

LIBRARY = ("lib_core.lua", "lib_dispatch.lua", "lib_flow.lua", "lib_holder.lua")
SCRIPTS = (
    "enqueue",
    "inbound",
    "dispatch",
    "offer_answer",
    "presence",
    "close",
    "wrap_up_end",
    "transfer",
    "hold",
    "abandon",
    "sweep",
    "agent_save",
    "agent_delete",
    "invariants",
)


def script_source(name: str) -> str:
    """Return the text Redis runs for script `name`: the helper files, then the script."""
    folder = resources.files("routing").joinpath("lua")
    parts = [folder.joinpath(part).read_text(encoding="utf-8") for part in LIBRARY]
    parts.append(folder.joinpath(f"{name}.lua").read_text(encoding="utf-8"))
    return "\n".join(parts)


_SOURCES: dict[str, str] = {}


class RoutingScripts:
    """The registered scripts of one Redis client, run with the routing calling convention."""

    def __init__(self, redis: Redis, keys: RoutingKeys, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock
        self._scripts: dict[str, AsyncScript] = {}
        for name in SCRIPTS:
            if name not in _SOURCES:
                _SOURCES[name] = script_source(name)
            self._scripts[name] = redis.register_script(_SOURCES[name])

    async def run(self, name: str, *args: str | int | bytes) -> dict[str, Any]:
        """Run script `name` now; raise RoutingError when the script refused the step."""
        head: list[str | int | bytes] = [
            self._keys.base,
            self._clock.now_ms(),
            secrets.token_hex(4),
        ]
        raw = await self._scripts[name](keys=[self._keys.settings], args=[*head, *args])
        data: dict[str, Any] = orjson.loads(raw)
        if "error" in data:
            raise RoutingError.from_script(data)
        return data
