"""Texts that customers read in WhatsApp, in German (default) and English."""

from __future__ import annotations

DEFAULT_LANGUAGE = "de"

_MESSAGES: dict[str, dict[str, str]] = {
    "optin_prefill": {
        "de": "Ich möchte WhatsApp-Nachrichten von {business} erhalten. "
        "Mein Bestätigungscode: {code}",
        "en": "I want to receive WhatsApp messages from {business}. My confirmation code: {code}",
    },
    "optin_confirmed": {
        "de": "Danke! Ihre Einwilligung ist bestätigt: "
        "{business} darf Ihnen jetzt WhatsApp-Nachrichten "
        "senden ({purposes}). Sie können jederzeit widerrufen: Antworten Sie einfach STOP.",
        "en": "Thank you! Your consent is confirmed: {business} may now send you WhatsApp messages "
        "({purposes}). You can withdraw at any time: simply reply STOP.",
    },
    "optin_expired": {
        "de": "Dieser Bestätigungscode ist abgelaufen. "
        "Bitte füllen Sie das Formular erneut aus, wenn Sie "
        "WhatsApp-Nachrichten von {business} erhalten möchten.",
        "en": "This confirmation code has expired. "
        "Please fill in the form again if you want to receive "
        "WhatsApp messages from {business}.",
    },
    "stop_confirmed": {
        "de": "Sie sind abgemeldet: "
        "{business} sendet Ihnen keine Werbung, Service- oder Code-Nachrichten "
        "per WhatsApp mehr. Möchten Sie wieder Nachrichten erhalten, melden Sie sich erneut über "
        "unser Anmeldeformular an.",
        "en": "You are unsubscribed: "
        "{business} will no longer send you promotional, service or code messages on WhatsApp. "
        "To receive messages again, sign up once more through our consent form.",
    },
}

PURPOSE_NAMES: dict[str, dict[str, str]] = {
    "marketing": {"de": "Angebote und Neuigkeiten", "en": "offers and news"},
    "service_updates": {
        "de": "Nachrichten zu Ihren Bestellungen",
        "en": "messages about your orders",
    },
    "authentication": {
        "de": "Anmelde- und Bestätigungscodes",
        "en": "login and verification codes",
    },
}


def message(name: str, language: str | None, **values: str) -> str:
    """Return the customer message `name` in `language` (German when unknown), filled in."""
    variants = _MESSAGES[name]
    template = variants.get(language or DEFAULT_LANGUAGE, variants[DEFAULT_LANGUAGE])
    return template.format(**values)


def purpose_names(purposes: list[str], language: str | None) -> str:
    """Return the purposes as a readable list in `language`."""
    lang = language if language in ("de", "en") else DEFAULT_LANGUAGE
    return ", ".join(PURPOSE_NAMES.get(purpose, {}).get(lang, purpose) for purpose in purposes)
