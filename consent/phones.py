"""Phone numbers as E.164, and the keyed subject id that stands for a number in Redis."""

from __future__ import annotations

import hashlib

import phonenumbers

from consent.errors import InvalidPhone

DEFAULT_REGION = "DE"


def normalize_phone(raw: str, default_region: str = DEFAULT_REGION) -> str:
    """Return `raw` as E.164 (`+4915112345678`); raise InvalidPhone when it is no valid number.

    A bare digit string that starts with a country code, as Meta sends `wa_id`, is read as
    international when it does not parse as a national number of `default_region`.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone(
            "the phone number is empty; enter it with country code, e.g. +49 151 1234567",
            field="phone",
            value=raw,
        )

    candidates = [text]
    if text.isdigit() and not text.startswith("0"):
        candidates = ["+" + text, text]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    raise InvalidPhone(
        f"`{text}` is not a valid phone number; enter it with country code, e.g. +49 151 1234567",
        field="phone",
        value=raw,
    )


def wa_id_of(e164: str) -> str:
    """Return the number as WhatsApp writes it in `wa_id` and wa.me links: digits only."""
    return e164.lstrip("+")


def subject_id(secret: bytes, e164: str) -> str:
    """Return the keyed hash that stands for a phone number in keys, the ledger and logs.

    A plain SHA-256 of a phone number can be reversed by trying all numbers, but a keyed hash
    cannot without the key. Keyed BLAKE2b is a MAC by design and about twice as fast as
    HMAC-SHA256, which matters on the gate's bulk path.
    """
    return hashlib.blake2b(e164.encode(), key=_mac_key(secret), digest_size=16).hexdigest()


def user_id_digest(secret: bytes, user_id: str) -> str:
    """Return the keyed hash of a business-scoped user id."""
    key = _mac_key(secret)
    return hashlib.blake2b(b"user:" + user_id.encode(), key=key, digest_size=16).hexdigest()


def _mac_key(secret: bytes) -> bytes:
    # BLAKE2b takes keys of at most 64 bytes; a longer secret is hashed down to 64 bytes.
    return secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()
