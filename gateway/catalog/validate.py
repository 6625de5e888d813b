"""Check the parameters of a send against a template's schema and build Meta's components.

A send gives its parameters in one JSON object:

    {"header": "Anna" | ["Anna"] | {"name": "Anna"}
               | {"type": "image", "link": "https://..."} | {"type": "document", "id": "...",
                 "filename": "..."} | {"type": "location", "latitude": 52.5, "longitude": 13.4},
     "body": ["Anna", "4711"] | {"first_name": "Anna", "order": "4711"},
     "buttons": {"0": "track/4711", "1": "SAVE10"}}

`fill` returns Meta's `components` for `send_template`, or every problem it found, each
naming the component and the parameter. Nothing malformed reaches Meta, which would reject
it with 132000 or "invalid parameter" only after the message was queued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from gateway.catalog.schema import (
    BODY_TEXT_MAX_CHARS,
    COUPON_CODE_MAX_CHARS,
    HEADER_TEXT_MAX_CHARS,
    ButtonParameter,
    ParameterSchema,
)

COMPONENTS = ("header", "body", "buttons")
# Meta rejects text parameters with new lines, tabs or more than four consecutive spaces.
FORBIDDEN_WHITESPACE = re.compile(r"[\n\t]| {5,}")


@dataclass(frozen=True, slots=True)
class ParameterError:
    component: str
    parameter: str | None
    message: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "parameter": self.parameter,
            "message": self.message,
            "value": self.value,
        }

    def describe(self) -> str:
        where = (
            self.component
            if self.parameter is None
            else f"{self.component} parameter `{self.parameter}`"
        )
        return f"{where}: {self.message}"


@dataclass
class Filled:
    components: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ParameterError] = field(default_factory=list)


def fill(schema: ParameterSchema, parameters: dict[str, Any] | None) -> Filled:
    """Validate `parameters` against `schema`; return Meta's components or the errors."""
    given = parameters or {}
    result = Filled()

    for name in given:
        if name not in COMPONENTS:
            result.errors.append(
                ParameterError(name, None, "unknown component; use header, body or buttons")
            )
    for component in schema.unsupported:
        result.errors.append(
            ParameterError(
                component, None, "this gateway cannot send templates with this component"
            )
        )

    _fill_header(schema, given.get("header"), result)
    _fill_texts(
        schema,
        component="body",
        names=schema.body_names,
        value=given.get("body"),
        max_chars=BODY_TEXT_MAX_CHARS,
        result=result,
    )
    _fill_buttons(schema.buttons, given.get("buttons"), result)
    return result


def _fill_header(schema: ParameterSchema, value: Any, result: Filled) -> None:
    if schema.header is None:
        if value is not None:
            result.errors.append(
                ParameterError("header", None, "this template's header takes no parameter", value)
            )
        return

    if schema.header == "text":
        _fill_texts(
            schema,
            component="header",
            names=schema.header_names,
            value=value,
            max_chars=HEADER_TEXT_MAX_CHARS,
            result=result,
        )
        return

    if value is None:
        message = f"missing; this template has a {schema.header} header, send "
        message += _media_example(schema.header)
        result.errors.append(ParameterError("header", schema.header, message))
        return
    if not isinstance(value, dict) or value.get("type") != schema.header:
        message = f"must be an object with type `{schema.header}`, for example " + _media_example(
            schema.header
        )
        result.errors.append(ParameterError("header", schema.header, message, _shown(value)))
        return

    parameter = (
        _location(value, result)
        if schema.header == "location"
        else _media(schema.header, value, result)
    )
    if parameter is not None:
        result.components.append({"type": "header", "parameters": [parameter]})


def _media_example(media_type: str) -> str:
    if media_type == "location":
        return '{"type": "location", "latitude": 52.52, "longitude": 13.40}'
    link = f'{{"type": "{media_type}", "link": "https://..."}}'
    return link + f' or {{"type": "{media_type}", "id": "..."}}'


def _media(media_type: str, value: dict[str, Any], result: Filled) -> dict[str, Any] | None:
    link, media_id = value.get("link"), value.get("id")
    if (link is None) == (media_id is None):
        result.errors.append(
            ParameterError(
                "header", media_type, "give exactly one of `link` and `id`", _shown(value)
            )
        )
        return None
    if link is not None and not _is_https_url(link):
        result.errors.append(
            ParameterError("header", media_type, "`link` must be an https URL", link)
        )
        return None
    if media_id is not None and (not isinstance(media_id, str) or not media_id.strip()):
        result.errors.append(
            ParameterError("header", media_type, "`id` must be a media id", media_id)
        )
        return None

    media: dict[str, Any] = {"link": link} if link is not None else {"id": media_id}
    if media_type == "document" and isinstance(value.get("filename"), str):
        media["filename"] = value["filename"]
    return {"type": media_type, media_type: media}


def _location(value: dict[str, Any], result: Filled) -> dict[str, Any] | None:
    location: dict[str, Any] = {}
    for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
        number = value.get(name)
        if isinstance(number, bool) or not isinstance(number, int | float) or abs(number) > limit:
            result.errors.append(
                ParameterError(
                    "header", name, f"must be a number between -{limit:g} and {limit:g}", number
                )
            )
            continue
        location[name] = number
    for name in ("name", "address"):
        if isinstance(value.get(name), str):
            location[name] = value[name]
    if len(location) < 2:
        return None
    return {"type": "location", "location": location}


def _fill_texts(
    schema: ParameterSchema,
    *,
    component: str,
    names: tuple[str, ...],
    value: Any,
    max_chars: int,
    result: Filled,
) -> None:
    values = _texts_by_name(schema.named, component, names, value, result)
    if values is None:
        return

    parameters: list[dict[str, Any]] = []
    for name in names:
        text = _text(component, name, values.get(name), max_chars, result)
        if text is None:
            continue
        parameter: dict[str, Any] = {"type": "text", "text": text}
        if schema.named:
            parameter["parameter_name"] = name
        parameters.append(parameter)
    if parameters and len(parameters) == len(names):
        result.components.append({"type": component, "parameters": parameters})


def _texts_by_name(
    named: bool, component: str, names: tuple[str, ...], value: Any, result: Filled
) -> dict[str, Any] | None:
    if not names:
        if value not in (None, [], {}):
            result.errors.append(
                ParameterError(component, None, "this template's text has no placeholders", value)
            )
        return None
    if value is None:
        result.errors.append(
            ParameterError(
                component, names[0], f"missing; this {component} takes {_expected(named, names)}"
            )
        )
        return None

    if isinstance(value, str) and len(names) == 1:
        return {names[0]: value}
    if named:
        return _named_values(component, names, value, result)
    return _positional_values(component, names, value, result)


def _named_values(
    component: str, names: tuple[str, ...], value: Any, result: Filled
) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        message = f"must be an object of named parameters: {_expected(True, names)}"
        result.errors.append(ParameterError(component, None, message, _shown(value)))
        return None
    for extra in value.keys() - set(names):
        result.errors.append(
            ParameterError(
                component, str(extra), f"unknown parameter; expected {_expected(True, names)}"
            )
        )
    return value


def _positional_values(
    component: str, names: tuple[str, ...], value: Any, result: Filled
) -> dict[str, Any] | None:
    if not isinstance(value, list):
        message = f"must be a list of {len(names)} positional parameters"
        result.errors.append(ParameterError(component, None, message, _shown(value)))
        return None
    if len(value) != len(names):
        message = f"got {len(value)} parameters, but this template takes {len(names)}: "
        message += _expected(False, names)
        result.errors.append(ParameterError(component, None, message, len(value)))
        return None
    return dict(zip(names, value, strict=True))


def _expected(named: bool, names: tuple[str, ...]) -> str:
    return ", ".join(f"{{{{{name}}}}}" for name in names) if names else "nothing"


def _text(component: str, name: str, value: Any, max_chars: int, result: Filled) -> str | None:
    if value is None:
        result.errors.append(ParameterError(component, name, "missing"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        result.errors.append(ParameterError(component, name, "must be a string", _shown(value)))
        return None

    text = str(value)
    if not text.strip():
        result.errors.append(ParameterError(component, name, "must not be empty", text))
        return None
    if FORBIDDEN_WHITESPACE.search(text):
        message = "must not contain new lines, tabs or more than four spaces in a row"
        result.errors.append(ParameterError(component, name, message, text))
        return None
    if len(text) > max_chars:
        message = f"is {len(text)} characters long; at most {max_chars} are allowed"
        result.errors.append(ParameterError(component, name, message))
        return None
    return text


def _fill_buttons(buttons: tuple[ButtonParameter, ...], value: Any, result: Filled) -> None:
    given = _buttons_by_index(buttons, value, result)
    if given is None:
        return

    for button in buttons:
        raw = given.get(button.index)
        if raw is None:
            if button.required:
                message = f"missing: the {button.type} button at index {button.index} "
                message += f"needs its {button.kind}"
                result.errors.append(ParameterError("buttons", str(button.index), message))
            continue
        max_chars = COUPON_CODE_MAX_CHARS if button.kind == "coupon_code" else BODY_TEXT_MAX_CHARS
        text = _text("buttons", str(button.index), raw, max_chars, result)
        if text is not None:
            result.components.append(_button_component(button, text))


def _buttons_by_index(
    buttons: tuple[ButtonParameter, ...], value: Any, result: Filled
) -> dict[int, Any] | None:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        message = 'must be an object from button index to value, for example {"0": "4711"}'
        result.errors.append(ParameterError("buttons", None, message, _shown(value)))
        return None

    known = {button.index for button in buttons}
    given: dict[int, Any] = {}
    for key, raw in value.items():
        index = int(key) if str(key).isdigit() else -1
        if index not in known:
            message = (
                f"no button at this index takes a parameter; parameterised buttons: {sorted(known)}"
            )
            result.errors.append(ParameterError("buttons", str(key), message))
            continue
        given[index] = raw
    return given


def _button_component(button: ButtonParameter, text: str) -> dict[str, Any]:
    if button.kind == "coupon_code":
        parameter: dict[str, Any] = {"type": "coupon_code", "coupon_code": text}
        sub_type = "copy_code"
    elif button.kind == "payload":
        parameter, sub_type = {"type": "payload", "payload": text}, "quick_reply"
    elif button.kind == "flow_token":
        parameter, sub_type = {"type": "action", "action": {"flow_token": text}}, "flow"
    else:
        # URL suffixes and one-time passwords (Meta sends OTP buttons as sub_type url).
        parameter, sub_type = {"type": "text", "text": text}, "url"
    return {
        "type": "button",
        "sub_type": sub_type,
        "index": str(button.index),
        "parameters": [parameter],
    }


def _is_https_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme == "https" and bool(parsed.netloc)


def _shown(value: Any) -> Any:
    """Return `value` for an error report, or its type name when it is a container."""
    if isinstance(value, dict | list):
        return type(value).__name__
    return value
