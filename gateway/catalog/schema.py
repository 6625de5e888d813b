"""The parameter schema of an approved template, derived from Meta's component list.

Meta describes a template as components (HEADER, BODY, FOOTER, BUTTONS) whose texts
contain placeholders: `{{1}}`, `{{2}}` for positional templates, `{{first_name}}` for
templates whose `parameter_format` is NAMED. A send must fill every placeholder, give
media for a media header, and give the dynamic part of URL, coupon and one-time
password buttons. This module reads that contract; `validate.py` checks a send against it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

MEDIA_HEADER_FORMATS = frozenset({"image", "video", "document"})
# Meta's text limits for templates: header 60 characters, body 1024, coupon code 15.
# NOTE: these are recalled from Meta's template documentation, not checked against it here.
# Each limit is applied per parameter, so the length of the filled-in text is not checked.
HEADER_TEXT_MAX_CHARS = 60
BODY_TEXT_MAX_CHARS = 1024
COUPON_CODE_MAX_CHARS = 15

# Button type -> what the send supplies and whether it must.
BUTTON_PARAMETERS: dict[str, tuple[str, bool]] = {
    "COPY_CODE": ("coupon_code", True),
    "OTP": ("text", True),
    "QUICK_REPLY": ("payload", False),
    "FLOW": ("flow_token", False),
}


@dataclass(frozen=True, slots=True)
class ButtonParameter:
    """One button that takes a parameter, by its position in the BUTTONS component."""

    index: int
    type: str  # Meta's button type in lower case: url, copy_code, otp, quick_reply, flow
    kind: str  # text (URL suffix, one-time password), coupon_code, payload or flow_token
    required: bool


@dataclass(frozen=True, slots=True)
class ParameterSchema:
    """The parameters a send of one template must supply.

    `header` is None (no parameter), `text`, `image`, `video`, `document` or `location`;
    `header_names` and `body_names` are the placeholder names in order of appearance
    (`1`, `2`, ... or `first_name`, ...). `unsupported` lists components this gateway
    cannot fill (carousels, limited-time offers), which makes the template unsendable here.
    """

    named: bool = False
    header: str | None = None
    header_names: tuple[str, ...] = ()
    body_names: tuple[str, ...] = ()
    buttons: tuple[ButtonParameter, ...] = ()
    unsupported: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = "named" if self.named else "positional"
        del data["named"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParameterSchema:
        return cls(
            named=data.get("format") == "named",
            header=data.get("header"),
            header_names=tuple(data.get("header_names", ())),
            body_names=tuple(data.get("body_names", ())),
            buttons=tuple(ButtonParameter(**button) for button in data.get("buttons", ())),
            unsupported=tuple(data.get("unsupported", ())),
        )


def placeholders(text: str) -> tuple[str, ...]:
    """Return the placeholder names of `text` in order, each once."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return tuple(names)


def schema_of(template: dict[str, Any]) -> ParameterSchema:
    """Derive the parameter schema from one template object of `GET /message_templates`."""
    named = str(template.get("parameter_format", "POSITIONAL")).upper() == "NAMED"
    header: str | None = None
    header_names: tuple[str, ...] = ()
    body_names: tuple[str, ...] = ()
    buttons: list[ButtonParameter] = []
    unsupported: list[str] = []

    for component in template.get("components") or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            header, header_names = _header_of(component)
        elif kind == "BODY":
            body_names = placeholders(str(component.get("text", "")))
        elif kind == "BUTTONS":
            buttons = _buttons_of(component.get("buttons") or [])
        elif kind != "FOOTER":
            unsupported.append(kind.lower())

    return ParameterSchema(
        named=named,
        header=header,
        header_names=header_names,
        body_names=body_names,
        buttons=tuple(buttons),
        unsupported=tuple(unsupported),
    )


def _header_of(component: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    header_format = str(component.get("format", "TEXT")).lower()
    if header_format == "text":
        names = placeholders(str(component.get("text", "")))
        return ("text" if names else None), names
    return header_format, ()


def _buttons_of(raw_buttons: list[dict[str, Any]]) -> list[ButtonParameter]:
    buttons: list[ButtonParameter] = []
    for index, button in enumerate(raw_buttons):
        button_type = str(button.get("type", "")).upper()
        if button_type == "URL":
            # Only a URL that ends in a placeholder takes a parameter: the dynamic suffix.
            if placeholders(str(button.get("url", ""))):
                buttons.append(ButtonParameter(index, "url", "text", required=True))
        elif button_type in BUTTON_PARAMETERS:
            kind, required = BUTTON_PARAMETERS[button_type]
            buttons.append(ButtonParameter(index, button_type.lower(), kind, required))
    return buttons
