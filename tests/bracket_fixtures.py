"""Fixtures for bracket generation: a field of confirmed, checked-in registrations."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.models import (
    MemberRole,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Tournament,
    User,
    utcnow,
)
from tests.conftest import save


@pytest.fixture
def make_field(app, password_hash) -> Callable[..., list[Registration]]:
    """`make_field(tournament, n)`: n players registered, confirmed and checked in, in order."""
    counter = {"next": 0}

    def make(tournament: Tournament, n: int, *, status=RegistrationStatus.CONFIRMED,
             checked_in: bool = True, prefix: str = "seed") -> list[Registration]:
        start = counter["next"]
        counter["next"] += n
        users = [User(username=f"{prefix}{start + i:04d}", display_name=f"Entrant {start + i + 1}",
                      email=f"{prefix}{start + i:04d}@example.test",
                      password_hash=password_hash) for i in range(n)]
        save(*users)
        active = status in (RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.CONFIRMED,
                            RegistrationStatus.WAITLISTED)
        registrations = []
        for user in users:
            registration = Registration(
                tournament_id=tournament.id, user_id=user.id, status=status, active=active,
                checked_in_at=utcnow() if checked_in else None)
            registration.members = [RegistrationMember(tournament_id=tournament.id,
                                                       user_id=user.id, role=MemberRole.PLAYER,
                                                       active=active)]
            registrations.append(registration)
        save(*registrations)
        return registrations

    return make


@pytest.fixture
def make_published(make_field, organizer) -> Callable[..., object]:
    """`make_published(tournament, n)`: a field of n, its bracket generated and finalized."""
    from app.services import brackets
    from tests.integration.test_bracket_generation import generate
    from tests.integration.test_registrations import do

    def make(tournament: Tournament, n: int):
        make_field(tournament, n)
        made = generate(organizer, tournament)
        do(lambda: brackets.finalize(organizer, tournament, made.version))
        return made

    return make
