"""Errors of the routing engine, each with a stable code and a detail that names the value."""

from __future__ import annotations

from typing import Any


class RoutingError(Exception):
    """A routing step was refused; nothing was changed by it.

    `code` is stable (for example `offer_expired`, `queue_not_found`, `not_holder`),
    `detail` says what was wrong with which value, and `extra` carries fields such as
    the current `state` of the conversation.
    """

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.extra = extra

    @property
    def kind(self) -> str:
        """Classify the error as `not_found`, `forbidden`, `invalid` or `conflict`."""
        if self.code.endswith("_not_found"):
            return "not_found"
        if self.code in {"offer_not_yours", "not_holder", "not_an_agent"}:
            return "forbidden"
        if self.code.startswith(("invalid_", "unknown_")):
            return "invalid"
        return "conflict"

    @classmethod
    def from_script(cls, data: dict[str, Any]) -> RoutingError:
        """Build the error from a Lua script's `{"error": code, "detail": text, ...}` result."""
        extra = {key: value for key, value in data.items() if key not in {"error", "detail"}}
        return cls(str(data["error"]), str(data.get("detail", "")), **extra)
