"""Settings of the routing feature, from `WAG_ROUTING_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WAG_ROUTING_", env_file=".env", extra="ignore")

    config: Path | None = Field(
        None, description="TOML or JSON file with queues and engine settings, loaded at start-up."
    )
    sweep_max_sleep_ms: int = Field(
        200, ge=10, le=5000, description="Longest pause of the timed-step loop, in ms."
    )
