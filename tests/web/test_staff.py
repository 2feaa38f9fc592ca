"""Staff page: who may see and change a tournament's staff, and what they see."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, StaffMember, StaffRole, User
from tests.conftest import login


@pytest.fixture
def coordinator(make_user, tournament):
    user = make_user("coord", display_name="Cora Coordinator")
    db.session.add(StaffMember(tournament_id=tournament.id, user_id=user.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    return user


@pytest.fixture
def users(admin, organizer, other_organizer, player, coordinator, make_tournament):
    """One user per role; `other_organizer` organizes a tournament of their own."""
    make_tournament("other-cup", owner=other_organizer)
    return {"admin": admin, "organizer": organizer, "other_organizer": other_organizer,
            "player": player, "coordinator": coordinator}


def _row(tournament, user) -> StaffMember | None:
    return db.session.scalar(select(StaffMember).where(
        StaffMember.tournament_id == tournament.id, StaffMember.user_id == user.id))


def _roles(tournament) -> dict[str, str]:
    rows = db.session.execute(
        select(User.username, StaffMember.role).join(StaffMember.user)
        .where(StaffMember.tournament_id == tournament.id))
    return {name: role.value for name, role in rows}


def _requests(tournament, users) -> dict[str, tuple[str, str, dict]]:
    row = _row(tournament, users["coordinator"]).id
    base = f"/manage/t/{tournament.slug}/staff"
    return {
        "view": ("GET", base, {}),
        "add": ("POST", base, {"username": "player", "role": "coordinator"}),
        "change_role": ("POST", f"{base}/{row}/role", {"role": "organizer"}),
        "remove": ("POST", f"{base}/{row}/remove", {}),
    }


ALLOWED = {
    # role: the requests it may make (every other one is refused)
    "admin": {"view", "add", "change_role", "remove"},
    "organizer": {"view", "add", "change_role", "remove"},
    "coordinator": {"view"},
    "other_organizer": set(),
    "player": set(),
}


@pytest.mark.parametrize("action", ["view", "add", "change_role", "remove"])
def test_anonymous_visitors_are_sent_to_log_in(client, tournament, users, action):
    method, url, data = _requests(tournament, users)[action]
    response = client.open(url, method=method, data=data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("action", ["view", "add", "change_role", "remove"])
def test_each_role_may_do_exactly_what_it_is_allowed(client, tournament, users, role, action):
    before = _roles(tournament)
    method, url, data = _requests(tournament, users)[action]
    login(client, users[role])
    response = client.open(url, method=method, data=data)
    if action in ALLOWED[role]:
        assert response.status_code == (200 if method == "GET" else 303)
    else:
        assert response.status_code == 403
        assert _roles(tournament) == before


def test_organizer_of_one_tournament_gets_403_on_every_staff_action_of_another(
    client, make_tournament, organizer, other_organizer, player
):
    theirs = make_tournament("theirs", owner=other_organizer)
    make_tournament("mine", owner=organizer)
    row = _row(theirs, other_organizer).id
    login(client, organizer)
    base = "/manage/t/theirs/staff"
    assert client.get(base).status_code == 403
    assert client.post(base, data={"username": "player", "role": "organizer"}).status_code == 403
    assert client.post(f"{base}/{row}/role", data={"role": "coordinator"}).status_code == 403
    assert client.post(f"{base}/{row}/remove").status_code == 403
    assert _roles(theirs) == {"otherorga": "organizer"}


def test_a_staff_row_of_another_tournament_cannot_be_changed_through_mine(
    client, make_tournament, organizer, other_organizer, make_user
):
    theirs = make_tournament("theirs", owner=other_organizer)
    make_tournament("mine", owner=organizer)
    helper = make_user("helper")
    db.session.add(StaffMember(tournament_id=theirs.id, user_id=helper.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    foreign = _row(theirs, helper).id
    login(client, organizer)
    response = client.post(f"/manage/t/mine/staff/{foreign}/role", data={"role": "organizer"})
    assert response.status_code == 404
    response = client.post(f"/manage/t/mine/staff/{foreign}/remove", follow_redirects=True)
    assert "not on this tournament&#39;s staff" in response.get_data(as_text=True)
    assert _roles(theirs) == {"otherorga": "organizer", "helper": "coordinator"}


def test_staff_page_lists_organizers_and_coordinators_with_their_roles(
    client, tournament, organizer, coordinator
):
    login(client, organizer)
    body = client.get("/manage/t/spring-cup/staff").get_data(as_text=True)
    assert body.index("Orga") < body.index("Cora Coordinator")
    assert "@coord" in body and "Coordinator</span>" in body
    assert "Add to staff" in body and "Save role" in body


def test_coordinators_see_the_staff_but_no_controls(client, tournament, coordinator):
    login(client, coordinator)
    body = client.get("/manage/t/spring-cup/staff").get_data(as_text=True)
    assert "Cora Coordinator" in body
    assert "Only organizers can change the staff." in body
    assert "Add to staff" not in body and "Save role" not in body and ">Remove<" not in body


def test_adding_a_user_redirects_with_a_message_and_is_audited(client, tournament, organizer,
                                                               player):
    login(client, organizer)
    response = client.post("/manage/t/spring-cup/staff",
                           data={"username": "Player", "role": "organizer"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/t/spring-cup/staff"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Player is now an organizer." in page
    assert _roles(tournament)["player"] == "organizer"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "staff.added"))
    assert entry.tournament_id == tournament.id and entry.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "ghost", "role": "coordinator"}, "There is no user named ghost."),
        ({"username": "", "role": "coordinator"}, "Enter a username."),
        ({"username": "orga", "role": "coordinator"}, "orga is already on the staff (organizer)."),
        ({"username": "player", "role": "king"}, "Not a valid choice"),
        ({"username": "x" * 65, "role": "coordinator"}, "Field cannot be longer than 64"),
    ],
)
def test_bad_add_input_re_renders_the_form_with_a_field_error(
    client, tournament, organizer, player, data, message
):
    login(client, organizer)
    response = client.post("/manage/t/spring-cup/staff", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body.replace("&#39;", "'")
    assert "Please correct the highlighted fields" in body
    assert _roles(tournament) == {"orga": "organizer"}


def test_submitting_the_add_form_twice_adds_once(client, tournament, organizer, player):
    login(client, organizer)
    data = {"username": "player", "role": "coordinator"}
    assert client.post("/manage/t/spring-cup/staff", data=data).status_code == 303
    second = client.post("/manage/t/spring-cup/staff", data=data)
    assert second.status_code == 400
    assert "player is already on the staff (coordinator)." in second.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(StaffMember.id))) == 2


def test_changing_a_role(client, tournament, organizer, coordinator):
    login(client, organizer)
    row = _row(tournament, coordinator).id
    response = client.post(f"/manage/t/spring-cup/staff/{row}/role", data={"role": "organizer"},
                           follow_redirects=True)
    assert "Cora Coordinator is now an organizer." in response.get_data(as_text=True)
    assert _roles(tournament)["coord"] == "organizer"


def test_a_bad_role_is_refused_with_400(client, tournament, organizer, coordinator):
    login(client, organizer)
    row = _row(tournament, coordinator).id
    response = client.post(f"/manage/t/spring-cup/staff/{row}/role", data={"role": "admin"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _roles(tournament)["coord"] == "coordinator"


def test_the_last_organizer_cannot_be_demoted_or_removed(client, tournament, organizer):
    login(client, organizer)
    row = _row(tournament, organizer).id
    demote = client.post(f"/manage/t/spring-cup/staff/{row}/role", data={"role": "coordinator"})
    assert demote.status_code == 409
    assert "Orga is the only organizer and cannot be demoted" in demote.get_data(as_text=True)
    remove = client.post(f"/manage/t/spring-cup/staff/{row}/remove")
    assert remove.status_code == 409
    assert "Orga is the only organizer and cannot be removed" in remove.get_data(as_text=True)
    assert _roles(tournament) == {"orga": "organizer"}


def test_removing_a_coordinator_and_pressing_remove_twice(client, tournament, organizer,
                                                          coordinator):
    login(client, organizer)
    url = f"/manage/t/spring-cup/staff/{_row(tournament, coordinator).id}/remove"
    first = client.post(url, follow_redirects=True)
    assert "Cora Coordinator was removed from the staff." in first.get_data(as_text=True)
    second = client.post(url)
    assert second.status_code == 303  # already gone: say so, change nothing
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "Nothing was changed." in page
    assert _roles(tournament) == {"orga": "organizer"}
    assert db.session.scalar(
        select(db.func.count(AuditLog.id)).where(AuditLog.action == "staff.removed")) == 1


def test_an_organizer_who_removes_themselves_leaves_the_staff_pages(
    client, tournament, organizer, player
):
    db.session.add(StaffMember(tournament_id=tournament.id, user_id=player.id,
                               role=StaffRole.ORGANIZER))
    db.session.commit()
    login(client, organizer)
    response = client.post(f"/manage/t/spring-cup/staff/{_row(tournament, organizer).id}/remove")
    assert response.headers["Location"] == "/manage/"
    assert client.get("/manage/t/spring-cup/staff").status_code == 403
    assert _roles(tournament) == {"player": "organizer"}


def test_unknown_tournament_is_404(client, organizer):
    login(client, organizer)
    assert client.get("/manage/t/no-such-cup/staff").status_code == 404


def test_staff_forms_carry_a_csrf_token_and_a_post_without_one_changes_nothing(
    app, client, tournament, organizer, coordinator, player, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login(client, organizer)
    page = client.get("/manage/t/spring-cup/staff").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert page.count(f'value="{token}"') >= 5  # add form + a role and a remove form per row
    remove = f"/manage/t/spring-cup/staff/{_row(tournament, coordinator).id}/remove"
    add = {"username": "player", "role": "coordinator"}
    assert client.post(remove).status_code == 400
    assert client.post("/manage/t/spring-cup/staff", data=add).status_code == 400
    assert _roles(tournament) == {"orga": "organizer", "coord": "coordinator"}
    assert client.post(remove, data={"csrf_token": token}).status_code == 303
    assert client.post("/manage/t/spring-cup/staff",
                       data={**add, "csrf_token": token}).status_code == 303
    assert _roles(tournament) == {"orga": "organizer", "player": "coordinator"}
