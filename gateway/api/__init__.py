"""Versioned REST and SSE APIs under `/api/v1`."""
