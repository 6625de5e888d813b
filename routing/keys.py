"""Redis key names of the routing package."""

from __future__ import annotations


class RoutingKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def interaction(self, interaction_id: str) -> str:
        """Hash: channel, state, queue, priority, agent_id, enqueued_at_ms, ..."""
        return f"{self.prefix}rt:ix:{{{interaction_id}}}"

    def queue(self, name: str) -> str:
        """Sorted set of waiting interaction ids, ordered by priority, then waiting time."""
        return f"{self.prefix}rt:queue:{name}"
