"""Stub: see /work/notes/issue3_contracts.md."""

from __future__ import annotations


def __getattr__(name: str):
    raise NotImplementedError(f"app.services.checkin.{name} is not written yet")
