"""Registrations: players and teams entering a tournament (stub: owned by the registration work)."""

from __future__ import annotations

from app.models import HOLDS_SLOT, Registration, RegistrationStatus


def set_paid(registration: Registration, paid: bool) -> None:
    """Mark a slot-holding registration paid (CONFIRMED) or unpaid (PENDING_PAYMENT)."""
    if registration.status not in HOLDS_SLOT:
        return
    registration.status = (RegistrationStatus.CONFIRMED if paid
                           else RegistrationStatus.PENDING_PAYMENT)
