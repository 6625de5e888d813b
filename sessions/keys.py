"""Redis key names of the sessions package."""

from __future__ import annotations


class SessionKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def conversation(self, conversation_id: str) -> str:
        """Hash: phone_number_id, customer_id, wa_id, user_id, created_at_ms,
        last_customer_message_at_ms (max of Meta's timestamps), referral_at_ms, referral."""
        return f"{self.prefix}conv:{{{conversation_id}}}"

    def history(self, conversation_id: str) -> str:
        """Sorted set of message keys (wamid or our message id) by Meta's timestamp."""
        return f"{self.prefix}conv:{{{conversation_id}}}:history"

    def conversations(self) -> str:
        """Sorted set of all conversation ids by creation time."""
        return f"{self.prefix}convs"

    def message(self, message_key: str) -> str:
        """Hash of one message: direction, type, text, status, conversation_id, ..."""
        return f"{self.prefix}msg:{{{message_key}}}"

    def message_statuses(self, message_key: str) -> str:
        """List of the message's status events as JSON, in arrival order."""
        return f"{self.prefix}msg:{{{message_key}}}:statuses"

    def wamid_link(self, wamid: str) -> str:
        """Our message id of an outbound wamid."""
        return f"{self.prefix}wamid:{{{wamid}}}"

    def identity(self, phone_number_id: str, wa_id: str) -> str:
        """Which customer id a wa_id maps to (after number changes, username ids)."""
        return f"{self.prefix}identity:{phone_number_id}:{wa_id}"

    # Service windows (sessions/windows.py)

    def window_expiry(self) -> str:
        """Sorted set: conversation id -> service window expiry (ms), for warnings and routing."""
        return f"{self.prefix}windows:expiry"
