"""Queue configurations in Redis, and the choice of queue for a new interaction."""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from routing.config import QueueConfig
from routing.engine import Router
from routing.errors import RoutingError
from routing.values import RawHash


class QueueDirectory:
    def __init__(self, router: Router) -> None:
        self._router = router
        self._redis = router.redis
        self._keys = router.keys

    async def save(self, queue: QueueConfig, *, create_only: bool = False) -> bool:
        """Store a queue; return True when it is new. Waiting work is offered again,
        because new bullseye steps or timeouts may let it match now."""
        payload = orjson.dumps(queue.stored())
        if create_only:
            created = bool(await self._redis.hsetnx(self._keys.queues, queue.name, payload))
            if not created:
                raise RoutingError(
                    "queue_exists",
                    f"queue `{queue.name}` already exists; "
                    f"replace it with PUT /api/v1/queues/{queue.name}",
                )
        else:
            created = bool(await self._redis.hset(self._keys.queues, queue.name, payload))
        await self._router.dispatch([queue.name])
        return created

    async def get(self, name: str) -> QueueConfig:
        raw = await self._redis.hget(self._keys.queues, name)
        if raw is None:
            raise RoutingError("queue_not_found", f"queue `{name}` does not exist")
        return _parse(raw)

    async def all(self) -> list[QueueConfig]:
        """Return every queue in match order: ascending `order`, then name."""
        return parse_queues(await self._redis.hgetall(self._keys.queues))

    async def choose(
        self,
        *,
        channel: str,
        business_number: str | None = None,
        language: str | None = None,
        sources: set[str] | None = None,
        fallback: str = "default",
    ) -> QueueConfig:
        """Return the first queue whose match rules admit the interaction, else `fallback`."""
        return choose_queue(
            await self.all(),
            channel=channel,
            business_number=business_number,
            language=language,
            sources=sources or set(),
            fallback=fallback,
        )


def parse_queues(raw: RawHash) -> list[QueueConfig]:
    """Parse the queues hash into configs in match order: ascending `order`, then name."""
    queues = [_parse(value) for value in raw.values()]
    return sorted(queues, key=lambda queue: (queue.order, queue.name))


def choose_queue(
    queues: list[QueueConfig],
    *,
    channel: str,
    business_number: str | None,
    language: str | None,
    sources: set[str],
    fallback: str,
) -> QueueConfig:
    """Return the first of `queues` whose match rules admit the interaction, else `fallback`."""
    for queue in queues:
        if queue.match.matches(channel, business_number, language, sources):
            return queue
    for queue in queues:
        if queue.name == fallback:
            return queue
    raise RoutingError("queue_not_found", f"queue `{fallback}` does not exist")


# Parsed configs by their stored JSON: intake parses every queue for each inbound message,
# and the stored text changes only when an admin saves the queue.
_PARSED: dict[bytes | str, QueueConfig] = {}
_PARSED_MAX = 1024


def _parse(raw: bytes | str) -> QueueConfig:
    cached = _PARSED.get(raw)
    if cached is not None:
        return cached
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[raw] = config = _validate(raw)
    return config


def _validate(raw: bytes | str) -> QueueConfig:
    data = orjson.loads(raw)
    data.pop("service_level_within_s", None)
    try:
        return QueueConfig.model_validate(data)
    except ValidationError as exc:
        msg = f"stored queue config is invalid: {exc}"
        raise RoutingError("queue_corrupt", msg) from exc
