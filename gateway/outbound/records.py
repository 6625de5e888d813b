"""One send on the outbound stream, and how it is written to and read from Redis.

Stream `<prefix>{outbound}:stream`, one entry per send attempt, all fields strings:

==================  ==========================================================================
`message_id`        our message id (`m_` + 24 hex), also sent to Meta as
                    `biz_opaque_callback_data`, so status webhooks carry it back
`conversation_id`   `sessions.conversations.conversation_id_for(phone_number_id, customer_id)`
`phone_number_id`   business number to send from
`to`                the customer's wa_id, or the business-scoped user id when no wa_id is known
`kind`              `text`, `image`, `audio`, `video`, `document`, `sticker`, `interactive`,
                    `template` or `reaction`
`body`              JSON of the Graph API object for `kind`, as Meta documents it:
                    text `{"body", "preview_url"}`; media `{"id"|"link", "caption", "filename"}`;
                    interactive `{"type": "button"|"list", "body", "action", ...}`;
                    template `{"name", "language": {"code"}, "components": [...]}`
`reply_to`          wamid to quote, or empty
`free_form`         `1` when the service window must be open at send time (everything but
                    templates), `0` otherwise
`reason`            why it is sent: `agent_reply`, `consent_confirmation`, `template_api`,
                    `campaign:<id>`, ... (logged and kept in the message's content)
`attempt`           1 for the first attempt
`window_retry`      `1` after the one retry that Meta's 131047 inside an open window earns
`upload`            `1` when the media bytes wait under `OutboundKeys.upload(message_id)`
`retry_of`          message id of the failed message this one sends again, or empty
`enqueued_at_ms`    when the send was accepted
==================  ==========================================================================

Other parts enqueue through `gateway.outbound.service.OutboundService`, which also writes
the history entry; writing to the stream directly skips the history and the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson
from redis.typing import EncodableT, FieldT

FREE_FORM_KINDS = frozenset(
    {"text", "image", "audio", "video", "document", "sticker", "interactive", "reaction"}
)
KINDS = FREE_FORM_KINDS | {"template"}


@dataclass(frozen=True, slots=True)
class OutboundJob:
    message_id: str
    conversation_id: str
    phone_number_id: str
    to: str
    kind: str
    body: dict[str, Any]
    reason: str
    enqueued_at_ms: int
    reply_to: str | None = None
    attempt: int = 1
    window_retry: bool = False
    upload: bool = False
    retry_of: str | None = None

    @property
    def free_form(self) -> bool:
        return self.kind in FREE_FORM_KINDS

    def next_attempt(self, *, window_retry: bool | None = None) -> OutboundJob:
        return replace(
            self,
            attempt=self.attempt + 1,
            window_retry=self.window_retry if window_retry is None else window_retry,
        )

    def to_fields(self) -> dict[FieldT, EncodableT]:
        """Return the stream entry fields."""
        return {
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "phone_number_id": self.phone_number_id,
            "to": self.to,
            "kind": self.kind,
            "body": orjson.dumps(self.body).decode(),
            "reply_to": self.reply_to or "",
            "free_form": "1" if self.free_form else "0",
            "reason": self.reason,
            "attempt": str(self.attempt),
            "window_retry": "1" if self.window_retry else "0",
            "upload": "1" if self.upload else "0",
            "retry_of": self.retry_of or "",
            "enqueued_at_ms": str(self.enqueued_at_ms),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[Any, Any]) -> OutboundJob:
        """Read a stream entry; raises KeyError or ValueError on a malformed one."""
        data = {
            (key.decode() if isinstance(key, bytes) else key): (
                value.decode() if isinstance(value, bytes) else value
            )
            for key, value in fields.items()
        }
        kind = data["kind"]
        if kind not in KINDS:
            msg = f"unknown outbound kind {kind!r}"
            raise ValueError(msg)
        return cls(
            message_id=data["message_id"],
            conversation_id=data["conversation_id"],
            phone_number_id=data["phone_number_id"],
            to=data["to"],
            kind=kind,
            body=orjson.loads(data["body"]),
            reason=data.get("reason", ""),
            enqueued_at_ms=int(data.get("enqueued_at_ms") or 0),
            reply_to=data.get("reply_to") or None,
            attempt=int(data.get("attempt") or 1),
            window_retry=data.get("window_retry") == "1",
            upload=data.get("upload") == "1",
            retry_of=data.get("retry_of") or None,
        )

    def as_content(self) -> dict[str, Any]:
        """Return what the history keeps of the send, enough to send it again."""
        content = asdict(self)
        del content["attempt"]
        return content
