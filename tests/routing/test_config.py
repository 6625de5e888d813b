"""The routing config file: parsing, validation, and loading at gateway start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from common.clock import ManualClock
from gateway.auth import Role
from gateway.routing_api import apply_config
from gateway.settings import Settings
from routing.config import load_config
from tests.helpers import running_gateway
from tests.routing.conftest import Desk

CONFIG = """
default_queue = "inbox"
max_missed_offers = 2
skills = ["billing"]

[channel_costs]
whatsapp = 30

[[queues]]
name = "sales-de"
order = 10
offer_timeout_s = 20
match = { languages = ["de"] }
bullseye = [{ after_s = 60, level_relax = 1 }, { after_s = 120, drop_skills = true }]
"""


def test_toml_parsed(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(CONFIG, encoding="utf-8")

    config = load_config(path)

    assert config.default_queue == "inbox"
    assert config.queues[0].bullseye[1].drop_skills is True
    assert config.channel_costs["whatsapp"] == 30


@pytest.mark.parametrize(
    "text",
    [
        '[[queues]]\nname = "a"\n[[queues]]\nname = "a"\n',
        "max_missed_offers = 0\n",
        '[[queues]]\nname = "a"\nunknown_setting = 1\n',
    ],
    ids=["duplicate-queue", "zero-missed-offers", "unknown-field"],
)
def test_invalid_config_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValidationError):
        load_config(path)


async def test_config_applied(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(CONFIG, encoding="utf-8")

    await apply_config(desk.router, desk.queues, load_config(path))

    names = [queue.name for queue in await desk.queues.all()]
    assert names == ["sales-de", "default", "inbox"]
    assert await desk.router.unknown_skills(["billing", "tarot"]) == ["tarot"]


async def test_gateway_loads_config(
    settings: Settings,
    clock: ManualClock,
    redis: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("WAG_ROUTING_CONFIG", str(path))

    async with running_gateway(settings, clock) as gateway:
        token = await gateway.token(Role.SUPERVISOR, "lead")
        status, data = await gateway.api("GET", "/api/v1/queues", token)

    assert status == 200
    assert [queue["name"] for queue in data["queues"]] == ["sales-de", "inbox"]
