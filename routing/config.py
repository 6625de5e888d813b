"""Queue, agent and engine configuration: pydantic models for the config file and the API."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from routing.model import DEFAULT_CAPACITY_UNITS, DEFAULT_CHANNEL_COSTS, Channel

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
AgentId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
SkillName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
SkillLevel = Annotated[int, Field(ge=0, le=10)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueMatch(Strict):
    """Rules that select the interactions a queue takes; an empty list matches anything."""

    business_numbers: list[str] = Field(
        default_factory=list, description="WhatsApp phone_number_id values."
    )
    languages: list[Language] = Field(default_factory=list)
    sources: list[str] = Field(
        default_factory=list,
        description="Referral source: Meta's source_type (`ad`, `post`), a source_id or an ad id.",
    )
    channels: list[Channel] = Field(default_factory=list)

    def matches(
        self,
        channel: str,
        business_number: str | None,
        language: str | None,
        sources: set[str],
    ) -> bool:
        """Return True when every non-empty rule admits the interaction."""
        if self.channels and channel not in self.channels:
            return False
        if self.business_numbers and business_number not in self.business_numbers:
            return False
        if self.languages and language not in self.languages:
            return False
        return not self.sources or bool(sources.intersection(self.sources))


class ServiceLevel(Strict):
    percent: float = Field(80, gt=0, le=100, description="Target share answered in time.")
    within_s: int = Field(60, gt=0, description="Answered within this many seconds.")


class BullseyeStep(Strict):
    """From `after_s` of waiting on, required levels drop by `level_relax` (not below 0)
    and the skills in `drop_skills` (or all of them with `true`) are no longer required."""

    after_s: int = Field(gt=0)
    level_relax: int = Field(0, ge=0, le=10)
    drop_skills: bool | list[SkillName] = False


class QueueConfig(Strict):
    name: Name
    match: QueueMatch = Field(default_factory=QueueMatch)
    order: int = Field(100, description="Queues are matched in ascending order, then by name.")
    priority: int = Field(0, ge=0, le=100, description="Priority of WhatsApp chats in this queue.")
    service_level: ServiceLevel = Field(default_factory=ServiceLevel)
    offer_timeout_s: int = Field(30, ge=1, le=3600)
    bullseye: list[BullseyeStep] = Field(default_factory=list)
    sticky_wait_s: int = Field(
        30, ge=0, le=86_400, description="How long a returning customer waits for their last agent."
    )
    wrap_up_s: int = Field(
        0, ge=0, le=3600, description="Capacity stays taken this long after close."
    )
    hold_frees_capacity: bool = False
    window_urgent_s: int = Field(
        3600, ge=0, description="A chat whose service window closes within this moves ahead."
    )
    window_warnings_s: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: [3600, 900],
        description="Warn the assigned agent this many seconds before the service window closes.",
    )
    abandon_on_window_close: bool = Field(
        True, description="Count a chat abandoned when its window closes while it waits."
    )

    @field_validator("bullseye")
    @classmethod
    def _steps_ascend(cls, steps: list[BullseyeStep]) -> list[BullseyeStep]:
        times = [step.after_s for step in steps]
        if times != sorted(set(times)):
            msg = f"bullseye steps need strictly ascending after_s, got {times}"
            raise ValueError(msg)
        return steps

    def stored(self) -> dict[str, Any]:
        """Return the JSON document that the Lua scripts read."""
        data = self.model_dump(mode="json")
        data["service_level_within_s"] = self.service_level.within_s
        return data


class AgentSpec(Strict):
    id: AgentId
    name: str = Field(min_length=1, max_length=200)
    skills: dict[SkillName, SkillLevel] = Field(default_factory=dict)
    languages: list[Language] = Field(default_factory=list)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: {Channel.WHATSAPP: 3}
    )
    capacity_units: int | None = Field(
        DEFAULT_CAPACITY_UNITS,
        ge=1,
        description="Cross-channel budget; each open conversation costs its channel's units. "
        "null turns the budget off.",
    )
    channel_costs: dict[Channel, Annotated[int, Field(ge=0, le=10_000)]] | None = None
    queues: list[Name] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == "me":
            msg = "`me` is reserved for the calling agent's own routes; choose another id"
            raise ValueError(msg)
        return value

    def costs(self, defaults: dict[Channel, int]) -> dict[str, int]:
        """Return the cost of each channel, this agent's overrides over the defaults."""
        merged = {channel.value: cost for channel, cost in defaults.items()}
        for channel, cost in (self.channel_costs or {}).items():
            merged[channel.value] = cost
        return merged


class RoutingConfig(Strict):
    """Engine settings and queues, from the file named by `WAG_ROUTING_CONFIG`."""

    default_queue: Name = "default"
    queues: list[QueueConfig] = Field(default_factory=list)
    skills: list[SkillName] = Field(
        default_factory=list, description="Skills interactions may require."
    )
    channel_costs: dict[Channel, int] = Field(default_factory=lambda: dict(DEFAULT_CHANNEL_COSTS))
    max_missed_offers: int = Field(
        3, ge=1, description="Missed offers in a row that set an agent away."
    )
    scan_depth: int = Field(
        50, ge=1, le=10_000, description="Waiting interactions per queue examined per match."
    )
    event_maxlen: int = Field(
        100_000, ge=1000, description="Approximate length of the event stream."
    )

    @model_validator(mode="after")
    def _unique_queue_names(self) -> RoutingConfig:
        names = [queue.name for queue in self.queues]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            msg = f"queue names must be unique; repeated: {', '.join(duplicates)}"
            raise ValueError(msg)
        return self


def load_config(path: Path | None) -> RoutingConfig:
    """Read a TOML or JSON routing config; no path gives the defaults."""
    if path is None:
        return RoutingConfig()
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    return RoutingConfig.model_validate(data)
