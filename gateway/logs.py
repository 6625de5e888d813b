"""structlog configuration and helpers that keep personal data out of logs."""

from __future__ import annotations

import atexit
import hashlib
import logging
import sys
import threading
from typing import Any, TextIO

import orjson
import structlog

from gateway.settings import LogFormat

# A line per webhook is part of the contract, but a write(2) per line costs a quarter of
# the ingest throughput. Lines at INFO and below are buffered for at most this long or
# this many lines; warnings and errors flush the buffer at once.
FLUSH_INTERVAL_S = 0.2
FLUSH_LINES = 256


class BufferedLineLogger:
    """A structlog logger that writes rendered lines in batches."""

    def __init__(self, file: TextIO | None) -> None:
        # None means sys.stderr as it is at each write: test runners and daemons swap it.
        self._file = file
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def _buffer(self, message: str) -> None:
        with self._lock:
            self._lines.append(message)
            full = len(self._lines) >= FLUSH_LINES
            if not full and self._timer is None:
                self._timer = threading.Timer(FLUSH_INTERVAL_S, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def _urgent(self, message: str) -> None:
        with self._lock:
            self._lines.append(message)
        self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if lines:
            output = self._file or sys.stderr
            output.write("\n".join(lines) + "\n")
            output.flush()

    debug = info = msg = log = _buffer
    warning = warn = error = err = critical = exception = fatal = failure = _urgent


_loggers: list[BufferedLineLogger] = []


def flush_logs() -> None:
    for logger in _loggers:
        logger.flush()


atexit.register(flush_logs)


def _orjson_serializer(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def configure_logging(
    log_format: LogFormat = LogFormat.AUTO, level: str = "info", stream: TextIO | None = None
) -> None:
    """Send structlog events to stderr as JSON lines, or readable lines on a terminal."""
    output = stream or sys.stderr
    use_console = log_format is LogFormat.CONSOLE or (
        log_format is LogFormat.AUTO and output.isatty()
    )
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer(serializer=_orjson_serializer)
    )
    flush_logs()
    logger = BufferedLineLogger(stream)
    _loggers[:] = [logger]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=lambda *_: logger,
        cache_logger_on_first_use=True,
    )


def pseudonym(value: str | None) -> str | None:
    """Return a short stable hash of a personal value (phone, wa_id) for correlating logs."""
    if not value:
        return None
    return hashlib.sha256(value.encode()).hexdigest()[:12]
