"""Redis key names used by the gateway package itself (ingest, tokens)."""

from __future__ import annotations


class GatewayKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def inbound_stream(self) -> str:
        """Raw webhook bodies, appended before the 200 is sent."""
        return f"{self.prefix}inbound"

    @property
    def inbound_dead(self) -> str:
        """Updates that failed processing too often, with their error."""
        return f"{self.prefix}inbound:dead"

    @property
    def inbound_failures(self) -> str:
        """Failure count per inbound stream entry id."""
        return f"{self.prefix}inbound:failures"

    @property
    def tokens(self) -> str:
        """API tokens: SHA-256 of the token -> JSON principal."""
        return f"{self.prefix}auth:tokens"

    def field_events(self) -> str:
        """Webhook changes other than messages (user_preferences, template updates, ...)."""
        return f"{self.prefix}events:fields"

    def field_event_seen(self, event_id: str) -> str:
        return f"{self.prefix}events:fields:seen:{event_id}"

    def workers(self) -> str:
        """Sorted set of inbound worker names by their last heartbeat (ms)."""
        return f"{self.prefix}workers"
