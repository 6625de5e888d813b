"""Scripted faults: per recipient or per call, each for a number of calls."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    ERROR = "error"  # respond with Meta's error body for `code`
    FAILED_STATUS = "failed_status"  # respond 200, then send a `failed` status with `code`
    TIMEOUT = "timeout"  # hold the request for `delay_s`, then drop it with a 504
    SERVER_ERROR = "server_error"  # respond HTTP 500 without a Meta error body


@dataclass
class Fault:
    """One scripted fault.

    `recipient` limits it to sends to that `to` or `recipient` value; None matches every
    send. `times` is how many matching calls it affects; 0 means every call until cleared.
    """

    kind: FaultKind
    code: int | None = None
    recipient: str | None = None
    times: int = 1
    delay_s: float = 30.0
    used: int = field(default=0)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


class FaultBook:
    """Faults in the order they were added; the first match wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.kind in (FaultKind.ERROR, FaultKind.FAILED_STATUS) and fault.code is None:
            msg = f"a fault of kind `{fault.kind.value}` needs a Meta error `code`"
            raise ValueError(msg)
        if fault.times < 0:
            msg = f"`times` must be 0 (always) or positive, got {fault.times}"
            raise ValueError(msg)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def list(self) -> list[Fault]:
        return list(self._faults)

    def take(self, recipient: str | None) -> Fault | None:
        """Return the first fault that applies to a send to `recipient`, counting the use."""
        for fault in self._faults:
            if fault.recipient is not None and fault.recipient != recipient:
                continue
            fault.used += 1
            if fault.times and fault.used >= fault.times:
                self._faults.remove(fault)
            return fault
        return None
