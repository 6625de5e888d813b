"""WhatsApp contact-center routing gateway: HTTP app, webhooks, APIs, CLI and outbound sender."""

__version__ = "0.1.0"
