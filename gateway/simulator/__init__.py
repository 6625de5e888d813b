"""A local stand-in for Meta's Graph API: sends, media, templates, status webhooks, faults."""
