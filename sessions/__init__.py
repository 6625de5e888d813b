"""Conversations, message history, and the customer service and free entry point windows."""
