"""Errors of the consent package; each message names the value and what to do."""

from __future__ import annotations


class ConsentError(Exception):
    """Base class: a consent operation was rejected and nothing was written."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class InvalidPhone(ConsentError):
    """A phone number could not be read as a valid E.164 number."""


class InvalidRecord(ConsentError):
    """A consent record breaks a rule (missing occurred time, pre-ticked box, ...)."""


class InvalidTransition(ConsentError):
    """An event that does not apply to the current state (a confirmation without an opt-in)."""


class UnknownText(ConsentError):
    """A consent text version id is not known."""


class Suppressed(ConsentError):
    """The subject's data was erased; only a new opt-in by the person can record consent again."""


class ChainConflict(ConsentError):
    """Another writer kept appending to the same chain; the append was retried too often."""
