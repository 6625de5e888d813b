"""Names shared by the routing engine and its callers: channels, presences, states."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    VOICE = "voice"
    EMAIL = "email"
    WEBCHAT = "webchat"


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    WRAP_UP = "wrap_up"


class State(StrEnum):
    """Life cycle: queued -> offered -> assigned (-> held) -> wrap_up -> closed, or abandoned."""

    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    HELD = "held"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"
    ABANDONED = "abandoned"


# States in which an interaction takes capacity of an agent (when `holds_capacity` is set).
HOLDING_STATES = frozenset({State.OFFERED, State.ASSIGNED, State.HELD, State.WRAP_UP})

# Units a conversation costs by default out of an agent's 100, so a voice call blocks
# chats while three chats and an e-mail fit together.
DEFAULT_CHANNEL_COSTS: dict[Channel, int] = {
    Channel.WHATSAPP: 25,
    Channel.WEBCHAT: 25,
    Channel.EMAIL: 20,
    Channel.VOICE: 100,
}
DEFAULT_CAPACITY_UNITS = 100
