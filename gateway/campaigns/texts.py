"""German and English texts that marketing users read: API problem details and CLI output.

Problem documents carry `detail` in English and `detail_de` in German, so that a UI can show
either. The CLI picks the language from `WAG_LANGUAGE` or `LANG` (German unless `en...`).
"""

from __future__ import annotations

import os
from typing import Any

TEXTS: dict[str, tuple[str, str]] = {
    "template_not_found": (
        "template `{template}` ({language}) is not in the catalog; check the name and language, "
        "or run `wa-gateway templates sync`",
        "Die Vorlage `{template}` ({language}) ist nicht im Katalog. Prüfen Sie Name und Sprache "
        "oder führen Sie `wa-gateway templates sync` aus.",
    ),
    "template_not_sendable": (
        "template `{template}` ({language}) cannot be sent: {reason}",
        "Die Vorlage `{template}` ({language}) kann nicht gesendet werden: {reason}",
    ),
    "parameters_invalid": (
        "the parameters do not match template `{template}`: {first}{more}",
        "Die Parameter passen nicht zur Vorlage `{template}`: {first}{more}",
    ),
    "phone_invalid": (
        "`{value}` is not a valid phone number; write it with country code, e.g. +49 151 1234567",
        "`{value}` ist keine gültige Telefonnummer. Bitte mit Ländervorwahl angeben, "
        "z. B. +49 151 1234567.",
    ),
    "consent_denied": (
        "no active WhatsApp consent for purpose `{purpose}` ({reason}); nothing was sent",
        "Keine aktive WhatsApp-Einwilligung für den Zweck `{purpose}` ({reason}). "
        "Es wurde nichts gesendet.",
    ),
    "campaign_not_found": (
        "campaign {campaign_id} not found; list campaigns with GET /api/v1/campaigns",
        "Kampagne {campaign_id} nicht gefunden. Kampagnen auflisten: GET /api/v1/campaigns",
    ),
    "campaign_wrong_state": (
        "campaign {campaign_id} is {state}; {action} is possible only when it is {allowed}",
        "Kampagne {campaign_id} ist im Zustand {state}; {action} geht nur im Zustand {allowed}.",
    ),
    "no_recipients": (
        "the recipient list contains no line that can be sent; see `rejected` per line",
        "Die Empfängerliste enthält keine sendbare Zeile; Details pro Zeile unter `rejected`.",
    ),
    "recipient_list_invalid": (
        "the recipient list cannot be read: {reason}",
        "Die Empfängerliste kann nicht gelesen werden: {reason}",
    ),
    "idempotency_in_progress": (
        "a request with this Idempotency-Key is still being processed; retry in a moment",
        "Eine Anfrage mit diesem Idempotency-Key wird noch bearbeitet; "
        "bitte gleich erneut versuchen.",
    ),
    "idempotency_key_reused": (
        "this Idempotency-Key was used for a request with another body; use a new key per send",
        "Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet; "
        "bitte pro Sendung einen neuen Schlüssel verwenden.",
    ),
    "not_conversation_holder": (
        "agents send templates only in a conversation assigned to them; pass its "
        "`conversation_id` and accept its offer first",
        "Agenten senden Vorlagen nur in einer ihnen zugewiesenen Unterhaltung; geben Sie deren "
        "`conversation_id` an und nehmen Sie sie zuerst an.",
    ),
    # CLI
    "cli_progress": (
        "{done}/{total} dispatched · {queued} queued · {blocked} blocked · {sent} sent · "
        "{delivered} delivered · {read} read · {failed} failed",
        "{done}/{total} verarbeitet · {queued} eingereiht · {blocked} blockiert · "
        "{sent} gesendet · {delivered} zugestellt · {read} gelesen · {failed} fehlgeschlagen",
    ),
    "cli_created": (
        "campaign {campaign_id} created: {recipients} recipients, {rejected} lines rejected",
        "Kampagne {campaign_id} angelegt: {recipients} Empfänger, {rejected} Zeilen abgelehnt",
    ),
    "cli_rejected_line": ("line {line}: {reason} - {detail}", "Zeile {line}: {reason} - {detail}"),
    "cli_dry_run": (
        "{would_send} of {recipients} would be sent, {blocked} blocked, {rejected} lines rejected",
        "{would_send} von {recipients} würden gesendet, {blocked} blockiert, "
        "{rejected} Zeilen abgelehnt",
    ),
    "cli_state": ("campaign {campaign_id} is {state}", "Kampagne {campaign_id}: {state}"),
    "cli_finished": (
        "campaign {campaign_id} finished as {state}",
        "Kampagne {campaign_id} beendet: {state}",
    ),
    "cli_synced": (
        "{templates} templates synced from {pages} pages, {deleted} marked deleted",
        "{templates} Vorlagen synchronisiert ({pages} Abrufe), {deleted} als gelöscht markiert",
    ),
}

STATE_NAMES_DE = {
    "draft": "Entwurf",
    "scheduled": "geplant",
    "running": "läuft",
    "paused": "pausiert",
    "completed": "abgeschlossen",
    "cancelled": "abgebrochen",
}


def text(key: str, lang: str, /, **values: Any) -> str:
    """Return text `key` in `lang` (`de` or `en`) with `values` filled in."""
    english, german = TEXTS[key]
    template = german if lang == "de" else english
    return template.format(**values)


def both(key: str, **values: Any) -> dict[str, str]:
    """Return `detail` (English) and `detail_de` (German) for a problem document."""
    return {"detail": text(key, "en", **values), "detail_de": text(key, "de", **values)}


def cli_language() -> str:
    """Return `de` or `en` for CLI output, from `WAG_LANGUAGE` or `LANG` (default German)."""
    setting = os.environ.get("WAG_LANGUAGE") or os.environ.get("LANG") or "de"
    return "en" if setting.lower().startswith("en") else "de"


def state_name(state: str, language: str) -> str:
    return STATE_NAMES_DE.get(state, state) if language == "de" else state
