"""Resolve the secrets the routes need, with a generated app secret in sandbox mode."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.settings import Settings

SANDBOX_SECRET_FILE = "sandbox-app-secret"  # noqa: S105 - a file name


class ConfigurationError(RuntimeError):
    """A setting that a route needs is missing; the message names the variable."""


def sandbox_secret_path(settings: Settings) -> Path:
    return settings.data_dir / SANDBOX_SECRET_FILE


def resolve_app_secret(settings: Settings) -> str:
    """Return the app secret that webhook signatures are checked with.

    Production (an access token is set) requires WAG_APP_SECRET. In sandbox mode a random
    secret is created once in the data directory, so that `wa-gateway webhook send` and the
    built-in simulator can sign what they post.
    """
    if settings.app_secret is not None and settings.app_secret.get_secret_value():
        return settings.app_secret.get_secret_value()
    if not settings.sandbox:
        msg = (
            "WAG_APP_SECRET is not set, but WAG_ACCESS_TOKEN is: webhook signatures cannot be "
            "checked. Set WAG_APP_SECRET to the app secret from the Meta app dashboard."
        )
        raise ConfigurationError(msg)

    path = sandbox_secret_path(settings)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not write two different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret
