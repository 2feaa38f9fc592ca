"""WebSocket endpoint (filled in by the realtime layer)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the WebSocket route."""
