"""Hybrid multi-channel queue: interactions, agents, offers and assignment."""
