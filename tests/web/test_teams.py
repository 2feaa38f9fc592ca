"""Team pages: the main flows, bad input, and who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import InviteStatus, Team, TeamInvite, TeamMember
from app.services import teams
from tests.conftest import login


@pytest.fixture
def captain(make_user):
    return make_user("cap", display_name="Cap Tain")


@pytest.fixture
def mate(make_user):
    return make_user("mate", display_name="Mate Mc")


@pytest.fixture
def outsider(make_user):
    return make_user("outsider", display_name="Out Sider")


def members(team: Team) -> int:
    return db.session.scalar(
        select(func.count(TeamMember.id)).where(TeamMember.team_id == team.id))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- signing in and seeing -----------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("get", "/teams/"), ("post", "/teams/"), ("get", "/teams/{team}"),
    ("post", "/teams/{team}/invites"), ("post", "/teams/{team}/leave"),
    ("post", "/teams/invites/{invite}/accept"),
])
def test_anonymous_visitors_are_sent_to_the_login_page(client, team, invite, method, path):
    response = getattr(client, method)(path.format(team=team.id, invite=invite.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert members(team) == 1


def test_teams_page_lists_my_teams_and_invitations_to_answer(client, team, invite, mate):
    teams.create(mate, "Own Squad")
    db.session.commit()
    login(client, mate)
    body = text(client.get("/teams/"))
    assert "Own Squad" in body and "Invitations" in body and "Red Foxes" in body
    assert f'action="/teams/invites/{invite.id}/accept"' in body


def test_teams_page_says_how_to_join_when_the_user_has_no_team(client, outsider):
    login(client, outsider)
    body = text(client.get("/teams/"))
    assert "You are not in a team yet" in body and "<strong>outsider</strong>" in body


def test_team_page_shows_captain_members_and_a_live_member_list(client, with_mate, mate):
    login(client, mate)
    body = text(client.get(f"/teams/{with_mate.id}"))
    assert f'id="team-{with_mate.id}-members"' in body
    assert "Cap Tain" in body and "Mate Mc" in body and "Captain" in body
    assert "Leave team" in body
    assert "Send invitation" not in body  # captain's tools are for the captain


def test_any_signed_in_user_sees_a_team_but_not_its_pending_invites(client, team, invite,
                                                                     outsider):
    login(client, outsider)
    body = text(client.get(f"/teams/{team.id}"))
    assert "Red Foxes" in body
    assert "Pending invitations" not in body and "@mate" not in body


def test_captain_sees_pending_invites_and_the_tools(client, team, invite, captain):
    login(client, captain)
    body = text(client.get(f"/teams/{team.id}"))
    assert "Pending invitations" in body and "@mate" in body
    assert "Send invitation" in body and "Disband team" in body


def test_an_unknown_team_is_not_found(client, outsider):
    login(client, outsider)
    assert client.get("/teams/999").status_code == 404


# --- creating ------------------------------------------------------------------------


def test_creating_a_team_opens_its_page_with_the_creator_as_captain(client, outsider):
    login(client, outsider)
    response = client.post("/teams/", data={"name": "  Night Owls "})
    team = db.session.scalar(select(Team).where(Team.name == "Night Owls"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/teams/{team.id}#top"
    assert team.captain_id == outsider.id and members(team) == 1
    body = text(client.get(response.headers["Location"]))
    assert "Team Night Owls created" in body and "You are the captain" in body


@pytest.mark.parametrize("name, message", [
    ("", "Enter a team name."),
    ("X", "Use 2 to 64 characters."),
    ("red foxes", "A team with that name already exists"),
])
def test_creating_a_team_with_a_bad_name_shows_the_error_and_creates_nothing(
        client, team, outsider, name, message):
    login(client, outsider)
    response = client.post("/teams/", data={"name": name})
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(select(func.count(Team.id))) == 1


def test_submitting_the_create_form_twice_makes_one_team(client, outsider):
    login(client, outsider)
    client.post("/teams/", data={"name": "Night Owls"})
    second = client.post("/teams/", data={"name": "Night Owls"})
    assert second.status_code == 400
    assert "already exists" in text(second)
    assert db.session.scalar(select(func.count(Team.id))) == 1


# --- inviting and answering ----------------------------------------------------------


def test_captain_invites_a_player_who_then_sees_the_invitation(client, app, team, captain, mate):
    login(client, captain)
    response = client.post(f"/teams/{team.id}/invites", data={"username": "Mate"})
    assert response.status_code == 302
    assert "Invitation sent to mate." in text(client.get(response.headers["Location"]))
    invitee = app.test_client()
    login(invitee, mate)
    assert "Red Foxes" in text(invitee.get("/teams/"))


@pytest.mark.parametrize("username, message", [
    ("", "Enter the username of the player to invite."),
    ("nobody", "There is no player called “nobody”."),
    ("cap", "cap is already a member of Red Foxes."),
    ("mate", "mate already has a pending invitation"),
])
def test_inviting_a_bad_username_shows_the_error_and_invites_nobody(
        client, team, invite, captain, username, message):
    login(client, captain)
    response = client.post(f"/teams/{team.id}/invites", data={"username": username})
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(select(func.count(TeamInvite.id))) == 1


def test_accepting_an_invitation_joins_the_team(client, team, invite, mate):
    login(client, mate)
    response = client.post(f"/teams/invites/{invite.id}/accept")
    assert response.headers["Location"] == f"/teams/{team.id}"
    assert "Welcome to Red Foxes!" in text(client.get(response.headers["Location"]))
    assert members(team) == 2


def test_accepting_twice_changes_nothing_and_says_so(client, team, invite, mate):
    login(client, mate)
    client.post(f"/teams/invites/{invite.id}/accept")
    second = client.post(f"/teams/invites/{invite.id}/accept", follow_redirects=True)
    assert "You are already in Red Foxes." in text(second)
    assert members(team) == 2


def test_nobody_else_can_accept_or_decline_someone_elses_invitation(client, team, invite,
                                                                     outsider, captain):
    for user in (outsider, captain):
        login(client, user)
        assert client.post(f"/teams/invites/{invite.id}/accept").status_code == 403
        assert client.post(f"/teams/invites/{invite.id}/decline").status_code == 403
    db.session.refresh(invite)
    assert invite.status == InviteStatus.PENDING and members(team) == 1


def test_accepting_a_cancelled_invitation_is_refused_with_a_clear_message(client, team, invite,
                                                                          captain, mate):
    teams.cancel_invite(captain, team, invite)
    db.session.commit()
    login(client, mate)
    response = client.post(f"/teams/invites/{invite.id}/accept")
    assert response.status_code == 409
    assert "The captain cancelled it." in text(response)
    assert members(team) == 1


def test_declining_an_invitation_removes_it_from_the_list(client, team, invite, mate):
    login(client, mate)
    response = client.post(f"/teams/invites/{invite.id}/decline", follow_redirects=True)
    body = text(response)
    assert "You declined the invitation to Red Foxes." in body
    assert f"/teams/invites/{invite.id}/accept" not in body
    assert members(team) == 1


def test_an_unknown_invitation_is_not_found(client, mate):
    login(client, mate)
    assert client.post("/teams/invites/999/accept").status_code == 404


def test_captain_cancels_an_invitation_and_a_second_click_changes_nothing(client, team, invite,
                                                                          captain):
    login(client, captain)
    first = client.post(f"/teams/{team.id}/invites/{invite.id}/cancel", follow_redirects=True)
    assert "The invitation to mate was cancelled." in text(first)
    second = client.post(f"/teams/{team.id}/invites/{invite.id}/cancel", follow_redirects=True)
    assert "already cancelled" in text(second)
    db.session.refresh(invite)
    assert invite.status == InviteStatus.CANCELLED


# --- leaving, removing, captaincy ----------------------------------------------------


def test_a_member_leaves_and_a_second_click_changes_nothing(client, with_mate, mate):
    login(client, mate)
    first = client.post(f"/teams/{with_mate.id}/leave", follow_redirects=True)
    assert "You left Red Foxes." in text(first)
    second = client.post(f"/teams/{with_mate.id}/leave", follow_redirects=True)
    assert "You are not a member of Red Foxes." in text(second)
    assert members(with_mate) == 1


def test_the_captain_cannot_leave_and_is_told_to_transfer_captaincy(client, with_mate, captain):
    login(client, captain)
    response = client.post(f"/teams/{with_mate.id}/leave")
    assert response.status_code == 400
    assert "transfer captaincy to another member before leaving" in text(response)
    assert members(with_mate) == 2


def test_captain_removes_a_member(client, with_mate, captain, mate):
    login(client, captain)
    response = client.post(f"/teams/{with_mate.id}/members/{mate.id}/remove",
                           follow_redirects=True)
    assert "Mate Mc was removed from Red Foxes." in text(response)
    assert members(with_mate) == 1
    again = client.post(f"/teams/{with_mate.id}/members/{mate.id}/remove", follow_redirects=True)
    assert "That player is not in the team" in text(again)


def test_the_captain_cannot_remove_themself(client, with_mate, captain):
    login(client, captain)
    response = client.post(f"/teams/{with_mate.id}/members/{captain.id}/remove")
    assert response.status_code == 400
    assert "captain cannot be removed" in text(response)
    assert members(with_mate) == 2


def test_captain_transfers_captaincy_to_a_member(client, with_mate, captain, mate):
    login(client, captain)
    response = client.post(f"/teams/{with_mate.id}/captain", data={"new_captain": "mate"},
                           follow_redirects=True)
    assert "Mate Mc is now the captain of Red Foxes." in text(response)
    db.session.refresh(with_mate)
    assert with_mate.captain_id == mate.id
    assert "Leave team" in text(response)  # the former captain may now leave


@pytest.mark.parametrize("choice, message", [
    ("", "Choose the member who becomes captain."),
    ("outsider", "outsider is not a member of Red Foxes"),
])
def test_transferring_captaincy_to_a_non_member_is_refused(client, with_mate, captain, outsider,
                                                           choice, message):
    login(client, captain)
    response = client.post(f"/teams/{with_mate.id}/captain", data={"new_captain": choice})
    assert response.status_code == 400
    assert message in text(response)
    db.session.refresh(with_mate)
    assert with_mate.captain_id == captain.id


# --- disbanding ----------------------------------------------------------------------


def test_disbanding_needs_the_confirmation_box(client, team, captain):
    login(client, captain)
    response = client.post(f"/teams/{team.id}/disband", data={})
    assert response.status_code == 400
    assert "Tick the box to confirm" in text(response)
    db.session.refresh(team)
    assert team.active


def test_a_disbanded_team_is_not_found_everywhere(client, with_mate, captain, mate):
    login(client, captain)
    response = client.post(f"/teams/{with_mate.id}/disband", data={"confirm": "y"})
    assert response.headers["Location"] == "/teams/"
    assert "Red Foxes was disbanded" in text(client.get("/teams/"))
    for method, path in [("get", ""), ("post", "/invites"), ("post", "/captain"),
                         ("post", "/disband"), ("post", f"/members/{mate.id}/remove")]:
        assert getattr(client, method)(f"/teams/{with_mate.id}{path}").status_code == 404
    login(client, mate)
    assert client.post(f"/teams/{with_mate.id}/leave").status_code == 404
    assert "Red Foxes" not in text(client.get("/teams/"))


def test_disbanding_cancels_pending_invitations(client, team, invite, captain, mate):
    login(client, captain)
    client.post(f"/teams/{team.id}/disband", data={"confirm": "y"})
    db.session.refresh(invite)
    assert invite.status == InviteStatus.CANCELLED
    login(client, mate)
    assert client.post(f"/teams/invites/{invite.id}/accept").status_code == 404


# --- authorization -------------------------------------------------------------------


@pytest.mark.parametrize("path, data", [
    ("/invites", {"username": "outsider"}),
    ("/members/{cap}/remove", {}),
    ("/captain", {"new_captain": "mate"}),
    ("/disband", {"confirm": "y"}),
    ("/invites/{invite}/cancel", {}),
])
def test_members_who_are_not_captain_cannot_run_captain_actions(client, with_mate, captain, mate,
                                                                outsider, path, data):
    pending = teams.invite(captain, with_mate, "outsider")
    db.session.commit()
    for user in (mate, outsider):
        login(client, user)
        url = f"/teams/{with_mate.id}" + path.format(cap=captain.id, invite=pending.id)
        assert client.post(url, data=data).status_code == 403
    db.session.refresh(with_mate)
    db.session.refresh(pending)
    assert with_mate.active and with_mate.captain_id == captain.id and members(with_mate) == 2
    assert pending.status == InviteStatus.PENDING


def test_a_captain_cannot_cancel_another_teams_invitation(client, team, invite, outsider):
    other = teams.create(outsider, "Other Team")
    db.session.commit()
    login(client, outsider)
    assert client.post(f"/teams/{other.id}/invites/{invite.id}/cancel").status_code == 404
    db.session.refresh(invite)
    assert invite.status == InviteStatus.PENDING


def test_the_former_captain_loses_the_captain_actions(client, with_mate, captain):
    login(client, captain)
    client.post(f"/teams/{with_mate.id}/captain", data={"new_captain": "mate"})
    second = client.post(f"/teams/{with_mate.id}/captain", data={"new_captain": "mate"})
    assert second.status_code == 403
