"""A local stand-in for Meta's Graph API: sends, media upload, templates, status webhooks, faults."""
