"""The funnel report of a campaign: recipients per state, rates between steps, and a timeline."""

from __future__ import annotations

import csv
import io
from typing import Any

from gateway.campaigns.model import Campaign

FUNNEL_STEPS = ("queued", "sent", "delivered", "read")
TIMELINE_STATES = ("queued", "blocked", "sent", "delivered", "read", "failed")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def funnel(campaign: Campaign, counts: dict[str, int], timeline: dict[str, int]) -> dict[str, Any]:
    """Build the report from the counters that the state scripts keep.

    `states` counts recipients by their current state; `reached` counts recipients that
    ever reached a state, so a read message also counts as sent and delivered. Each rate
    divides a step by the step before it.
    """
    now = {state: counts.get(f"now:{state}", 0) for state in (*TIMELINE_STATES, "dispatching")}
    now["pending"] = max(0, campaign.total - campaign.next_index)
    reached = {state: counts.get(f"reached:{state}", 0) for state in TIMELINE_STATES}
    dispatched = counts.get("dispatched", 0)

    return {
        "campaign": campaign.to_dict(),
        "dispatched": dispatched,
        "states": now,
        "reached": reached,
        "rates": {
            "blocked": _rate(reached["blocked"], dispatched),
            "sent": _rate(reached["sent"], reached["queued"]),
            "delivered": _rate(reached["delivered"], reached["sent"]),
            "read": _rate(reached["read"], reached["delivered"]),
            "failed": _rate(reached["failed"], reached["queued"]),
        },
        "blocked_by_reason": _breakdown(counts, "blocked:"),
        "failed_by_code": _breakdown(counts, "failed:"),
        "timeline": timeline_rows(timeline),
    }


def _breakdown(counts: dict[str, int], prefix: str) -> dict[str, int]:
    return {
        key.removeprefix(prefix): value
        for key, value in sorted(counts.items())
        if key.startswith(prefix)
    }


def timeline_rows(timeline: dict[str, int]) -> list[dict[str, int]]:
    """Return one row per minute bucket: `bucket_start_ms` and the count per state."""
    buckets: dict[int, dict[str, int]] = {}
    for key, value in timeline.items():
        bucket, _, state = key.partition(":")
        row = buckets.setdefault(int(bucket), {"bucket_start_ms": int(bucket)})
        row[state] = row.get(state, 0) + value
    rows = [buckets[bucket] for bucket in sorted(buckets)]
    for row in rows:
        for state in TIMELINE_STATES:
            row.setdefault(state, 0)
    return rows


def funnel_csv(report: dict[str, Any]) -> str:
    """Render the timeline as CSV, one row per minute and a last row with the totals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bucket_start_ms", *TIMELINE_STATES])
    for row in report["timeline"]:
        writer.writerow([row["bucket_start_ms"], *(row[state] for state in TIMELINE_STATES)])
    writer.writerow(["total", *(report["reached"][state] for state in TIMELINE_STATES)])
    return out.getvalue()


def recipients_csv_header() -> list[str]:
    return ["index", "line", "phone", "state", "detail"]
