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

    def message(self, conversation_id: str, message_key: str) -> str:
        """Hash of one message (key: wamid inbound, our message id outbound): direction,
        type, text, status, status_rank, timestamp_ms, seen:<status> markers."""
        return f"{self.prefix}conv:{{{conversation_id}}}:msg:{message_key}"

    def message_statuses(self, conversation_id: str, message_key: str) -> str:
        """List of the message's status events as JSON, in arrival order."""
        return f"{self.prefix}conv:{{{conversation_id}}}:msg:{message_key}:statuses"

    def wamid_link(self, wamid: str) -> str:
        """String `<conversation_id> <message_key>` for a wamid we stored or sent."""
        return f"{self.prefix}wamid:{{{wamid}}}"

    def wamid_pending(self, wamid: str) -> str:
        """Set of status events (JSON) that arrived before their message was known."""
        return f"{self.prefix}wamid:{{{wamid}}}:pending"

    def message_id_link(self, message_id: str) -> str:
        """Conversation id of one of our outbound message ids."""
        return f"{self.prefix}mid:{{{message_id}}}"

    def identity(self, phone_number_id: str, wa_id: str) -> str:
        """Customer id that a wa_id maps to (username ids, number changes)."""
        return f"{self.prefix}identity:{{{phone_number_id}:{wa_id}}}"

    # Service windows (sessions/windows.py)

    def window_expiry(self) -> str:
        """Sorted set: conversation id -> service window expiry (ms), for warnings and routing."""
        return f"{self.prefix}windows:expiry"
