"""Template objects as `GET /{waba_id}/message_templates` returns them, for catalog tests."""

from __future__ import annotations

from typing import Any

ORDER_UPDATE: dict[str, Any] = {
    "id": "1001",
    "name": "order_update",
    "language": "de",
    "status": "APPROVED",
    "category": "UTILITY",
    "parameter_format": "POSITIONAL",
    "quality_score": {"score": "GREEN"},
    "components": [
        {
            "type": "BODY",
            "text": "Hallo {{1}}, Ihre Bestellung {{2}} ist unterwegs.",
            "example": {"body_text": [["Anna", "4711"]]},
        },
        {"type": "FOOTER", "text": "Antworten Sie STOP, um keine Nachrichten mehr zu erhalten."},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Sendung verfolgen",
                    "url": "https://shop.example/track/{{1}}",
                },
                {"type": "URL", "text": "Hilfe", "url": "https://shop.example/help"},
            ],
        },
    ],
}

SPRING_SALE: dict[str, Any] = {
    "id": "1002",
    "name": "spring_sale",
    "language": "de",
    "status": "APPROVED",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "quality_score": {"score": "GREEN"},
    "components": [
        {
            "type": "HEADER",
            "format": "IMAGE",
            "example": {"header_handle": ["https://x.example/h"]},
        },
        {
            "type": "BODY",
            "text": "Hallo {{first_name}}, {{discount}} Rabatt bis Sonntag!",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Anna"},
                    {"param_name": "discount", "example": "20 %"},
                ]
            },
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "COPY_CODE", "example": "SPRING20"},
                {"type": "QUICK_REPLY", "text": "Keine Werbung mehr"},
            ],
        },
    ],
}

WELCOME_BACK: dict[str, Any] = {
    "id": "1003",
    "name": "welcome_back",
    "language": "en",
    "status": "APPROVED",
    "category": "MARKETING",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Hello {{1}}"},
        {"type": "BODY", "text": "We have news for you."},
    ],
}

PAUSED_PROMO: dict[str, Any] = {
    "id": "1004",
    "name": "paused_promo",
    "language": "de",
    "status": "PAUSED",
    "category": "MARKETING",
    "components": [{"type": "BODY", "text": "Angebot"}],
}


def filler(count: int) -> list[dict[str, Any]]:
    """Return `count` simple approved utility templates, to make the list span pages."""
    return [
        {
            "id": str(2000 + number),
            "name": f"notice_{number:03d}",
            "language": "de",
            "status": "APPROVED",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hinweis {{1}}"}],
        }
        for number in range(count)
    ]


def catalog(filler_count: int = 0) -> list[dict[str, Any]]:
    return [ORDER_UPDATE, SPRING_SALE, WELCOME_BACK, PAUSED_PROMO, *filler(filler_count)]
