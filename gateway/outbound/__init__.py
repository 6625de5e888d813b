"""Outbound messages: the outbound stream, sender workers, throttling and error handling."""
