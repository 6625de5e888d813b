"""The configuration reference lists every setting."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import Settings

REFERENCE = Path(__file__).parent.parent / "docs" / "configuration.md"


def test_every_setting_is_documented():
    text = REFERENCE.read_text(encoding="utf-8")
    missing = [f"WAG_{name.upper()}" for name in Settings.model_fields
               if f"`WAG_{name.upper()}`" not in text]
    assert missing == []


def test_every_setting_has_a_description():
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []
