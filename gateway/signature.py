"""Meta's `X-Hub-Signature-256` check over the raw request body."""

from __future__ import annotations

import hmac
import re

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta sends `sha256=` and 64 lowercase hex digits; anything else is rejected, not normalised.
_SIGNATURE_RE = re.compile(r"sha256=[0-9a-f]{64}")


class SignatureError(Exception):
    """The signature header is missing, malformed or does not match the body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(body: bytes, app_secret: str) -> str:
    """Return the header value Meta would send for `body`."""
    # hmac.digest is the one-call C path; hmac.new builds two hash objects per call.
    return "sha256=" + hmac.digest(app_secret.encode(), body, "sha256").hex()


def verify(body: bytes, header: str | None, app_secret: str) -> None:
    """Raise SignatureError unless `header` is the HMAC-SHA256 of `body` under `app_secret`.

    The HMAC runs over the bytes as received: re-serialising the JSON first breaks on
    escaped non-ASCII characters and on whitespace.
    """
    if header is None:
        raise SignatureError("missing")
    if not header.isascii() or _SIGNATURE_RE.fullmatch(header) is None:
        raise SignatureError("malformed")
    expected = sign(body, app_secret)
    if not hmac.compare_digest(expected.encode(), header.encode()):
        raise SignatureError("wrong")
