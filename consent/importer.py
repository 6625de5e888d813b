"""Import consents collected elsewhere (CSV or JSON lines).

A row with evidence of a double opt-in (for example the wamid or e-mail of the confirmation)
becomes `given` plus `confirmed`, so it is active. A row without evidence becomes `given` by
import, which is `unverified`, and the gate denies it until the customer confirms. `refused` and
`withdrawn` rows are recorded as such. Each row is keyed on its content, so importing the same
file twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from consent.errors import ConsentError
from consent.ledger import Ledger
from consent.model import ConsentRecord, EventType, Method

IMPORTABLE = {
    "given": EventType.GIVEN,
    "refused": EventType.REFUSED,
    "withdrawn": EventType.WITHDRAWN,
}


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    active: int = 0
    unverified: int = 0
    recorded: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_rows(raw: bytes, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from JSON lines (`.jsonl`, `.ndjson`) or CSV with a header row."""
    text = raw.decode("utf-8-sig")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield number, orjson.loads(line)
        return
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        yield number, {key: value for key, value in row.items() if value not in (None, "")}


def _ms(row: dict[str, Any], name: str) -> int | None:
    """Read `<name>_ms` (epoch ms) or `<name>_at` (ISO 8601 with offset)."""
    if row.get(f"{name}_ms") not in (None, ""):
        return int(row[f"{name}_ms"])
    text = row.get(f"{name}_at")
    if not text:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        msg = f"{name}_at `{text}` has no UTC offset; write it like 2025-03-01T10:15:00Z"
        raise ValueError(msg)
    return int(moment.timestamp() * 1000)


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "ja")


def records_for(row: dict[str, Any], business: str) -> list[ConsentRecord]:
    """Turn one import row into ledger records.

    Raise ValueError or ConsentError naming the problem.
    """
    kind = str(row.get("type") or row.get("event_type") or "given").lower()
    if kind not in IMPORTABLE:
        msg = f"type `{kind}` cannot be imported; use given, refused or withdrawn"
        raise ValueError(msg)
    evidence = row.get("evidence") or None
    base: dict[str, Any] = {
        "business_number": str(row.get("phone_number_id") or business),
        "phone": str(row.get("phone") or ""),
        "channel": str(row.get("channel") or "whatsapp"),
        "purpose": str(row.get("purpose") or ""),
        "method": Method.IMPORT,
        "occurred_ms": _ms(row, "occurred"),
        "capture_source": row.get("capture_source"),
        "text_version_id": row.get("text_version_id"),
        "text_sha256": row.get("text_sha256"),
        "language": row.get("language"),
        "checkbox_default": _bool(row.get("checkbox_default")),
        "ip": row.get("ip"),
        "user_agent": row.get("user_agent"),
        "user_id": row.get("user_id"),
        "evidence": evidence,
        "actor": "import",
        "detail": row.get("original_method"),
    }
    records = [ConsentRecord(type=IMPORTABLE[kind], **base)]
    if kind == "given" and evidence:
        confirmed_ms = _ms(row, "confirmed") or base["occurred_ms"]
        records.append(
            ConsentRecord(type=EventType.CONFIRMED, **{**base, "occurred_ms": confirmed_ms})
        )
    return records


async def import_rows(
    ledger: Ledger, rows: Iterator[tuple[int, dict[str, Any]]], business: str, progress: Any = None
) -> ImportReport:
    """Append each row.

    A rejected row is reported with its line number and the others still go in.
    """
    report = ImportReport()
    for number, row in rows:
        report.rows += 1
        try:
            records = records_for(row, business)
            token = hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
            events = await ledger.append(records, idempotency_key=f"import:{token}")
        except (ConsentError, ValueError, TypeError) as exc:
            report.rejected.append((number, str(exc)))
        else:
            if events[0].duplicate:
                report.duplicates += 1
            elif events[-1].state.state.value == "active":
                report.active += 1
            elif events[-1].state.state.value == "unverified":
                report.unverified += 1
            else:
                report.recorded += 1
        if progress is not None:
            progress(report.rows)
    return report
