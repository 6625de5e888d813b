"""Redis key names of campaigns.

The keys of one campaign share the hash tag `{campaign_id}`, so that the scripts that move a
recipient from one state to the next work on Redis Cluster.
"""

from __future__ import annotations


class CampaignKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def campaign(self, campaign_id: str) -> str:
        """Hash: name, template, language, category, phone_number_id, state, total,
        next_index (the dispatch cursor), created_at_ms, scheduled_at_ms, started_at_ms,
        finished_at_ms, created_by, rejected, note."""
        return f"{self.prefix}cmp:{{{campaign_id}}}"

    def recipients(self, campaign_id: str) -> str:
        """Hash: recipient index -> JSON {line, phone, components}."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:rcpt"

    def states(self, campaign_id: str) -> str:
        """Hash: recipient index -> state (dispatching, queued, blocked, sent, delivered, read,
        failed); an index without an entry is still pending."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:state"

    def details(self, campaign_id: str) -> str:
        """Hash: recipient index -> the reason of a block or the error code of a failure."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:detail"

    def counts(self, campaign_id: str) -> str:
        """Hash: `now:<state>` recipients in each state, `reached:<state>` recipients that ever
        reached it, `dispatched` (recipients past the gate), `blocked:<reason>`, `failed:<code>`."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:counts"

    def timeline(self, campaign_id: str) -> str:
        """Hash: `<bucket_start_ms>:<state>` -> recipients that reached the state in that bucket."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:timeline"

    def inflight(self, campaign_id: str) -> str:
        """Set of recipient indices claimed for dispatch but not yet queued or blocked; a
        dispatcher that restarts after a crash finishes these first."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:inflight"

    def rejected(self, campaign_id: str) -> str:
        """List of JSON lines of the uploaded list that cannot be sent, with line and reason."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:rejected"

    def lease(self, campaign_id: str) -> str:
        """Name of the gateway process that dispatches the campaign now (SET NX PX, renewed)."""
        return f"{self.prefix}cmp:{{{campaign_id}}}:lease"

    @property
    def all(self) -> str:
        """Sorted set of campaign ids by creation time."""
        return f"{self.prefix}cmps"

    @property
    def active(self) -> str:
        """Sorted set of running or scheduled campaign ids by their start time."""
        return f"{self.prefix}cmps:active"
