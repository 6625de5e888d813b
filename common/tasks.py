"""Helpers for background tasks that must stop when cancelled."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library turned into another error.

    redis-py 8.2 may absorb a cancellation that lands during a blocking read, returning
    normally or raising a ConnectionError instead. A loop around such reads checks this at
    each turn, or it would never end.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
