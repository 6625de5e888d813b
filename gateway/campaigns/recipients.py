"""Read a campaign's recipient list from CSV or JSON lines.

CSV: a header row with a `phone` column (also accepted: `to`, `number`, `telefon`,
`telefonnummer`, `mobil`, `handy`) and one column per template parameter:
`body.1`, `body.first_name`, `header.1` (text header), `header.link` or `header.id`
(media header), `header.filename`, `button.0`. JSON lines: one object per line,
`{"phone": "+49...", "parameters": {...}}`, the parameters as for a single send.

Numbers are normalised to E.164 (default region DE). Every line that cannot be sent is
reported with its line number and reason. A number that occurs again is a duplicate of its
first line and is skipped.
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass, field
from typing import Any

import orjson
import phonenumbers

from gateway.catalog.schema import ParameterSchema
from gateway.catalog.validate import fill

DEFAULT_REGION = "DE"
PHONE_COLUMNS = ("phone", "to", "number", "telefon", "telefonnummer", "mobil", "handy")
MAX_RECIPIENTS = 1_000_000


class RecipientListError(ValueError):
    """The list as a whole is unreadable (no phone column, unknown format, too long)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    line: int
    phone: str  # E.164
    components: list[dict[str, Any]]  # Meta's template components, filled in


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str  # invalid_number, invalid_parameters, invalid_line, duplicate
    detail: str
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "reason": self.reason,
            "detail": self.detail,
            "value": self.value,
        }


@dataclass
class RecipientList:
    recipients: list[Recipient] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def count_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rejected in self.rejected:
            counts[rejected.reason] = counts.get(rejected.reason, 0) + 1
        return counts


def e164_of(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """Return `raw` as E.164, or None when it is no valid phone number.

    A bare digit string that does not start with 0 is also tried as international
    (`4915112345678`, the way WhatsApp writes `wa_id`).
    """
    text = raw.strip()
    candidates = [text]
    if text.isdigit() and not text.startswith("0"):
        candidates.insert(0, "+" + text)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def parse_recipients(
    data: str,
    content_type: str,
    schema: ParameterSchema,
    defaults: dict[str, Any] | None = None,
) -> RecipientList:
    """Parse `data` (`text/csv` or `application/x-ndjson`) against the template's schema.

    `defaults` are parameters shared by every recipient (a header image, a discount). A
    recipient's own parameters override them: named body parameters and buttons one by
    one, everything else per component.
    """
    if "csv" in content_type:
        rows = _csv_rows(data, schema)
    elif "ndjson" in content_type or "jsonl" in content_type or "json-lines" in content_type:
        rows = _json_rows(data)
    else:
        msg = f"unsupported recipient list type `{content_type}`, "
        msg += "send text/csv or application/x-ndjson"
        raise RecipientListError(msg)

    result = RecipientList()
    first_line_of: dict[str, int] = {}
    for line, phone, parameters, error in rows:
        if len(result.recipients) >= MAX_RECIPIENTS:
            msg = f"the list has more than {MAX_RECIPIENTS:,} recipients, "
            msg += "split it into several campaigns"
            raise RecipientListError(msg)
        if error is not None:
            result.rejected.append(Rejected(line, "invalid_line", error))
            continue
        _add(result, first_line_of, schema, line, phone, _merged(defaults or {}, parameters))
    return result


def _add(
    result: RecipientList,
    first_line_of: dict[str, int],
    schema: ParameterSchema,
    line: int,
    phone: str,
    parameters: dict[str, Any],
) -> None:
    e164 = e164_of(phone)
    if e164 is None:
        detail = "not a valid phone number; write it with country code, e.g. +49 151 1234567"
        result.rejected.append(Rejected(line, "invalid_number", detail, phone))
        return
    if e164 in first_line_of:
        detail = f"the same number as line {first_line_of[e164]}; it is sent once"
        result.rejected.append(Rejected(line, "duplicate", detail, e164))
        return

    filled = fill(schema, parameters)
    if filled.errors:
        detail = "; ".join(error.describe() for error in filled.errors)
        result.rejected.append(Rejected(line, "invalid_parameters", detail))
        return

    first_line_of[e164] = line
    result.recipients.append(Recipient(line, e164, filled.components))


def _merged(defaults: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for component, value in own.items():
        default = merged.get(component)
        if isinstance(default, dict) and isinstance(value, dict) and "type" not in value:
            merged[component] = {**default, **value}
        else:
            merged[component] = value
    return merged


Row = tuple[int, str, dict[str, Any], str | None]  # line, phone, parameters, error


def _json_rows(data: str) -> list[Row]:
    rows: list[Row] = []
    for line, text in enumerate(data.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            item = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            rows.append((line, "", {}, f"not valid JSON: {exc}"))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("phone"), str | int):
            rows.append(
                (line, "", {}, 'expected an object such as {"phone": "+49...", "parameters": {}}')
            )
            continue
        parameters = item.get("parameters") or {}
        if not isinstance(parameters, dict):
            rows.append((line, "", {}, "`parameters` must be an object"))
            continue
        rows.append((line, str(item["phone"]), parameters, None))
    return rows


def _csv_rows(data: str, schema: ParameterSchema) -> list[Row]:
    sample = data[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff")), dialect)
    header = [column.strip().lower() for column in next(reader, [])]
    phone_column = next((i for i, column in enumerate(header) if column in PHONE_COLUMNS), None)
    if phone_column is None:
        msg = f"the CSV header has no phone column; name one of them {', '.join(PHONE_COLUMNS)}"
        raise RecipientListError(msg)

    rows: list[Row] = []
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            rows.append((line, "", {}, f"has {len(values)} columns, the header has {len(header)}"))
            continue
        cells = dict(zip(header, values, strict=True))
        rows.append((line, values[phone_column], _parameters_of(cells, schema), None))
    return rows


def _parameters_of(cells: dict[str, str], schema: ParameterSchema) -> dict[str, Any]:
    """Turn `body.1`, `header.link`, `button.0` columns into the parameters object."""
    body: dict[str, str] = {}
    header: dict[str, Any] = {}
    buttons: dict[str, str] = {}
    for column, value in cells.items():
        component, _, name = column.partition(".")
        if not name or value == "":
            continue
        if component == "body":
            body[name] = value
        elif component == "header":
            header[name] = value
        elif component in ("button", "buttons"):
            buttons[name] = value

    parameters: dict[str, Any] = {}
    if body:
        parameters["body"] = body if schema.named else _positional(body)
    if header:
        parameters["header"] = _header(header, schema)
    if buttons:
        parameters["buttons"] = buttons
    return parameters


def _positional(values: dict[str, str]) -> list[str] | dict[str, str]:
    # Positional columns must be 1..n; anything else is passed on as named, which fill() reports.
    if sorted(values) != [str(number) for number in range(1, len(values) + 1)]:
        return values
    return [values[str(number)] for number in range(1, len(values) + 1)]


def _header(values: dict[str, Any], schema: ParameterSchema) -> Any:
    if schema.header in (None, "text"):
        return values if schema.named else _positional(values)
    header: dict[str, Any] = {"type": schema.header, **values}
    for name in ("latitude", "longitude"):
        if name in header:
            # A value that is no number stays a string, and fill() reports it as invalid.
            with contextlib.suppress(ValueError):
                header[name] = float(header[name])
    return header
