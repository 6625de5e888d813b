"""Meta's checks of a media upload."""

from __future__ import annotations

from gateway.outbound.media_types import media_rule


def check_upload(
    messaging_product: str | None, mime_type: str, size: int
) -> tuple[int, str] | None:
    """Return Meta's (error code, details) for a rejected upload, or None."""
    if messaging_product != "whatsapp":
        return 100, "`messaging_product` must be `whatsapp`."
    rule = media_rule(mime_type)
    if rule is None:
        return 131053, f"Unsupported media type {mime_type or '(none)'}."
    if size == 0:
        return 131053, "The uploaded file is empty."
    if size > rule[1]:
        return 131053, f"{rule[0]} files are limited to {rule[1]} bytes; this one has {size}."
    return None
