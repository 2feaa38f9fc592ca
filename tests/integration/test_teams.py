"""Teams service: creation, invitations, membership, captaincy, disbanding."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, InviteStatus, Team, TeamInvite, TeamMember, User
from app.services import teams
from app.services.errors import Conflict, Invalid, NotAllowed, NotFound
from tests.concurrency import concurrently


@pytest.fixture
def captain(make_user):
    return make_user("cap", display_name="Cap")


@pytest.fixture
def mate(make_user):
    return make_user("mate", display_name="Mate")


@pytest.fixture
def outsider(make_user):
    return make_user("outsider")


def member_names(team: Team) -> list[str]:
    return sorted(db.session.scalars(
        select(User.username).join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
    ))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def actions(team: Team) -> list[str]:
    return list(db.session.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "team", AuditLog.object_id == team.id)
        .order_by(AuditLog.id)
    ))




# --- creating ------------------------------------------------------------------------


def test_creating_a_team_makes_the_creator_captain_and_only_member(team, captain):
    assert team.captain_id == captain.id
    assert member_names(team) == ["cap"]
    assert team.active


def test_creating_a_team_is_audited_with_its_name(team, captain):
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "team.created"))
    assert (row.actor_id, row.object_id, row.meta["name"]) == (captain.id, team.id, "Red Foxes")


def test_team_name_is_trimmed_and_inner_spaces_collapsed(captain):
    assert teams.create(captain, "  Blue \t  Wolves ").name == "Blue Wolves"


def test_team_names_are_unique_ignoring_case_and_spacing(team, mate):
    with pytest.raises(Invalid) as caught:
        teams.create(mate, " red  FOXES ")
    assert "already exists" in caught.value.fields["name"]
    db.session.rollback()
    assert count(Team) == 1


def test_the_name_of_a_disbanded_team_stays_taken(team, captain):
    teams.disband(captain, team)
    db.session.commit()
    with pytest.raises(Invalid):
        teams.create(captain, "Red Foxes")


@pytest.mark.parametrize("name, problem", [
    ("", "Use 2 to 64 characters."),
    ("X", "Use 2 to 64 characters."),
    ("x" * 65, "Use 2 to 64 characters."),
    ("-- !! --", "Use at least one letter or digit."),
    ("Red\u200bFoxes", "Remove invisible or control characters."),
])
def test_bad_team_names_are_refused_with_the_reason(captain, name, problem):
    with pytest.raises(Invalid) as caught:
        teams.create(captain, name)
    assert caught.value.fields == {"name": problem}
    db.session.rollback()
    assert count(Team) == 0


def test_two_concurrent_creations_of_one_name_make_one_team(app, captain, mate):
    ids = (captain.id, mate.id)
    outcomes = concurrently(app, *[
        (lambda uid=uid: teams.create(db.session.get(User, uid), "Twin Peaks").id) for uid in ids
    ])
    assert count(Team) == 1
    assert sum(isinstance(o, Invalid) for o in outcomes) == 1


# --- invitations ---------------------------------------------------------------------


def test_captain_invites_by_username_ignoring_case_and_at_sign(team, captain, mate):
    invitation = teams.invite(captain, team, " @MATE ")
    db.session.commit()
    assert (invitation.user_id, invitation.invited_by_id) == (mate.id, captain.id)
    assert invitation.status == InviteStatus.PENDING
    assert actions(team)[-1] == "team.invited"
    assert member_names(team) == ["cap"]  # invited is not joined


@pytest.mark.parametrize("username, message", [
    ("", "Enter the username of the player to invite."),
    ("   ", "Enter the username of the player to invite."),
    ("nobody", "There is no player called “nobody”."),
    ("cap", "cap is already a member of Red Foxes."),
])
def test_inviting_a_bad_username_is_refused_and_changes_nothing(team, captain, username, message):
    with pytest.raises(Invalid) as caught:
        teams.invite(captain, team, username)
    assert caught.value.fields == {"username": message}
    db.session.rollback()
    assert count(TeamInvite) == 0


def test_inviting_a_player_twice_is_refused_while_the_first_is_pending(team, captain, invite):
    with pytest.raises(Invalid) as caught:
        teams.invite(captain, team, "mate")
    assert "already has a pending invitation" in caught.value.fields["username"]
    db.session.rollback()
    assert count(TeamInvite) == 1


def test_a_player_who_declined_can_be_invited_again(team, captain, mate, invite):
    teams.decline(mate, invite)
    db.session.commit()
    teams.invite(captain, team, "mate")
    db.session.commit()
    assert count(TeamInvite, TeamInvite.status == InviteStatus.PENDING) == 1


def test_only_the_captain_can_invite(with_mate, mate, outsider):
    with pytest.raises(NotAllowed):
        teams.invite(mate, with_mate, "outsider")


def test_a_site_admin_can_act_for_the_captain(team, make_user, mate):
    admin = make_user("root", admin=True)
    teams.invite(admin, team, "mate")
    db.session.commit()
    assert count(TeamInvite) == 1


def test_two_concurrent_invitations_of_one_player_make_one_invite(app, team, captain, mate):
    captain_id, team_id = captain.id, team.id  # threads must not touch this session's objects

    def send():
        return teams.invite(db.session.get(User, captain_id), db.session.get(Team, team_id),
                            "mate").id

    outcomes = concurrently(app, send, send)
    assert count(TeamInvite) == 1
    assert sum(isinstance(o, Invalid) for o in outcomes) == 1


# --- answering -----------------------------------------------------------------------


def test_accepting_makes_the_invitee_a_member_and_is_audited(team, invite, mate):
    assert teams.accept(mate, invite) is True
    db.session.commit()
    assert member_names(team) == ["cap", "mate"]
    assert invite.status == InviteStatus.ACCEPTED and invite.responded_at is not None
    assert actions(team)[-1] == "team.invite_accepted"


def test_accepting_twice_is_a_no_op(team, invite, mate):
    teams.accept(mate, invite)
    db.session.commit()
    assert teams.accept(mate, invite) is False
    db.session.commit()
    assert member_names(team) == ["cap", "mate"]
    assert actions(team).count("team.invite_accepted") == 1


def test_only_the_invitee_can_accept_or_decline(invite, outsider, captain):
    for user in (outsider, captain):
        with pytest.raises(NotAllowed):
            teams.accept(user, invite)
        with pytest.raises(NotAllowed):
            teams.decline(user, invite)
    db.session.rollback()
    assert invite.status == InviteStatus.PENDING


def test_accepting_a_cancelled_invitation_is_a_conflict(team, captain, invite, mate):
    teams.cancel_invite(captain, team, invite)
    db.session.commit()
    with pytest.raises(Conflict, match="The captain cancelled it"):
        teams.accept(mate, invite)
    db.session.rollback()
    assert member_names(team) == ["cap"]


def test_accepting_a_declined_invitation_is_a_conflict(team, invite, mate):
    teams.decline(mate, invite)
    db.session.commit()
    with pytest.raises(Conflict, match="You declined it"):
        teams.accept(mate, invite)
    db.session.rollback()
    assert member_names(team) == ["cap"]


def test_declining_leaves_the_team_unchanged_and_is_audited(team, invite, mate):
    assert teams.decline(mate, invite) is True
    db.session.commit()
    assert invite.status == InviteStatus.DECLINED
    assert member_names(team) == ["cap"]
    assert actions(team)[-1] == "team.invite_declined"


def test_declining_twice_is_a_no_op(team, invite, mate):
    teams.decline(mate, invite)
    db.session.commit()
    assert teams.decline(mate, invite) is False
    assert actions(team).count("team.invite_declined") == 1


def test_declining_an_accepted_invitation_is_a_conflict(with_mate, invite, mate):
    with pytest.raises(Conflict, match="leave the team instead"):
        teams.decline(mate, invite)
    db.session.rollback()
    assert member_names(with_mate) == ["cap", "mate"]


def test_invitations_of_a_disbanded_team_are_not_found(team, captain, invite):
    teams.disband(captain, team)
    db.session.commit()
    with pytest.raises(NotFound):
        teams.get_invite(invite.id)


# --- cancelling ----------------------------------------------------------------------


def test_captain_cancels_a_pending_invitation(team, captain, invite):
    assert teams.cancel_invite(captain, team, invite) is True
    db.session.commit()
    assert invite.status == InviteStatus.CANCELLED
    assert actions(team)[-1] == "team.invite_cancelled"
    assert teams.invitations_for(invite.user) == []


def test_cancelling_twice_is_a_no_op(team, captain, invite):
    teams.cancel_invite(captain, team, invite)
    db.session.commit()
    assert teams.cancel_invite(captain, team, invite) is False
    assert actions(team).count("team.invite_cancelled") == 1


def test_cancelling_an_answered_invitation_is_a_conflict(with_mate, captain, invite):
    with pytest.raises(Conflict, match="mate already accepted"):
        teams.cancel_invite(captain, with_mate, invite)


def test_cancelling_another_teams_invitation_is_not_found(team, invite, outsider):
    other = teams.create(outsider, "Other Team")
    db.session.commit()
    with pytest.raises(NotFound):
        teams.cancel_invite(outsider, other, invite)
    db.session.rollback()
    assert invite.status == InviteStatus.PENDING


def test_only_the_captain_can_cancel_invitations(team, invite, mate):
    with pytest.raises(NotAllowed):
        teams.cancel_invite(mate, team, invite)


# --- leaving and removing ------------------------------------------------------------


def test_a_member_leaves_the_team(with_mate, mate):
    assert teams.leave(mate, with_mate) is True
    db.session.commit()
    assert member_names(with_mate) == ["cap"]
    assert actions(with_mate)[-1] == "team.member_left"
    assert teams.my_teams(mate) == []


def test_leaving_twice_is_a_no_op(with_mate, mate):
    teams.leave(mate, with_mate)
    db.session.commit()
    assert teams.leave(mate, with_mate) is False
    assert actions(with_mate).count("team.member_left") == 1


def test_the_captain_cannot_leave_before_transferring_captaincy(with_mate, captain):
    with pytest.raises(Invalid, match="transfer captaincy to another member before leaving"):
        teams.leave(captain, with_mate)
    db.session.rollback()
    assert member_names(with_mate) == ["cap", "mate"]


def test_captain_removes_a_member(with_mate, captain, mate):
    assert teams.remove_member(captain, with_mate, mate.id) == mate
    db.session.commit()
    assert member_names(with_mate) == ["cap"]
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "team.member_removed"))
    assert (row.actor_id, row.meta["username"]) == (captain.id, "mate")


def test_removing_someone_not_in_the_team_is_a_no_op(with_mate, captain, mate, outsider):
    teams.remove_member(captain, with_mate, mate.id)
    db.session.commit()
    assert teams.remove_member(captain, with_mate, mate.id) is None
    assert teams.remove_member(captain, with_mate, outsider.id) is None
    assert actions(with_mate).count("team.member_removed") == 1


def test_the_captain_cannot_be_removed(with_mate, captain):
    with pytest.raises(Invalid, match="captain cannot be removed"):
        teams.remove_member(captain, with_mate, captain.id)


def test_only_the_captain_can_remove_members(with_mate, mate, captain):
    with pytest.raises(NotAllowed):
        teams.remove_member(mate, with_mate, captain.id)
    db.session.rollback()
    assert member_names(with_mate) == ["cap", "mate"]


# --- captaincy -----------------------------------------------------------------------


def test_captain_transfers_captaincy_and_stays_a_member(with_mate, captain, mate):
    assert teams.transfer_captaincy(captain, with_mate, "Mate") is True
    db.session.commit()
    assert with_mate.captain_id == mate.id
    assert member_names(with_mate) == ["cap", "mate"]
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "team.captain_transferred"))
    assert (row.meta["previous"], row.meta["new"]) == ("cap", "mate")


def test_the_former_captain_can_leave_and_no_longer_manage(with_mate, captain, mate):
    teams.transfer_captaincy(captain, with_mate, "mate")
    db.session.commit()
    with pytest.raises(NotAllowed):
        teams.invite(captain, with_mate, "outsider")
    assert teams.leave(captain, with_mate) is True


@pytest.mark.parametrize("username, message", [
    ("", "Choose the member who becomes captain."),
    ("outsider", "outsider is not a member of Red Foxes; only a member can become captain."),
    ("ghost", "ghost is not a member of Red Foxes; only a member can become captain."),
])
def test_captaincy_only_goes_to_a_member(with_mate, captain, outsider, username, message):
    with pytest.raises(Invalid) as caught:
        teams.transfer_captaincy(captain, with_mate, username)
    assert caught.value.fields == {"new_captain": message}
    db.session.rollback()
    assert with_mate.captain_id == captain.id


def test_transferring_to_the_current_captain_is_a_no_op(with_mate, captain):
    assert teams.transfer_captaincy(captain, with_mate, "cap") is False
    assert "team.captain_transferred" not in actions(with_mate)


def test_only_the_captain_can_transfer_captaincy(with_mate, mate, captain):
    with pytest.raises(NotAllowed):
        teams.transfer_captaincy(mate, with_mate, "mate")
    db.session.rollback()
    assert with_mate.captain_id == captain.id


# --- disbanding ----------------------------------------------------------------------


def test_disbanding_keeps_the_team_for_history_and_cancels_pending_invites(
        with_mate, captain, outsider):
    pending = teams.invite(captain, with_mate, "outsider")
    db.session.commit()
    assert teams.disband(captain, with_mate) == 1
    db.session.commit()
    assert with_mate.disbanded_at is not None and not with_mate.active
    assert member_names(with_mate) == ["cap", "mate"]
    assert pending.status == InviteStatus.CANCELLED
    assert actions(with_mate)[-1] == "team.disbanded"


def test_a_disbanded_team_leaves_my_teams_and_my_invitations(team, captain, invite, mate):
    teams.disband(captain, team)
    db.session.commit()
    assert teams.my_teams(captain) == []
    assert teams.invitations_for(mate) == []


def test_a_disbanded_team_refuses_every_change(with_mate, captain, mate):
    teams.disband(captain, with_mate)
    db.session.commit()
    for change in (lambda: teams.invite(captain, with_mate, "outsider"),
                   lambda: teams.leave(mate, with_mate),
                   lambda: teams.remove_member(captain, with_mate, mate.id),
                   lambda: teams.transfer_captaincy(captain, with_mate, "mate"),
                   lambda: teams.disband(captain, with_mate)):
        with pytest.raises(NotFound):
            change()
        db.session.rollback()
    assert member_names(with_mate) == ["cap", "mate"]
    assert actions(with_mate).count("team.disbanded") == 1


def test_only_the_captain_can_disband(with_mate, mate):
    with pytest.raises(NotAllowed):
        teams.disband(mate, with_mate)
    db.session.rollback()
    assert with_mate.active


# --- lists ---------------------------------------------------------------------------


def test_my_teams_lists_the_users_active_teams_by_name(team, captain, mate):
    teams.create(captain, "alpha squad")
    teams.create(mate, "Mate's Own")
    db.session.commit()
    assert [t.name for t in teams.my_teams(captain)] == ["alpha squad", "Red Foxes"]


def test_invitations_for_lists_only_pending_ones(team, captain, invite, mate, outsider):
    other = teams.create(outsider, "Other Team")
    second = teams.invite(outsider, other, "mate")
    db.session.commit()
    teams.decline(mate, invite)
    db.session.commit()
    assert teams.invitations_for(mate) == [second]
