"""Wakes hubs when events are committed (placeholder, replaced by the realtime layer)."""

from __future__ import annotations


def notify_committed() -> None:
    """Tell hubs that new outbox rows exist."""
