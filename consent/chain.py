"""Hash chains: canonical JSON, `hash = SHA-256(prev_hash || canonical JSON)`, and verification.

The consent ledger and the gate's decision log are both such chains. Each entry is stored
as JSON with `seq`, `prev_hash` and `hash`. The hash covers every other member, so an edited
member, a deleted entry (its successor's `prev_hash` or `seq` no longer fits) and a dropped
tail (the stored head no longer fits) are all detected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
HASH_FIELDS = ("prev_hash", "hash")


def canonical_json(data: dict[str, Any]) -> bytes:
    """Serialise with sorted keys and no whitespace, so the same entry always hashes the same."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """Return SHA-256 over the previous hash (hex) followed by the canonical JSON of `body`."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_json(body))
    return digest.hexdigest()


def seal(body: dict[str, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    """Return `body` with `seq`, `prev_hash` and `hash` set; `body` itself is not changed."""
    entry = dict(body)
    entry["seq"] = seq
    chained = {key: value for key, value in entry.items() if key not in HASH_FIELDS}
    entry["prev_hash"] = prev_hash
    entry["hash"] = entry_hash(prev_hash, chained)
    return entry


def seal_encoded(body: dict[str, Any], seq: int, prev_hash: str) -> tuple[str, bytes]:
    """Return the hash and stored JSON of `body` at `seq`; a faster `seal` for the decision log.

    `body` gets `seq` set. The stored JSON carries `hash` and `prev_hash` after the canonical
    members, which verification accepts because it re-serialises each entry canonically.
    """
    body["seq"] = seq
    canonical = canonical_json(body)
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical)
    entry_hash_hex = digest.hexdigest()
    tail = f',"hash":"{entry_hash_hex}","prev_hash":"{prev_hash}"}}'.encode("ascii")
    return entry_hash_hex, canonical[:-1] + tail


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry of a chain: its seq (-1 for an empty chain) and hash."""

    seq: int
    hash: str

    def encode(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Head:
        if raw is None:
            return EMPTY_HEAD
        text = raw.decode() if isinstance(raw, bytes) else raw
        seq, _, digest = text.partition(":")
        return cls(int(seq), digest)


EMPTY_HEAD = Head(-1, GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first broken link: the list position where verification failed, and why."""

    position: int
    reason: str


class ChainVerifier:
    """Walk a chain entry by entry; feed raw JSON entries in order, then call `finish(head)`."""

    def __init__(self) -> None:
        self.position = 0
        self.prev_hash = GENESIS_HASH
        self.broken: ChainBreak | None = None

    def feed(self, raw_entries: Iterable[bytes]) -> ChainBreak | None:
        for raw in raw_entries:
            if self.broken is not None:
                return self.broken
            self.broken = self._check(raw)
            self.position += 1
        return self.broken

    def _check(self, raw: bytes) -> ChainBreak | None:
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return ChainBreak(self.position, "the entry is not valid JSON")
        if not isinstance(entry, dict):
            return ChainBreak(self.position, "the entry is not a JSON object")

        if entry.get("seq") != self.position:
            return ChainBreak(
                self.position,
                f"seq is {entry.get('seq')!r}, expected {self.position}: an entry was "
                "deleted or inserted before this position",
            )
        if entry.get("prev_hash") != self.prev_hash:
            return ChainBreak(
                self.position, "prev_hash does not match the hash of the entry before it"
            )

        chained = {key: value for key, value in entry.items() if key not in HASH_FIELDS}
        if entry_hash(self.prev_hash, chained) != entry.get("hash"):
            return ChainBreak(
                self.position, "the entry's content does not match its hash: it was edited"
            )

        self.prev_hash = str(entry["hash"])
        return None

    def finish(self, head: Head) -> ChainBreak | None:
        """Compare the walked chain with the stored head, which catches a deleted tail."""
        if self.broken is not None:
            return self.broken
        if head.seq != self.position - 1 or head.hash != self.prev_hash:
            self.broken = ChainBreak(
                self.position,
                f"the chain ends at seq {self.position - 1} but its head says {head.seq}: "
                "entries were removed from the end or the head was changed",
            )
        return self.broken
