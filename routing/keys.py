"""Redis key names of the routing package.

Every routing key shares the hash tag `{rt}`. Matching reads queues and agents together
and changes them in one Lua step, so on Redis Cluster all of routing must live in one
slot. A tag per conversation would spread those keys over several nodes. The Lua scripts build the
same names from `base` (see `lua/lib_core.lua`); a test checks that both agree.
"""

from __future__ import annotations

import datetime as dt

DAY_MS = 86_400_000


class RoutingKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.base = f"{prefix}rt:{{rt}}:"

    def interaction(self, interaction_id: str) -> str:
        """Hash: channel, state, queue, priority, skills, agent_id, enqueued_at_ms, score, ..."""
        return f"{self.base}ix:{interaction_id}"

    def queue(self, name: str) -> str:
        """Sorted set of waiting interaction ids, ordered by priority, then waiting time."""
        return f"{self.base}queue:{name}"

    def waiting_since(self, name: str) -> str:
        """Sorted set of the same waiting ids, scored by `enqueued_at_ms` (longest wait)."""
        return f"{self.base}since:{name}"

    def ready(self, name: str) -> str:
        """Sorted set of available agents with room, scored by their last assignment sequence."""
        return f"{self.base}ready:{name}"

    def agent(self, agent_id: str) -> str:
        """Hash: profile (name, skills, capacity, ...) and live state (presence, n:<channel>)."""
        return f"{self.base}agent:{agent_id}"

    def agent_interactions(self, agent_id: str) -> str:
        """Set of the agent's interaction ids: offered, assigned, held or in wrap-up."""
        return f"{self.base}agent:{agent_id}:ixs"

    def offer(self, offer_id: str) -> str:
        """Hash: interaction_id, agent_id, deadline_ms, state; kept a day after it resolves."""
        return f"{self.base}offer:{offer_id}"

    def customer(self, customer_id: str) -> str:
        """Hash: last_agent_id and last_served_at_ms of a returning customer."""
        return f"{self.base}customer:{customer_id}"

    def stats(self, queue: str, now_ms: int) -> str:
        """Hash of today's counters of a queue (UTC day of `now_ms`)."""
        return f"{self.base}stats:{queue}:{now_ms // DAY_MS}"

    @property
    def queues(self) -> str:
        """Hash: queue name -> queue configuration as JSON."""
        return f"{self.base}queues"

    @property
    def agents(self) -> str:
        """Set of agent ids."""
        return f"{self.base}agents"

    @property
    def active(self) -> str:
        """Set of interaction ids that are neither closed nor abandoned."""
        return f"{self.base}active"

    @property
    def deadlines(self) -> str:
        """Sorted set of timed steps (`offer:<id>`, `wrapup:<ix>`, `wake:<q>`, ...) by due ms."""
        return f"{self.base}deadlines"

    @property
    def events(self) -> str:
        """Stream of routing events for the agent and supervisor SSE streams."""
        return f"{self.base}events"

    @property
    def settings(self) -> str:
        """Hash of engine-wide settings the scripts read (max_missed_offers, scan_depth, ...)."""
        return f"{self.base}settings"

    @property
    def skills(self) -> str:
        """Set of known skill names: the config file's list and every skill an agent has."""
        return f"{self.base}skills"

    @property
    def sequence(self) -> str:
        """Counter that orders assignments; the ready sets use it as the idle order."""
        return f"{self.base}seq"


def utc_day(now_ms: int) -> dt.date:
    """Return the UTC calendar day of `now_ms`."""
    return dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).date()
