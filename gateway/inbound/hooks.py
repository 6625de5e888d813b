"""Extension points of inbound processing.

Features register callbacks here in their `setup(app)`: `app[INBOUND_HOOKS].on_message.append(fn)`.
The inbound worker calls them after the update is stored and deduplicated, so each runs
once per new message or status (at least once if a worker dies mid-way: hooks must be
idempotent, for example by keying their writes on the wamid).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from sessions.model import FieldEvent, InboundMessage, StatusUpdate

MessageHook = Callable[[InboundMessage, str], Awaitable[None]]  # (message, conversation_id)
StatusHook = Callable[[StatusUpdate], Awaitable[None]]
FieldHook = Callable[[FieldEvent], Awaitable[None]]


@dataclass
class InboundHooks:
    on_message: list[MessageHook] = field(default_factory=list)
    on_status: list[StatusHook] = field(default_factory=list)
    on_field: list[FieldHook] = field(default_factory=list)


INBOUND_HOOKS = web.AppKey("inbound_hooks", InboundHooks)
