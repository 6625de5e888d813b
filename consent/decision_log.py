"""The gate's decision log: every allow and deny, hash-chained per business number."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from redis.asyncio import Redis

from common.lua import load_script
from consent.chain import Head, seal_encoded
from consent.errors import ChainConflict
from consent.keys import ConsentKeys
from consent.model import as_text

MAX_APPEND_ATTEMPTS = 50


# NOTE: the decision log is never trimmed, because it is the proof of every send. At about
# 550 bytes per decision (bench/consent_results.md), a million decisions take about 550 MB of
# Redis memory; archiving old entries elsewhere is not built yet.
class DecisionLog:
    """Append decisions; the head of each chain is cached so that an append is one round trip."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.keys = ConsentKeys(prefix)
        self._script = load_script(redis, "consent", "decisions_append.lua")
        self._heads: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def append(self, business: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Seal and store `bodies` in order; return the sealed entries with their `seq`.

        Raises ChainConflict when other writers kept appending, and Redis errors as they come:
        the gate turns both into a denial.
        """
        lock = self._locks.setdefault(business, asyncio.Lock())
        async with lock:
            expected = self._heads.get(business)
            if expected is None:
                raw = await self._redis.get(self.keys.decisions_head(business))
                expected = as_text(raw).encode() if raw else b""
            for _ in range(MAX_APPEND_ATTEMPTS):
                entries, keys, args = self._prepare(business, bodies, expected)
                status, current = await self._script(keys=keys, args=args)
                if status == 1:
                    self._heads[business] = current
                    return entries
                # Another process appended: chain onto the head the script returned.
                expected = current or b""
        self._heads.pop(business, None)
        raise ChainConflict(f"the decision log of business number {business} kept changing; retry")

    def _prepare(
        self, business: str, bodies: list[dict[str, Any]], expected: bytes
    ) -> tuple[list[dict[str, Any]], list[str], list[Any]]:
        head = Head.decode(expected or None)
        seq, prev_hash = head.seq, head.hash
        encoded: list[bytes] = []
        relied_keys: list[str] = []
        relied_seqs: list[int] = []
        for body in bodies:
            seq += 1
            prev_hash, raw = seal_encoded(body, seq, prev_hash)
            encoded.append(raw)
            if body["allowed"] and body.get("consent_event_id"):
                relied_keys.append(self.keys.relied_on(business, body["consent_event_id"]))
                relied_seqs.append(seq)

        keys = [self.keys.decisions(business), self.keys.decisions_head(business), *relied_keys]
        args: list[Any] = [
            expected,
            Head(seq, prev_hash).encode(),
            b"\n".join(encoded),
            *relied_seqs,
        ]
        return bodies, keys, args

    async def relied_on(self, business: str, event_id: str) -> list[dict[str, Any]]:
        """Return the allowed decisions that relied on one consent event."""
        seqs = await self._redis.lrange(self.keys.relied_on(business, event_id), 0, -1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for seq in seqs:
                pipe.lindex(self.keys.decisions(business), int(seq))
            raw = await pipe.execute()
        return [orjson.loads(entry) for entry in raw if entry is not None]
