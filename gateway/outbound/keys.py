"""Redis key names of the outbound path."""

from __future__ import annotations


class OutboundKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def stream(self) -> str:
        """Sends waiting for a sender worker (format in `gateway.outbound.records`)."""
        return f"{self.prefix}{{outbound}}:stream"

    @property
    def delayed(self) -> str:
        """Sorted set: message id -> when its send is due again (retries, pacing)."""
        return f"{self.prefix}{{outbound}}:delayed"

    @property
    def delayed_jobs(self) -> str:
        """Hash: message id -> stream fields (JSON) of a delayed send."""
        return f"{self.prefix}{{outbound}}:delayed:jobs"

    @property
    def paused(self) -> str:
        """Hash set while sending is paused: reason, token_fingerprint, at_ms."""
        return f"{self.prefix}{{outbound}}:paused"

    @property
    def events(self) -> str:
        """Stream of send outcomes that need action: marketing stopped, undeliverable, ..."""
        return f"{self.prefix}{{outbound}}:events"

    def sent_marker(self, message_id: str) -> str:
        """The wamid Meta returned for a message id, so that a reclaimed send is not repeated."""
        return f"{self.prefix}out:{{{message_id}}}:sent"

    def inflight_marker(self, message_id: str) -> str:
        """When a call for this message id started; its outcome is unknown until it ends."""
        return f"{self.prefix}out:{{{message_id}}}:inflight"

    def upload(self, message_id: str) -> str:
        """Hash: bytes, mime_type, filename of media waiting to be uploaded with its send."""
        return f"{self.prefix}out:{{{message_id}}}:upload"

    def resend_marker(self, message_id: str) -> str:
        """Set once a failed message was sent again; a redelivered status cannot repeat it."""
        return f"{self.prefix}out:{{{message_id}}}:resent"

    def number_bucket(self, phone_number_id: str) -> str:
        """Token bucket of one business number."""
        return f"{self.prefix}tb:pn:{{{phone_number_id}}}"

    def recipient_bucket(self, conversation_id: str) -> str:
        """Token bucket of one (business number, customer) pair: Meta's pair rate limit."""
        return f"{self.prefix}tb:conv:{{{conversation_id}}}"
