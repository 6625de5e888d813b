"""Request bodies of agent replies, checked against WhatsApp's limits before anything is sent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_INTERACTIVE_BODY_CHARS = 1024
MAX_HEADER_CHARS = 60
MAX_FOOTER_CHARS = 60
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20
MAX_BUTTON_ID_CHARS = 256
MAX_LIST_ROWS = 10
MAX_LIST_SECTIONS = 10
MAX_ROW_TITLE_CHARS = 24
MAX_ROW_DESCRIPTION_CHARS = 72
MAX_ROW_ID_CHARS = 200
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")

WamId = Annotated[str, Field(pattern=r"^wamid\.[A-Za-z0-9+/=_\-.]{1,512}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    reply_to: WamId | None = Field(None, description="wamid of the customer message to quote.")


def _not_blank(value: str, field: str) -> str:
    if not value.strip():
        msg = f"`{field}` must contain visible characters"
        raise ValueError(msg)
    return value


class TextReply(_Body):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    preview_url: bool = False

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        return _not_blank(value, "text")

    def meta_body(self) -> dict[str, Any]:
        return {"body": self.text, "preview_url": self.preview_url}


class MediaObject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    link: HttpUrl | None = Field(None, description="Public http(s) URL that Meta downloads.")
    id: str | None = Field(
        None, pattern=r"^\d{1,32}$", description="Media id of an earlier upload."
    )
    caption: str | None = Field(None, max_length=MAX_CAPTION_CHARS)
    filename: str | None = Field(None, max_length=240)


class MediaReply(_Body):
    """Media by URL (`link`), by earlier media id, or uploaded as the multipart part `file`."""

    type: Literal["image", "document", "audio", "video", "sticker"]
    image: MediaObject | None = None
    document: MediaObject | None = None
    audio: MediaObject | None = None
    video: MediaObject | None = None
    sticker: MediaObject | None = None

    def media(self) -> MediaObject:
        return getattr(self, self.type) or MediaObject()

    @model_validator(mode="after")
    def _one_object(self) -> MediaReply:
        others = [name for name in MEDIA_TYPES if name != self.type and getattr(self, name)]
        if others:
            msg = f"a `{self.type}` message carries only the `{self.type}` object, not {others}"
            raise ValueError(msg)
        media = self.media()
        if media.caption is not None and self.type in ("audio", "sticker"):
            msg = f"WhatsApp shows no caption on `{self.type}` messages"
            raise ValueError(msg)
        if media.link is not None and media.id is not None:
            msg = f"set either `{self.type}.link` or `{self.type}.id`, not both"
            raise ValueError(msg)
        return self

    def meta_body(self, media_id: str | None = None) -> dict[str, Any]:
        media = self.media()
        body: dict[str, Any] = {}
        if media_id or media.id:
            body["id"] = media_id or media.id
        elif media.link is not None:
            body["link"] = str(media.link)
        if media.caption:
            body["caption"] = media.caption
        if media.filename and self.type == "document":
            body["filename"] = media.filename
        return body


class ReplyButton(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_BUTTON_ID_CHARS)
    title: str = Field(min_length=1, max_length=MAX_BUTTON_TITLE_CHARS)


class ButtonsReply(_Body):
    type: Literal["buttons"]
    text: str = Field(min_length=1, max_length=MAX_INTERACTIVE_BODY_CHARS)
    header: str | None = Field(None, max_length=MAX_HEADER_CHARS)
    footer: str | None = Field(None, max_length=MAX_FOOTER_CHARS)
    buttons: list[ReplyButton] = Field(min_length=1, max_length=MAX_REPLY_BUTTONS)

    @model_validator(mode="after")
    def _unique_ids(self) -> ButtonsReply:
        ids = [button.id for button in self.buttons]
        if len(set(ids)) != len(ids):
            msg = "button ids must be unique"
            raise ValueError(msg)
        return self

    def meta_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "button",
            "body": {"text": self.text},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in self.buttons
                ]
            },
        }
        return _with_header_footer(body, self.header, self.footer)


class ListRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_ROW_ID_CHARS)
    title: str = Field(min_length=1, max_length=MAX_ROW_TITLE_CHARS)
    description: str | None = Field(None, max_length=MAX_ROW_DESCRIPTION_CHARS)


class ListSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("", max_length=MAX_ROW_TITLE_CHARS)
    rows: list[ListRow] = Field(min_length=1, max_length=MAX_LIST_ROWS)


class ListReply(_Body):
    type: Literal["list"]
    text: str = Field(min_length=1, max_length=MAX_INTERACTIVE_BODY_CHARS)
    button: str = Field(min_length=1, max_length=MAX_BUTTON_TITLE_CHARS)
    header: str | None = Field(None, max_length=MAX_HEADER_CHARS)
    footer: str | None = Field(None, max_length=MAX_FOOTER_CHARS)
    sections: list[ListSection] = Field(min_length=1, max_length=MAX_LIST_SECTIONS)

    @model_validator(mode="after")
    def _row_limits(self) -> ListReply:
        rows = [row for section in self.sections for row in section.rows]
        if len(rows) > MAX_LIST_ROWS:
            msg = f"a list has at most {MAX_LIST_ROWS} rows in all sections, got {len(rows)}"
            raise ValueError(msg)
        if len({row.id for row in rows}) != len(rows):
            msg = "row ids must be unique across sections"
            raise ValueError(msg)
        if len(self.sections) > 1 and any(not section.title for section in self.sections):
            msg = "with more than one section, every section needs a `title`"
            raise ValueError(msg)
        return self

    def meta_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "list",
            "body": {"text": self.text},
            "action": {
                "button": self.button,
                "sections": [section.model_dump(exclude_none=True) for section in self.sections],
            },
        }
        return _with_header_footer(body, self.header, self.footer)


def _with_header_footer(
    body: dict[str, Any], header: str | None, footer: str | None
) -> dict[str, Any]:
    if header:
        body["header"] = {"type": "text", "text": header}
    if footer:
        body["footer"] = {"text": footer}
    return body


AgentReply = Annotated[
    TextReply | MediaReply | ButtonsReply | ListReply, Field(discriminator="type")
]


class AgentReplyBody(BaseModel):
    """Wrapper so that one model validates every reply type by its `type`."""

    reply: AgentReply
