"""Inbound processing: parse stored webhook bodies and apply each update."""
