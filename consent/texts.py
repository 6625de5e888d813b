"""Versioned consent texts per purpose and language.

A version is immutable once created: the ledger refers to it by id and SHA-256, so a text
that was shown to customers is never changed, only superseded by a new version.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from common.clock import Clock
from consent.errors import InvalidRecord, UnknownText
from consent.keys import ConsentKeys
from consent.model import DEFAULT_PURPOSES, LANGUAGES, as_text

BUSINESS_PLACEHOLDER = "{business_name}"
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class TextVersion:
    version_id: str
    purpose: str
    language: str
    text: str  # exactly as shown, with the business name filled in
    business_name: str
    sha256: str
    created_ms: int
    supersedes: str | None = None


def text_sha256(text: str) -> str:
    """Return the SHA-256 of the NFC-normalised UTF-8 text, as the ledger records it."""
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode()).hexdigest()


class TextStore:
    def __init__(
        self, redis: Redis, prefix: str, clock: Clock, purposes: tuple[str, ...] = DEFAULT_PURPOSES
    ) -> None:
        self._redis = redis
        self._keys = ConsentKeys(prefix)
        self._clock = clock
        self.purposes = purposes

    async def add(self, purpose: str, language: str, text: str, business_name: str) -> TextVersion:
        """Create a new version that supersedes the current one; an identical text returns the
        current version.

        Raises InvalidRecord when the purpose or language is unknown, or when the text does
        not name the business or does not tell how to withdraw (reply STOP).
        """
        rendered = self._validate(purpose, language, text, business_name)
        slot = f"{purpose}:{language}"
        current = await self.current(purpose, language)
        if (
            current is not None
            and current.text == rendered
            and current.business_name == business_name
        ):
            return current

        number = await self._redis.hincrby(self._keys.text_counters, slot, 1)
        version = TextVersion(
            version_id=f"{purpose}.{language}.v{number}",
            purpose=purpose,
            language=language,
            text=rendered,
            business_name=business_name,
            sha256=text_sha256(rendered),
            created_ms=self._clock.now_ms(),
            supersedes=current.version_id if current else None,
        )
        # HSETNX: a version id, once written, never gets other content.
        await self._redis.hsetnx(
            self._keys.texts, version.version_id, orjson.dumps(asdict(version))
        )
        await self._redis.hset(self._keys.current_texts, slot, version.version_id)
        return version

    def _validate(self, purpose: str, language: str, text: str, business_name: str) -> str:
        if purpose not in self.purposes:
            raise InvalidRecord(
                f"purpose `{purpose}` is unknown; use one of {', '.join(self.purposes)}",
                field="purpose",
                value=purpose,
            )
        if language not in LANGUAGES:
            raise InvalidRecord(
                f"language `{language}` is not supported; use one of {', '.join(LANGUAGES)}",
                field="language",
                value=language,
            )
        if not business_name.strip():
            raise InvalidRecord(
                "business_name is empty; give the name customers know the business by",
                field="business_name",
                value=business_name,
            )
        rendered = unicodedata.normalize(
            "NFC", text.replace(BUSINESS_PLACEHOLDER, business_name).strip()
        )
        if not rendered or len(rendered) > MAX_TEXT_CHARS:
            raise InvalidRecord(
                f"text must have 1 to {MAX_TEXT_CHARS} characters",
                field="text",
                value=len(rendered),
            )
        if business_name not in rendered:
            raise InvalidRecord(
                f"the text does not name the business `{business_name}`; write it or "
                f"{BUSINESS_PLACEHOLDER} into the text",
                field="text",
            )
        if "STOP" not in rendered:
            # GDPR Art. 7(3): the person must be informed before consenting how to withdraw.
            raise InvalidRecord(
                "the text does not tell how to withdraw; add for example "
                '"Antworten Sie STOP" or "Reply STOP"',
                field="text",
            )
        return rendered

    async def get(self, version_id: str) -> TextVersion:
        raw = await self._redis.hget(self._keys.texts, version_id)
        if raw is None:
            raise UnknownText(
                f"consent text version `{version_id}` does not exist",
                field="text_version_id",
                value=version_id,
            )
        return TextVersion(**orjson.loads(raw))

    async def current(self, purpose: str, language: str) -> TextVersion | None:
        version_id = await self._redis.hget(self._keys.current_texts, f"{purpose}:{language}")
        return await self.get(as_text(version_id)) if version_id else None

    async def current_for(self, language: str) -> dict[str, TextVersion]:
        """Return the current text of every purpose that has one in `language`, in purpose order."""
        found: dict[str, TextVersion] = {}
        for purpose in self.purposes:
            version = await self.current(purpose, language)
            if version is not None:
                found[purpose] = version
        return found

    async def load(
        self, entries: list[dict[str, Any]], business_name: str | None = None
    ) -> list[TextVersion]:
        """Add each `{"purpose", "language", "text", "business_name"}`.

        `business_name` fills gaps.
        """
        versions = []
        for entry in entries:
            name = entry.get("business_name") or business_name or ""
            versions.append(
                await self.add(entry["purpose"], entry["language"], entry["text"], name)
            )
        return versions


def default_texts() -> list[dict[str, Any]]:
    """Return the German and English texts shipped with the gateway."""
    raw = resources.files("consent").joinpath("texts_default.json").read_bytes()
    entries: list[dict[str, Any]] = orjson.loads(raw)
    return entries


def read_texts_file(path: Path) -> list[dict[str, Any]]:
    """Read a JSON list of text entries (same shape as `texts_default.json`)."""
    entries = orjson.loads(path.read_bytes())
    if not isinstance(entries, list):
        msg = (
            f"{path} must contain a JSON list of {{purpose, language, text, business_name}} objects"
        )
        raise ValueError(msg)
    return entries
