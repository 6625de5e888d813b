"""Consent forms: the purposes and business number of each form, and its signed tokens.

The form `default` requests every purpose that has a current text. A form token signs the form
id, the language and the exact text versions shown, so the stored event names the text the
customer saw even if an admin publishes a new version meanwhile; it also serves as the CSRF
token, because only a page this gateway rendered carries a valid one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field

import orjson
from redis.asyncio import Redis

from common.clock import Clock
from consent.keys import ConsentKeys

DEFAULT_FORM_ID = "default"
TOKEN_LIFETIME_MS = 2 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class FormConfig:
    form_id: str
    purposes: list[str] = field(default_factory=list)  # empty: every purpose with a current text
    capture_source: str | None = None
    phone_number_id: str | None = None  # None: the gateway's configured business number
    display_phone_number: str | None = None
    business_name: str | None = None


@dataclass(frozen=True, slots=True)
class FormToken:
    form_id: str
    language: str
    versions: dict[str, str]  # purpose -> text version id
    issued_ms: int
    nonce: str


class FormStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = ConsentKeys(prefix)

    async def get(self, form_id: str) -> FormConfig | None:
        if form_id == DEFAULT_FORM_ID:
            raw = await self._redis.hget(self._keys.forms, form_id)
            return FormConfig(**orjson.loads(raw)) if raw else FormConfig(DEFAULT_FORM_ID)
        raw = await self._redis.hget(self._keys.forms, form_id)
        return FormConfig(**orjson.loads(raw)) if raw else None

    async def put(self, config: FormConfig) -> None:
        await self._redis.hset(self._keys.forms, config.form_id, orjson.dumps(asdict(config)))


class FormTokens:
    """Issue and check signed, single-use form tokens."""

    def __init__(self, redis: Redis, prefix: str, clock: Clock, secret: bytes) -> None:
        self._redis = redis
        self._keys = ConsentKeys(prefix)
        self._clock = clock
        self._key = hmac.new(secret, b"consent-form-token", hashlib.sha256).digest()

    def issue(self, form_id: str, language: str, versions: dict[str, str]) -> str:
        token = FormToken(form_id, language, versions, self._clock.now_ms(), secrets.token_hex(12))
        payload = base64.urlsafe_b64encode(orjson.dumps(asdict(token))).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def read(self, raw: str, form_id: str) -> FormToken | None:
        """Return the token when its signature, form id and age are valid; None otherwise."""
        payload, _, signature = raw.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            token = FormToken(**data)
        except (ValueError, TypeError):
            return None
        age_ms = self._clock.now_ms() - token.issued_ms
        if token.form_id != form_id or age_ms < 0 or age_ms > TOKEN_LIFETIME_MS:
            return None
        return token

    async def use(self, token: FormToken) -> bool:
        """Mark the token used; return False when it was used before (a replayed submission)."""
        stored = await self._redis.set(
            self._keys.form_nonce(token.nonce), "1", nx=True, px=TOKEN_LIFETIME_MS
        )
        return bool(stored)

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()
