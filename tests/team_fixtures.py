"""Team fixtures shared by the service and page tests of teams.

Each test module defines its own `captain` and `mate` users (names differ per
module); these build the team, a pending invite and the accepted membership on top.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Team, TeamInvite
from app.services import teams


@pytest.fixture
def team(captain) -> Team:
    team = teams.create(captain, "Red Foxes")
    db.session.commit()
    return team


@pytest.fixture
def invite(team, captain, mate) -> TeamInvite:
    invitation = teams.invite(captain, team, "mate")
    db.session.commit()
    return invitation


@pytest.fixture
def with_mate(team, invite, mate) -> Team:
    teams.accept(mate, invite)
    db.session.commit()
    return team
