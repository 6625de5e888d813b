"""Conversions for values read from Redis, which redis-py types as `bytes | str`."""

from __future__ import annotations

from typing import Any


def as_str(value: Any) -> str:
    """Decode a Redis reply value to text (UTF-8)."""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
