"""The template catalog in Redis: what Meta approved, in which category, at which quality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from common.lua import load_script
from consent.templates import CATEGORIES, TemplateCategories
from gateway.catalog.keys import CatalogKeys
from gateway.catalog.schema import ParameterSchema, schema_of

APPROVED = "APPROVED"
# A template Meta no longer lists (deleted, or removed from the account).
DELETED = "DELETED"
# Status events of `message_template_status_update` that put a template back into service.
STATUS_EVENT_ALIASES = {"REINSTATED": APPROVED, "UNPAUSED": APPROVED}
MUTABLE_ATTRIBUTES = ("status", "category", "quality")


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    language: str
    template_id: str
    category: str  # MARKETING, UTILITY, AUTHENTICATION, as Meta sends it
    status: str  # APPROVED, PAUSED, DISABLED, REJECTED, PENDING, DELETED, ...
    quality: str  # GREEN, YELLOW, RED, UNKNOWN
    reason: str
    schema: ParameterSchema | None  # None until a sync has fetched the components
    components: list[dict[str, Any]]

    @property
    def sendable(self) -> bool:
        return self.status == APPROVED and self.schema is not None and not self.schema.unsupported

    def refusal(self) -> str | None:
        """Return why this template cannot be sent, or None when it can."""
        if self.status != APPROVED:
            reason = f" ({self.reason})" if self.reason else ""
            return f"template status is {self.status}{reason}; only APPROVED templates are sent"
        if self.schema is None:
            return "the template's components are not synced yet; run `wa-gateway templates sync`"
        if self.schema.unsupported:
            return "the template uses components this gateway cannot fill: " + ", ".join(
                self.schema.unsupported
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "language": self.language,
            "id": self.template_id,
            "category": self.category,
            "status": self.status,
            "quality": self.quality,
            "reason": self.reason or None,
            "sendable": self.sendable,
            "parameters": self.schema.to_dict() if self.schema else None,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a mutable attribute, from a webhook or a sync."""

    attribute: str  # status, category or quality
    value: str
    at_ms: int
    name: str
    language: str
    template_id: str = ""
    reason: str = ""


class CatalogStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = CatalogKeys(prefix)
        self._change = load_script(redis, "gateway.catalog", "change.lua")
        self._gate_categories = TemplateCategories(redis, prefix)

    async def get(self, name: str, language: str) -> Template | None:
        raw = await self._redis.hgetall(self._keys.template(name, language))
        return _template_of(raw) if raw else None

    async def list_all(self) -> list[Template]:
        members = sorted(
            _decoded(member) for member in await self._redis.smembers(self._keys.index)
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                name, _, language = member.partition(":")
                pipe.hgetall(self._keys.template(name, language))
            rows = await pipe.execute()
        return [_template_of(row) for row in rows if row]

    async def name_of(self, template_id: str) -> tuple[str, str] | None:
        """Return (name, language) of a Meta template id, or None when it is not in the catalog."""
        raw = await self._redis.hget(self._keys.ids, template_id)
        if raw is None:
            return None
        name, _, language = _decoded(raw).partition(":")
        return name, language

    async def apply(self, change: Change) -> bool:
        """Apply `change` unless a newer change of that attribute is stored.

        Return whether it was applied.
        """
        if change.attribute not in MUTABLE_ATTRIBUTES:
            msg = f"unknown template attribute {change.attribute!r}, expected one of "
            msg += ", ".join(MUTABLE_ATTRIBUTES)
            raise ValueError(msg)
        member = f"{change.name}:{change.language}"
        applied = await self._change(
            keys=[
                self._keys.template(change.name, change.language),
                self._keys.index,
                self._keys.ids,
            ],
            args=[
                change.attribute,
                change.value,
                change.at_ms,
                change.reason,
                member,
                change.template_id,
                change.name,
                change.language,
            ],
        )
        if applied and change.attribute == "category" and change.value.lower() in CATEGORIES:
            # The consent gate reads a template's purpose from its own copy of the category.
            await self._gate_categories.set(change.name, change.value)
        return bool(applied)

    async def store_synced(
        self, templates: list[dict[str, Any]], synced_at_ms: int, pages: int
    ) -> int:
        """Store the templates of a complete sync; mark the ones Meta no longer lists as deleted.

        Return how many templates were marked deleted.
        """
        seen: set[str] = set()
        for raw in templates:
            seen.add(await self._store_one(raw, synced_at_ms))

        known = {_decoded(member) for member in await self._redis.smembers(self._keys.index)}
        gone = known - seen
        for member in gone:
            name, _, language = member.partition(":")
            await self.apply(Change("status", DELETED, synced_at_ms, name, language))

        await self._redis.hset(
            self._keys.sync_state,
            mapping={"synced_at_ms": synced_at_ms, "count": len(seen), "pages": pages},
        )
        return len(gone)

    async def sync_state(self) -> dict[str, int]:
        raw = await self._redis.hgetall(self._keys.sync_state)
        return {_decoded(key): int(value) for key, value in raw.items()}

    async def _store_one(self, raw: dict[str, Any], synced_at_ms: int) -> str:
        name, language = str(raw["name"]), str(raw["language"])
        template_id = str(raw.get("id", ""))
        components = raw.get("components") or []
        await self._redis.hset(
            self._keys.template(name, language),
            mapping={
                "name": name,
                "language": language,
                "schema": orjson.dumps(schema_of(raw).to_dict()),
                "components": orjson.dumps(components),
            },
        )

        quality = (raw.get("quality_score") or {}).get("score", "UNKNOWN")
        for attribute, value in (
            ("status", str(raw.get("status", "UNKNOWN"))),
            ("category", str(raw.get("category", "UNKNOWN"))),
            ("quality", str(quality)),
        ):
            reason = str(raw.get("rejected_reason") or "") if attribute == "status" else ""
            if reason == "NONE":
                reason = ""
            await self.apply(
                Change(attribute, value, synced_at_ms, name, language, template_id, reason)
            )
        return f"{name}:{language}"


def _decoded(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _template_of(raw: dict[bytes | str, bytes | str]) -> Template:
    fields = {_decoded(key): _decoded(value) for key, value in raw.items()}
    schema_json = fields.get("schema")
    return Template(
        name=fields.get("name", ""),
        language=fields.get("language", ""),
        template_id=fields.get("id", ""),
        category=fields.get("category", "UNKNOWN"),
        status=fields.get("status", "UNKNOWN"),
        quality=fields.get("quality", "UNKNOWN"),
        reason=fields.get("reason", ""),
        schema=ParameterSchema.from_dict(orjson.loads(schema_json)) if schema_json else None,
        components=orjson.loads(fields.get("components", "[]")),
    )
