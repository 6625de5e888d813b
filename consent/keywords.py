"""STOP keywords: a whole message that, once normalised, is exactly one withdrawal word."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

DEFAULT_STOP_KEYWORDS = (
    "stop",
    "stopp",
    "abmelden",
    "abbestellen",
    "austragen",
    "widerruf",
    "widerrufen",
    "unsubscribe",
    "cancel",
    "optout",
)
# Unicode categories removed before matching: punctuation (P*), symbols and emoji (S*), and
# marks and format characters that emoji sequences are built of (variation selectors, ZWJ).
_DROPPED_CATEGORIES = ("P", "S", "Mn", "Me", "Cf")


def normalize_message(text: str) -> str:
    """Case-fold `text` and drop punctuation, emoji and all whitespace ("Stopp! 🛑" -> "stopp")."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = [
        char
        for char in folded
        if not char.isspace() and not unicodedata.category(char).startswith(_DROPPED_CATEGORIES)
    ]
    return "".join(kept)


class StopKeywords:
    """Match whole messages against a configured German and English keyword list."""

    def __init__(self, keywords: Iterable[str] = DEFAULT_STOP_KEYWORDS) -> None:
        self._normalized = frozenset(normalize_message(keyword) for keyword in keywords)
        self._normalized = self._normalized - {""}

    def matches(self, text: str | None) -> bool:
        """Return True when the whole message is a withdrawal word.

        A sentence that contains one is not.
        """
        if not text:
            return False
        return normalize_message(text) in self._normalized
