"""structlog configuration and helpers that keep personal data out of logs."""

from __future__ import annotations

import hashlib
import logging
import sys
from typing import Any, TextIO

import structlog

from gateway.settings import LogFormat


def configure_logging(
    log_format: LogFormat = LogFormat.AUTO, level: str = "info", stream: TextIO | None = None
) -> None:
    """Send structlog events to stderr as JSON lines, or readable lines on a terminal."""
    output = stream or sys.stderr
    use_console = log_format is LogFormat.CONSOLE or (
        log_format is LogFormat.AUTO and output.isatty()
    )
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )


def pseudonym(value: str | None) -> str | None:
    """Return a short stable hash of a personal value (phone, wa_id) for correlating logs."""
    if not value:
        return None
    return hashlib.sha256(value.encode()).hexdigest()[:12]
