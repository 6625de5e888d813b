"""Redis key names of the template catalog."""

from __future__ import annotations


class CatalogKeys:
    """All catalog keys share the hash tag `{tpl}`: the catalog is small, and one slot lets
    a script touch a template and the indexes together on Redis Cluster."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def template(self, name: str, language: str) -> str:
        """Hash of one template: id, name, language, category, status, quality, reason,
        schema (JSON), components (JSON), and `status_at_ms`, `category_at_ms`,
        `quality_at_ms` (when each was last changed, so that an older change never wins)."""
        return f"{self.prefix}{{tpl}}:t:{name}:{language}"

    @property
    def index(self) -> str:
        """Set of `name:language` of every template in the catalog."""
        return f"{self.prefix}{{tpl}}:index"

    @property
    def ids(self) -> str:
        """Hash: Meta's template id -> `name:language`, for webhooks that name only the id."""
        return f"{self.prefix}{{tpl}}:ids"

    @property
    def sync_state(self) -> str:
        """Hash: synced_at_ms, count, pages of the last complete sync."""
        return f"{self.prefix}{{tpl}}:sync"

    def send_idempotency(self, token_id: str, key_digest: str) -> str:
        """The first response to a template send with an `Idempotency-Key`, per API token."""
        return f"{self.prefix}tplsend:idem:{token_id}:{key_digest}"
