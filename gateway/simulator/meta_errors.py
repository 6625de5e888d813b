"""Meta's error bodies, as the Cloud API returns them, for the codes the simulator can produce."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MetaError:
    http_status: int
    title: str
    details: str
    type: str = "OAuthException"


# Titles and details follow Meta's Cloud API error code reference.
CATALOG: dict[int, MetaError] = {
    100: MetaError(400, "Invalid parameter", "A parameter of the request is invalid."),
    190: MetaError(
        401,
        "Error validating access token: Session has expired",
        "The access token expired or was invalidated.",
    ),
    130429: MetaError(400, "Rate limit hit", "Cloud API message throughput has been reached."),
    130472: MetaError(
        400,
        "User's number is part of an experiment",
        "The message was not sent as part of a marketing message experiment.",
    ),
    131000: MetaError(
        500, "Something went wrong", "Message failed to send because of an unknown error."
    ),
    131026: MetaError(
        400, "Message Undeliverable", "Unable to deliver the message to this recipient."
    ),
    131047: MetaError(
        400,
        "Re-engagement message",
        "Message failed to send because more than "
        "24 hours have passed since the customer last replied to this number.",
    ),
    131049: MetaError(
        400,
        "Meta chose not to deliver.",
        "This message was not delivered to maintain healthy ecosystem engagement.",
    ),
    131050: MetaError(
        400,
        "Unable to deliver the message. This recipient has chosen to stop "
        "receiving marketing messages on WhatsApp from your business.",
        "The user stopped marketing messages.",
    ),
    131053: MetaError(400, "Media upload error", "Unable to upload the media used in the message."),
    131056: MetaError(
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from this phone number to the same recipient in a short period.",
    ),
    131057: MetaError(
        400, "Account in maintenance mode", "The business account is in maintenance mode."
    ),
    132000: MetaError(
        400,
        "Number of parameters does not match the expected number of params",
        "The number of parameters does not match the template.",
    ),
    132001: MetaError(
        400,
        "Template name does not exist in the translation",
        "The template does not exist in this language or is not approved.",
    ),
    132015: MetaError(400, "Template is Paused", "The template was paused for low quality."),
    132016: MetaError(400, "Template is Disabled", "The template was disabled for low quality."),
}


def meta_error(code: int) -> MetaError:
    """Return the catalog entry of `code`; unknown codes become a generic 400."""
    return CATALOG.get(code, MetaError(400, f"Error {code}", f"Simulated error {code}."))


def error_body(code: int, details: str | None = None) -> tuple[int, dict[str, Any]]:
    """Return the HTTP status and JSON body Meta sends for a failed call with `code`."""
    error = meta_error(code)
    body = {
        "error": {
            "message": f"(#{code}) {error.title}",
            "type": error.type,
            "code": code,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": details or error.details,
            },
            "fbtrace_id": "A" + secrets.token_urlsafe(16),
        }
    }
    return error.http_status, body


def status_error(code: int) -> dict[str, Any]:
    """Return the `errors[]` item of a failed status webhook for `code`."""
    error = meta_error(code)
    return {
        "code": code,
        "title": error.title,
        "message": error.title,
        "error_data": {"details": error.details},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }
