"""Decode what redis-py returns: bytes with `decode_responses=False`, str with it on."""

from __future__ import annotations

from collections.abc import Mapping

RawHash = Mapping[bytes | str, bytes | str]


def text(value: bytes | str | None) -> str:
    """Return `value` as text; None becomes the empty string."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def text_hash(raw: RawHash) -> dict[str, str]:
    """Return a Redis hash with text keys and values."""
    return {text(key): text(value) for key, value in raw.items()}
