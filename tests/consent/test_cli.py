"""`wa-gateway consent ...` against the test server: import, verify, tamper, export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest
import redis as sync_redis

from consent.keys import ConsentKeys
from gateway.cli import build_parser
from gateway.settings import Settings
from tests.consent.conftest import TEXT_SHA256

BUSINESS = "156305421874268"
ROWS = [
    {
        "phone": "+4915112345678",
        "purpose": "marketing",
        "occurred_at": "2025-03-01T10:00:00Z",
        "evidence": "wamid.HBgL",
        "confirmed_at": "2025-03-01T10:05:00Z",
        "text_version_id": "legacy.v1",
        "text_sha256": TEXT_SHA256,
        "capture_source": "old-shop",
    },
    {
        "phone": "0176 12345678",
        "purpose": "marketing",
        "occurred_at": "2025-03-02T10:00:00Z",
        "text_version_id": "legacy.v1",
        "text_sha256": TEXT_SHA256,
    },
    {
        "phone": "+4915212345678",
        "purpose": "marketing",
        "occurred_at": "2025-03-02T10:00:00Z",
        "text_version_id": "legacy.v1",
        "text_sha256": TEXT_SHA256,
        "checkbox_default": "true",
    },
    {
        "phone": "+4915312345678",
        "purpose": "marketing",
        "text_version_id": "legacy.v1",
        "text_sha256": TEXT_SHA256,
    },
]


def main(argv: list[str]) -> int:
    """Run a CLI command in this process like `gateway.cli.main`, but without configuring logging.

    `main()` would point structlog at pytest's captured stderr, which is closed after the test,
    and loggers cached meanwhile would then fail in later tests.
    """
    args = build_parser().parse_args(argv)
    code: int = args.handler(args, Settings())
    return code


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, redis_url: str, tmp_path: Path) -> Path:
    monkeypatch.setenv("WAG_REDIS_URL", redis_url)
    monkeypatch.setenv("WAG_PHONE_NUMBER_ID", BUSINESS)
    monkeypatch.setenv("WAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAG_LOG_LEVEL", "warning")
    path = tmp_path / "consents.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in ROWS))
    return path


def _export(capsys: pytest.CaptureFixture[str], fmt: str) -> str:
    capsys.readouterr()
    assert main(["consent", "export", "--format", fmt]) == 0
    return capsys.readouterr().out


def test_import_reports_rows(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rows with evidence become active, rows without unverified; bad rows are named by line."""
    code = main(["consent", "import", str(cli_env)])
    out = capsys.readouterr().out

    assert code == 1
    assert "4 rows: 1 active, 1 unverified" in out
    assert "line 3: checkbox_default is true" in out
    assert "line 4: occurred_ms is missing" in out


def test_import_twice_adds_nothing(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["consent", "import", str(cli_env)])
    main(["consent", "import", str(cli_env)])

    assert "2 already imported" in capsys.readouterr().out


def test_unverified_import_denied(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["consent", "import", str(cli_env)])
    events = [orjson.loads(line) for line in _export(capsys, "jsonl").splitlines()]

    states = {(event["personal"]["phone"], event["type"]): event["state"] for event in events}
    assert states[("+4915112345678", "confirmed")] == "active"
    assert states[("+4917612345678", "given")] == "unverified"


def test_verify_ok(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["consent", "import", str(cli_env)])
    capsys.readouterr()

    assert main(["consent", "verify"]) == 0
    assert f"{BUSINESS} ledger: ok, 3 entries" in capsys.readouterr().out


@pytest.mark.parametrize("tamper", ["edit", "delete"], ids=["edited", "deleted"])
def test_verify_finds_tampering(
    cli_env: Path, capsys: pytest.CaptureFixture[str], redis_url: str, tamper: str
) -> None:
    main(["consent", "import", str(cli_env)])
    client = sync_redis.Redis.from_url(redis_url)
    key = ConsentKeys("wag:").ledger(BUSINESS)
    if tamper == "edit":
        entry = orjson.loads(client.lindex(key, 1))  # type: ignore[arg-type]
        entry["purpose"] = "service_updates"
        client.lset(key, 1, orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
    else:
        client.lrem(key, 1, client.lindex(key, 1))  # type: ignore[arg-type]
    client.close()
    capsys.readouterr()

    code = main(["consent", "verify"])

    assert code == 1
    assert "ledger: BROKEN at position 1" in capsys.readouterr().out


def test_export_salesforce(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["consent", "import", str(cli_env)])
    records = [orjson.loads(line) for line in _export(capsys, "salesforce").splitlines()]

    confirmed = next(
        record
        for record in records
        if record["ContactPointTypeConsent"]["PrivacyConsentStatus"] == "OptIn"
    )
    consent = confirmed["ContactPointTypeConsent"]
    assert consent["CaptureDate"] == "2025-03-01T10:05:00.000Z"
    assert consent["DoubleConsentCaptureDate"] == "2025-03-01T10:05:00.000Z"
    assert consent["CaptureSource"] == "old-shop"
    assert consent["DataUsePurpose"] == {"Name": "marketing"}
    assert confirmed["ContactPointConsent"]["ContactPoint"] == {"TelephoneNumber": "+4915112345678"}


def test_export_csv(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["consent", "import", str(cli_env)])
    rows = list(csv.DictReader(io.StringIO(_export(capsys, "csv"))))

    assert [row["type"] for row in rows] == ["given", "confirmed", "given"]
    assert rows[0]["phone"] == "+4915112345678"


def test_load_default_texts(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["consent", "texts", "--business-name", "Beispiel GmbH"])

    assert code == 0
    assert "marketing.de.v1" in capsys.readouterr().out


def test_verify_finds_state_written_around_ledger(
    cli_env: Path, capsys: pytest.CaptureFixture[str], redis_url: str
) -> None:
    """A state set directly in Redis, with no ledger event behind it, fails verification."""
    main(["consent", "import", str(cli_env)])
    client = sync_redis.Redis.from_url(redis_url)
    state_keys = [key for key in client.scan_iter(match="wag:consent:*:state*")]
    assert state_keys
    field = next(iter(client.hkeys(state_keys[-1])))
    client.hset(state_keys[-1], field, b"active|cev_forged|0")
    client.close()
    capsys.readouterr()

    code = main(["consent", "verify"])

    assert code == 1
    assert "differ from the ledger" in capsys.readouterr().out
    assert main(["consent", "rebuild", "--check"]) == 1
