"""The checks Meta applies to a send request, each failure with Meta's error code and details."""

from __future__ import annotations

from typing import Any

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
SUPPORTED_TYPES = (
    "text",
    *MEDIA_TYPES,
    "interactive",
    "template",
    "reaction",
    "location",
    "contacts",
)
MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20
MAX_LIST_ROWS = 10
MAX_LIST_SECTIONS = 10
MAX_ROW_TITLE_CHARS = 24

Problem = tuple[int, str]


def check_message(
    body: dict[str, Any], media: dict[str, Any], templates: list[dict[str, Any]]
) -> Problem | None:
    """Return Meta's (error code, details) for an invalid send, or None when it is valid."""
    if body.get("messaging_product") != "whatsapp":
        return 100, "`messaging_product` must be `whatsapp`."
    if bool(body.get("to")) == bool(body.get("recipient")):
        return 100, "Set exactly one of `to` (wa_id) and `recipient` (business-scoped user id)."

    message_type = body.get("type", "text")
    if message_type not in SUPPORTED_TYPES:
        return 100, f"Unsupported message type `{message_type}`."
    content = body.get(message_type)
    if not isinstance(content, dict):
        return 100, f"The `{message_type}` object is missing."

    if message_type == "text":
        return _check_text(content)
    if message_type in MEDIA_TYPES:
        return _check_media(message_type, content, media)
    if message_type == "interactive":
        return _check_interactive(content)
    if message_type == "template":
        return _check_template(content, templates)
    return None


def message_category(body: dict[str, Any], templates: list[dict[str, Any]]) -> str:
    """Return the pricing category of a send: `service` for free-form, else the template's."""
    if body.get("type") != "template":
        return "service"
    template = _find_template(body.get("template", {}), templates)
    if template is None:
        return "utility"
    return str(template.get("category", "utility")).lower()


def _check_text(content: dict[str, Any]) -> Problem | None:
    text = content.get("body")
    if not isinstance(text, str) or not text:
        return 100, "`text.body` is required."
    if len(text) > MAX_TEXT_CHARS:
        return 100, f"`text.body` is longer than {MAX_TEXT_CHARS} characters."
    return None


def _check_media(
    message_type: str, content: dict[str, Any], media: dict[str, Any]
) -> Problem | None:
    media_id, link = content.get("id"), content.get("link")
    if bool(media_id) == bool(link):
        return 100, f"Set exactly one of `{message_type}.id` and `{message_type}.link`."
    if media_id and str(media_id) not in media:
        return 131053, f"Unknown media id {media_id}."
    if link and not str(link).startswith(("https://", "http://")):
        return 100, f"`{message_type}.link` must be an http or https URL."
    caption = content.get("caption")
    if caption is not None and len(str(caption)) > MAX_CAPTION_CHARS:
        return 100, f"`{message_type}.caption` is longer than {MAX_CAPTION_CHARS} characters."
    return None


def _check_interactive(content: dict[str, Any]) -> Problem | None:
    kind = content.get("type")
    body = content.get("body")
    if not isinstance(body, dict) or not body.get("text"):
        return 100, "`interactive.body.text` is required."
    action = content.get("action")
    if not isinstance(action, dict):
        return 100, "`interactive.action` is required."

    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
            return 100, f"`interactive.action.buttons` needs 1 to {MAX_REPLY_BUTTONS} buttons."
        for button in buttons:
            title = (button.get("reply") or {}).get("title", "")
            if not title or len(title) > MAX_BUTTON_TITLE_CHARS:
                return 100, f"Button titles need 1 to {MAX_BUTTON_TITLE_CHARS} characters."
        return None
    if kind == "list":
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_LIST_SECTIONS:
            return 100, f"`interactive.action.sections` needs 1 to {MAX_LIST_SECTIONS} sections."
        rows = [row for section in sections for row in section.get("rows", [])]
        if not 1 <= len(rows) <= MAX_LIST_ROWS:
            return 100, f"A list needs 1 to {MAX_LIST_ROWS} rows in all."
        if any(not row.get("title") or len(row["title"]) > MAX_ROW_TITLE_CHARS for row in rows):
            return 100, f"Row titles need 1 to {MAX_ROW_TITLE_CHARS} characters."
        return None
    if kind in ("cta_url", "flow", "product", "product_list", "location_request_message"):
        return None
    return 100, f"Unsupported interactive type `{kind}`."


def _check_template(content: dict[str, Any], templates: list[dict[str, Any]]) -> Problem | None:
    language = content.get("language")
    if not content.get("name") or not isinstance(language, dict) or not language.get("code"):
        return 100, "`template.name` and `template.language.code` are required."
    if not templates:
        # No catalog configured: accept any template, as a test double that knows nothing.
        return None

    template = _find_template(content, templates)
    if template is None:
        return 132001, f"Template {content['name']} ({language['code']}) does not exist."
    status = str(template.get("status", "APPROVED")).upper()
    if status == "PAUSED":
        return 132015, f"Template {content['name']} is paused."
    if status == "DISABLED":
        return 132016, f"Template {content['name']} is disabled."
    if status != "APPROVED":
        return 132001, f"Template {content['name']} is {status.lower()}, not approved."
    return None


def _find_template(
    content: dict[str, Any], templates: list[dict[str, Any]]
) -> dict[str, Any] | None:
    name = content.get("name")
    code = (content.get("language") or {}).get("code")
    for template in templates:
        if template.get("name") == name and template.get("language") == code:
            return template
    return None
