"""Rules the database itself enforces, so a race between two requests cannot break them."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Game, InviteStatus, Team, TeamInvite


def test_team_names_differing_only_in_case_are_refused(player):
    db.session.add(Team(name="Night Owls", captain_id=player.id))
    db.session.commit()
    db.session.add(Team(name="NIGHT owls", captain_id=player.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_game_names_differing_only_in_case_are_refused(app):
    db.session.add(Game(name="Tekken 8", team_size=1))
    db.session.commit()
    db.session.add(Game(name="tekken 8", team_size=1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_one_pending_invite_per_player_and_team(player, make_user):
    guest = make_user("guest")
    team = Team(name="Owls", captain_id=player.id)
    db.session.add(team)
    db.session.flush()
    db.session.add(TeamInvite(team_id=team.id, user_id=guest.id, invited_by_id=player.id,
                              status=InviteStatus.DECLINED))
    db.session.add(TeamInvite(team_id=team.id, user_id=guest.id, invited_by_id=player.id))
    db.session.commit()  # an answered invite does not block a new one
    db.session.add(TeamInvite(team_id=team.id, user_id=guest.id, invited_by_id=player.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
