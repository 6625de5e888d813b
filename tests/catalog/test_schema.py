"""The parameter schema derived from Meta's components, and the checks of a send against it."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.catalog.schema import schema_of
from gateway.catalog.validate import fill
from tests.catalog.templates import ORDER_UPDATE, SPRING_SALE, WELCOME_BACK

ORDER_OK = {"body": ["Anna", "4711"], "buttons": {"0": "4711"}}
SALE_OK = {
    "header": {"type": "image", "link": "https://cdn.example/spring.jpg"},
    "body": {"first_name": "Anna", "discount": "20 %"},
    "buttons": {"0": "SPRING20"},
}


def test_positional_schema() -> None:
    schema = schema_of(ORDER_UPDATE)
    assert schema.named is False
    assert schema.header is None
    assert schema.body_names == ("1", "2")
    assert [(b.index, b.type, b.kind) for b in schema.buttons] == [(0, "url", "text")]


def test_named_schema_with_image_header() -> None:
    schema = schema_of(SPRING_SALE)
    assert schema.named is True
    assert schema.header == "image"
    assert schema.body_names == ("first_name", "discount")
    assert [(b.index, b.kind, b.required) for b in schema.buttons] == [
        (0, "coupon_code", True),
        (1, "payload", False),
    ]


def test_text_header_schema() -> None:
    schema = schema_of(WELCOME_BACK)
    assert schema.header == "text"
    assert schema.header_names == ("1",)
    assert schema.body_names == ()


def test_carousel_is_unsupported() -> None:
    template = {"name": "c", "language": "de", "components": [{"type": "CAROUSEL", "cards": []}]}
    assert schema_of(template).unsupported == ("carousel",)


def test_fill_positional_components() -> None:
    filled = fill(schema_of(ORDER_UPDATE), ORDER_OK)
    assert filled.errors == []
    assert filled.components == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "4711"}],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "4711"}],
        },
    ]


def test_fill_named_components() -> None:
    filled = fill(schema_of(SPRING_SALE), SALE_OK)
    assert filled.errors == []
    assert filled.components[0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://cdn.example/spring.jpg"}}],
    }
    assert filled.components[1]["parameters"][0] == {
        "type": "text",
        "text": "Anna",
        "parameter_name": "first_name",
    }
    assert filled.components[2]["sub_type"] == "copy_code"


BAD_SENDS: list[tuple[dict[str, Any], dict[str, Any], str, str | None]] = [
    (ORDER_UPDATE, {"body": ["Anna"], "buttons": {"0": "1"}}, "body", None),
    (ORDER_UPDATE, {"body": ["Anna", "1", "2"], "buttons": {"0": "1"}}, "body", None),
    (ORDER_UPDATE, {"body": ["Anna", "4711"]}, "buttons", "0"),
    (ORDER_UPDATE, {"body": ["Anna", "47\n11"], "buttons": {"0": "1"}}, "body", "2"),
    (ORDER_UPDATE, {"body": ["Anna", ""], "buttons": {"0": "1"}}, "body", "2"),
    (ORDER_UPDATE, {"body": ["Anna", "4711"], "buttons": {"1": "x", "0": "1"}}, "buttons", "1"),
    (ORDER_UPDATE, {"body": "Anna", "buttons": {"0": "1"}}, "body", None),
    (ORDER_UPDATE, {**ORDER_OK, "footer": "x"}, "footer", None),
    (ORDER_UPDATE, {**ORDER_OK, "header": "x"}, "header", None),
    (SPRING_SALE, {**SALE_OK, "header": None}, "header", "image"),
    (
        SPRING_SALE,
        {**SALE_OK, "header": {"type": "video", "link": "https://x/v.mp4"}},
        "header",
        "image",
    ),
    (
        SPRING_SALE,
        {**SALE_OK, "header": {"type": "image", "link": "http://x/a.jpg"}},
        "header",
        "image",
    ),
    (SPRING_SALE, {**SALE_OK, "body": {"first_name": "Anna"}}, "body", "discount"),
    (SPRING_SALE, {**SALE_OK, "body": {"first_name": "A", "discount": "1", "x": "2"}}, "body", "x"),
    (SPRING_SALE, {**SALE_OK, "buttons": {"0": "A_CODE_LONGER_THAN_15"}}, "buttons", "0"),
    (WELCOME_BACK, {}, "header", "1"),
    (WELCOME_BACK, {"header": "Anna", "body": ["x"]}, "body", None),
]


@pytest.mark.parametrize(
    ("template", "parameters", "component", "parameter"),
    BAD_SENDS,
    ids=[
        "too-few-body",
        "too-many-body",
        "missing-url-suffix",
        "newline-in-text",
        "empty-text",
        "static-button-index",
        "body-not-a-list",
        "unknown-component",
        "header-without-placeholder",
        "image-header-missing",
        "image-header-wrong-type",
        "image-link-not-https",
        "named-missing",
        "named-extra",
        "coupon-too-long",
        "text-header-missing",
        "body-without-placeholders",
    ],
)
def test_fill_rejects(
    template: dict[str, Any], parameters: dict[str, Any], component: str, parameter: str | None
) -> None:
    errors = fill(schema_of(template), parameters).errors
    assert [(error.component, error.parameter) for error in errors] == [(component, parameter)]
