"""No phone number, name, user id or message text reaches the logs at INFO or above."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import structlog

from gateway.logs import configure_logging
from gateway.settings import LogFormat
from tests.helpers import fixture_bytes, fixture_names

PERSONAL_KEYS = {
    "from",
    "wa_id",
    "recipient_id",
    "user_id",
    "from_user_id",
    "parent_user_id",
    "name",
    "body",
    "caption",
    "text",
    "title",
    "emoji",
    "formatted_name",
    "phone",
    "first_name",
    "last_name",
    "address",
    "email",
    "description",
    "detail",
}


def _personal_values(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PERSONAL_KEYS and isinstance(value, str) and len(value) >= 4:
                yield value
            yield from _personal_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _personal_values(item)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "info", stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_ingest_logs_carry_no_personal_data(gateway, log_stream):
    personal: set[str] = set()
    for name in fixture_names():
        body = fixture_bytes(name)
        personal.update(_personal_values(orjson.loads(body)))
        assert (await gateway.post_webhook(body)).status == 200
    # A failing update logs its error too; it must not quote the payload.
    assert (
        await gateway.post_webhook(
            b'{"entry": [{"changes": [{"field": "messages", '
            b'"value": {"messages": [{"id": "w", "from": "4915199999999"}]}}]}]}'
        )
    ).status == 200
    personal.add("4915199999999")
    await gateway.drain()
    # Dead-lettering logs the error of the failing update.
    from gateway.inbound.worker import InboundWorker

    await InboundWorker(
        gateway.app_redis, "wag:", gateway.clock, max_attempts=1, claim_idle_ms=0
    ).claim_stale()
    assert await gateway.app_redis.xlen("wag:inbound:dead") == 1

    from gateway.logs import flush_logs

    flush_logs()
    lines = [orjson.loads(line) for line in log_stream.getvalue().splitlines() if line.strip()]
    events = {line["event"] for line in lines}
    assert {"webhook_accepted", "webhook_processed", "update_processed"} <= events
    for line in lines:
        rendered = orjson.dumps(line).decode()
        leaks = [value for value in personal if value in rendered]
        assert not leaks, f"{line['event']} logs personal data: {leaks}"
