"""Classify send failures by what to do about them, not by HTTP status.

The same classes apply to an error response of the Graph API and to a later `failed` status
webhook with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import httpx
from pywa.errors import WhatsAppError


class FailureClass(StrEnum):
    TRANSIENT = "transient"  # retry with backoff, a bounded number of times
    WINDOW_CLOSED = "window_closed"  # 131047: close our window, or retry once if ours is open
    UNDELIVERABLE = "undeliverable"  # 131026: mark the customer undeliverable
    MARKETING_STOPPED = "marketing_stopped"  # 131050: the customer stopped marketing messages
    NO_RETRY = "no_retry"  # 131049, 130472: Meta chose not to deliver; never retried
    TEMPLATE = "template"  # 132xxx: permanent, reported with Meta's message
    # 190: pause sending until the token is replaced (a class name, not a password)
    TOKEN_EXPIRED = "token_expired"  # noqa: S105
    PERMANENT = "permanent"  # anything else: invalid request, permissions, ...


TRANSIENT_CODES = frozenset(
    {
        130429,  # throughput rate limit
        131056,  # pair rate limit (one customer)
        131057,  # account in maintenance
        131000,  # unknown error; Meta's error code reference recommends a retry
        131016,  # service unavailable
        4,  # too many API calls
        80007,  # rate limit issues
    }
)
NO_RETRY_CODES = frozenset({131049, 130472})
TEMPLATE_CODE_RANGE = range(132000, 133000)
# Meta's pair rate limit is about one message per 6 s to one customer.
PAIR_RATE_RETRY_MS = 6_000


@dataclass(frozen=True, slots=True)
class SendFailure:
    """A classified failure with Meta's code and message (or the transport error)."""

    failure_class: FailureClass
    code: int | None
    message: str

    @property
    def retry_floor_ms(self) -> int:
        """Return the shortest sensible delay before the next attempt."""
        return PAIR_RATE_RETRY_MS if self.code == 131056 else 0


def classify_code(code: int | None, http_status: int | None = None) -> FailureClass:
    """Return the class of a Meta error code (HTTP status only when there is no code)."""
    if code is None:
        if http_status is not None and http_status >= 500:
            return FailureClass.TRANSIENT
        return FailureClass.PERMANENT
    if code in TRANSIENT_CODES:
        return FailureClass.TRANSIENT
    if code == 131047:
        return FailureClass.WINDOW_CLOSED
    if code == 131026:
        return FailureClass.UNDELIVERABLE
    if code == 131050:
        return FailureClass.MARKETING_STOPPED
    if code in NO_RETRY_CODES:
        return FailureClass.NO_RETRY
    if code in TEMPLATE_CODE_RANGE:
        return FailureClass.TEMPLATE
    if code == 190:
        return FailureClass.TOKEN_EXPIRED
    if http_status is not None and http_status >= 500:
        return FailureClass.TRANSIENT
    return FailureClass.PERMANENT


def classify_exception(exc: Exception) -> SendFailure:
    """Classify an exception raised by a pywa call."""
    if isinstance(exc, WhatsAppError):
        status = exc.status_code
        # pywa turns a non-JSON error response (a bare 500 or 504) into an error whose
        # `code` is the HTTP status; that is no Meta code.
        code = None if exc.raw.get("code") == status and status and status >= 500 else exc.code
        message = exc.message if not exc.details else f"{exc.message}: {exc.details}"
        return SendFailure(classify_code(code, status), code, message)
    if isinstance(exc, httpx.TimeoutException):
        return SendFailure(
            FailureClass.TRANSIENT, None, f"Graph API call timed out ({type(exc).__name__})"
        )
    if isinstance(exc, httpx.TransportError):
        return SendFailure(FailureClass.TRANSIENT, None, f"Graph API connection failed: {exc}")
    return SendFailure(FailureClass.PERMANENT, None, f"{type(exc).__name__}: {exc}")
