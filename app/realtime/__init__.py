"""Realtime: outbox events fanned out to WebSocket rooms as HTML fragments."""
