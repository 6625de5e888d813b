"""The current Meta category of each template, which decides the purpose the gate requires.

Meta may recategorise a template, for example from utility to marketing. The template sync and
the `template_category_update` webhook write the new category here, and the gate reads the
category stored at decision time.
"""

from __future__ import annotations

from redis.asyncio import Redis

from consent.keys import ConsentKeys
from consent.model import as_text

CATEGORIES = ("marketing", "utility", "authentication")


def normalize_category(category: str) -> str:
    """Return Meta's category in lower case (Meta writes `MARKETING`).

    Raise ValueError if unknown.
    """
    value = category.strip().lower()
    if value not in CATEGORIES:
        known = ", ".join(CATEGORIES)
        msg = f"template category `{category}` is unknown; Meta's categories are {known}"
        raise ValueError(msg)
    return value


class TemplateCategories:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = ConsentKeys(prefix).template_categories

    async def set(self, template_name: str, category: str) -> None:
        """Store the current category of a template; later gate decisions use it at once."""
        await self._redis.hset(self._key, template_name, normalize_category(category))

    async def get(self, template_name: str) -> str | None:
        raw = await self._redis.hget(self._key, template_name)
        return as_text(raw) if raw else None

    async def all(self) -> dict[str, str]:
        raw = await self._redis.hgetall(self._key)
        return {as_text(name): as_text(value) for name, value in raw.items()}
