"""Turn an outbound job into the matching pywa call and return Meta's wamid."""

from __future__ import annotations

from typing import Any

from pywa.types.callback import Button, Section, SectionList, SectionRow
from pywa.types.templates import TemplateLanguage
from pywa_async.client import WhatsApp

from gateway.outbound.records import OutboundJob

MEDIA_SENDERS = {
    "image": "send_image",
    "video": "send_video",
    "document": "send_document",
    "audio": "send_audio",
    "sticker": "send_sticker",
}


class _LanguageCode:
    """A template language code that pywa's `TemplateLanguage` enum does not list yet.

    pywa reads only `.value` from the language it is given.
    """

    def __init__(self, code: str) -> None:
        self.value = code


def template_language(code: str) -> Any:
    try:
        return TemplateLanguage(code)
    except (ValueError, TypeError):
        return _LanguageCode(code)


async def dispatch(wa: WhatsApp, job: OutboundJob, media_id: str | None = None) -> str:
    """Send `job` through pywa and return the wamid; pywa raises `WhatsAppError` on failure.

    `media_id` replaces the body's media reference after an upload.
    """
    common: dict[str, Any] = {
        "to": job.to,
        "tracker": job.message_id,
        "sender": job.phone_number_id,
        "reply_to_message_id": job.reply_to,
    }
    body = job.body

    if job.kind == "text":
        sent = await wa.send_message(
            text=body["body"], preview_url=bool(body.get("preview_url")), **common
        )
    elif job.kind in MEDIA_SENDERS:
        sent = await _send_media(wa, job, media_id, common)
    elif job.kind == "interactive":
        sent = await _send_interactive(wa, body, common)
    elif job.kind == "template":
        del common["reply_to_message_id"]
        sent = await wa.send_template(
            name=body["name"],
            language=template_language(body["language"]["code"]),
            params=body.get("components") or None,
            reply_to_message_id=job.reply_to,
            **common,
        )
    elif job.kind == "reaction":
        sent = await wa.send_reaction(
            to=job.to,
            emoji=body.get("emoji", ""),
            message_id=body["message_id"],
            tracker=job.message_id,
            sender=job.phone_number_id,
        )
    else:
        msg = f"no pywa call for outbound kind {job.kind!r}"
        raise ValueError(msg)
    return str(sent.id)


async def _send_media(
    wa: WhatsApp, job: OutboundJob, media_id: str | None, common: dict[str, Any]
) -> Any:
    body = job.body
    media = media_id or body.get("id") or body.get("link")
    method = getattr(wa, MEDIA_SENDERS[job.kind])
    extra: dict[str, Any] = {}
    if job.kind in ("image", "video", "document") and body.get("caption"):
        extra["caption"] = body["caption"]
    if job.kind == "document":
        # pywa 4.5 puts its MISSING marker into the JSON when no filename is given.
        extra["filename"] = body.get("filename") or "document"
    to = common.pop("to")
    return await method(to, media, **extra, **common)


async def _send_interactive(wa: WhatsApp, body: dict[str, Any], common: dict[str, Any]) -> Any:
    header = (body.get("header") or {}).get("text")
    footer = (body.get("footer") or {}).get("text")
    text = body["body"]["text"]
    action = body["action"]

    buttons: Any
    if body["type"] == "button":
        buttons = [
            Button(title=item["reply"]["title"], callback_data=item["reply"]["id"])
            for item in action["buttons"]
        ]
    else:
        buttons = SectionList(
            button_title=action["button"],
            sections=[
                Section(
                    title=section.get("title", ""),
                    rows=[
                        SectionRow(
                            title=row["title"],
                            callback_data=row["id"],
                            description=row.get("description"),
                        )
                        for row in section["rows"]
                    ],
                )
                for section in action["sections"]
            ],
        )
    return await wa.send_message(text=text, header=header, footer=footer, buttons=buttons, **common)
