"""Reading recipient lists: CSV and JSON lines, E.164, line numbers, duplicates."""

from __future__ import annotations

import pytest

from gateway.campaigns.recipients import RecipientListError, e164_of, parse_recipients
from gateway.catalog.schema import schema_of
from tests.catalog.templates import ORDER_UPDATE, SPRING_SALE, WELCOME_BACK

ORDER = schema_of(ORDER_UPDATE)
SALE = schema_of(SPRING_SALE)

ORDER_CSV = """phone,body.1,body.2,button.0
+49 151 12345678,Anna,4711,4711
0151 22345678,Ben,4712,4712
not a number,Carl,4713,4713
+4915112345678,Anna again,4714,4714
+49 151 32345678,Dora,4715
+49 151 42345678,Emil,,4716
"""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+49 151 12345678", "+4915112345678"),
        ("0151 12345678", "+4915112345678"),
        ("4915112345678", "+4915112345678"),
        ("+1 202 555 0143", "+12025550143"),
        ("12345", None),
        ("", None),
    ],
    ids=["international", "national-de", "wa-id-digits", "us", "too-short", "empty"],
)
def test_e164_of(raw: str, expected: str | None) -> None:
    assert e164_of(raw) == expected


def test_csv_accepts_valid_lines() -> None:
    result = parse_recipients(ORDER_CSV, "text/csv", ORDER)
    assert [(r.line, r.phone) for r in result.recipients] == [
        (2, "+4915112345678"),
        (3, "+4915122345678"),
    ]


def test_csv_rejects_with_line_numbers() -> None:
    result = parse_recipients(ORDER_CSV, "text/csv", ORDER)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (4, "invalid_number"),
        (5, "duplicate"),
        (6, "invalid_line"),
        (7, "invalid_parameters"),
    ]


def test_duplicate_names_first_line() -> None:
    result = parse_recipients(ORDER_CSV, "text/csv", ORDER)
    duplicate = result.rejected[1]
    assert "line 2" in duplicate.detail


def test_csv_fills_components() -> None:
    result = parse_recipients(ORDER_CSV, "text/csv", ORDER)
    body = result.recipients[0].components[0]
    assert body["parameters"] == [
        {"type": "text", "text": "Anna"},
        {"type": "text", "text": "4711"},
    ]


def test_semicolon_csv_with_bom() -> None:
    data = "\ufeffTelefon;body.1;body.2;button.0\n+49 151 12345678;Anna;4711;4711\n"
    result = parse_recipients(data, "text/csv", ORDER)
    assert len(result.recipients) == 1


def test_csv_without_phone_column() -> None:
    with pytest.raises(RecipientListError, match="no phone column"):
        parse_recipients("name,body.1\nAnna,x\n", "text/csv", ORDER)


def test_named_csv_with_defaults() -> None:
    data = "phone,body.first_name,button.0\n+4915112345678,Anna,SPRING20\n"
    defaults = {
        "header": {"type": "image", "link": "https://cdn.example/spring.jpg"},
        "body": {"first_name": "x", "discount": "20 %"},
    }
    result = parse_recipients(data, "text/csv", SALE, defaults)
    assert result.rejected == []
    assert result.recipients[0].components[0]["type"] == "header"


def test_media_header_from_columns() -> None:
    data = "phone,header.link,body.first_name,body.discount,button.0\n"
    data += "+4915112345678,https://cdn.example/a.jpg,Anna,20 %,SPRING20\n"
    result = parse_recipients(data, "text/csv", SALE)
    assert result.rejected == []
    header = result.recipients[0].components[0]
    assert header["parameters"][0]["image"] == {"link": "https://cdn.example/a.jpg"}


def test_missing_media_header_rejected() -> None:
    data = "phone,body.first_name,body.discount,button.0\n+4915112345678,Anna,20 %,SPRING20\n"
    result = parse_recipients(data, "text/csv", SALE)
    assert result.rejected[0].reason == "invalid_parameters"
    assert "header" in result.rejected[0].detail


def test_json_lines() -> None:
    data = "\n".join(
        [
            '{"phone": "+4915112345678", "parameters": {"header": "Anna"}}',
            "{not json",
            '{"phone": "+4915112345678", "parameters": {"header": "Anna"}}',
            '{"name": "no phone"}',
        ]
    )
    result = parse_recipients(data, "application/x-ndjson", schema_of(WELCOME_BACK))
    assert [r.line for r in result.recipients] == [1]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "invalid_line"),
        (3, "duplicate"),
        (4, "invalid_line"),
    ]


def test_unknown_content_type() -> None:
    with pytest.raises(RecipientListError, match="unsupported"):
        parse_recipients("x", "application/pdf", ORDER)
