"""`wa-gateway campaign` and `wa-gateway templates list` on the test Redis, German and English."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from redis.asyncio import Redis

from common.clock import SystemClock
from gateway.catalog.store import CatalogStore
from gateway.cli import main
from tests.campaigns.conftest import BUSINESS, phone_of, sale_csv
from tests.catalog.templates import catalog


@pytest.fixture
def cli_env(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the CLI at the test Redis with a synced catalog; undo its logging set-up after."""
    monkeypatch.setenv("WAG_REDIS_URL", redis_url)
    monkeypatch.setenv("WAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAG_PHONE_NUMBER_ID", BUSINESS)
    monkeypatch.setenv("WAG_LOG_LEVEL", "warning")
    monkeypatch.setenv("WAG_LOG_FORMAT", "json")
    monkeypatch.setenv("WAG_LANGUAGE", "de")
    asyncio.run(_seed_catalog(redis_url))
    recipients = tmp_path / "kunden.csv"
    recipients.write_text(sale_csv([phone_of(1), phone_of(2)]) + "kaputt,X,Y\n", encoding="utf-8")
    yield recipients
    structlog.reset_defaults()


async def _seed_catalog(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await CatalogStore(redis, "wag:").store_synced(catalog(), SystemClock().now_ms(), pages=1)
    await redis.aclose()


def create(recipients: Path, capsys: pytest.CaptureFixture[str]) -> str:
    defaults = (
        '{"header": {"type": "image", "link": "https://cdn.example/a.jpg"}, '
        '"body": {"discount": "5 %"}}'
    )
    code = main(
        [
            "campaign",
            "create",
            str(recipients),
            "--template",
            "spring_sale",
            "--language",
            "de",
            "--defaults",
            defaults,
        ]
    )
    assert code == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_create_prints_german_summary(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "campaign",
            "create",
            str(cli_env),
            "--template",
            "spring_sale",
            "--language",
            "de",
            "--defaults",
            '{"header": {"type": "image", "link": "https://x.example/a.jpg"}, '
            '"body": {"discount": "5 %"}}',
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "2 Empfänger, 1 Zeilen abgelehnt" in captured.out
    assert "Zeile 4: invalid_number" in captured.err


def test_dry_run_counts(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    campaign_id = create(cli_env, capsys)
    assert main(["campaign", "dry-run", campaign_id]) == 0
    assert "0 von 2 würden gesendet, 2 blockiert" in capsys.readouterr().out


def test_english_output(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = create(cli_env, capsys)
    monkeypatch.setenv("WAG_LANGUAGE", "en")
    assert main(["campaign", "pause", campaign_id]) == 1
    assert main(["campaign", "cancel", campaign_id]) == 0
    assert f"campaign {campaign_id} is cancelled" in capsys.readouterr().out


def test_unknown_campaign_fails(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "status", "cmp_0000000000000000"]) == 1
    assert "not found" in capsys.readouterr().err


def test_templates_list_filters(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "list", "--status", "PAUSED"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert '"paused_promo"' in lines[0]
