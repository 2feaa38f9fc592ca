"""Staff service: organizers add, re-role and remove a tournament's staff."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from app.database import write_intent
from app.extensions import db
from app.models import AuditLog, StaffMember, StaffRole, User
from app.services import staff
from app.services.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound


def _roles(tournament) -> dict[str, StaffRole]:
    rows = db.session.execute(
        select(User.username, StaffMember.role)
        .join(StaffMember.user)
        .where(StaffMember.tournament_id == tournament.id)
    )
    return dict(rows.all())


def _audit(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def _member(tournament, user) -> StaffMember:
    return db.session.scalar(
        select(StaffMember).where(
            StaffMember.tournament_id == tournament.id, StaffMember.user_id == user.id
        )
    )


@pytest.fixture
def coordinator(make_user, tournament):
    user = make_user("coord")
    db.session.add(StaffMember(tournament_id=tournament.id, user_id=user.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    return user


def test_add_makes_a_user_staff_by_username_and_audits_it(organizer, tournament, player):
    member = staff.add(organizer, tournament, "  PLAYER ", "coordinator")
    db.session.commit()
    assert _roles(tournament) == {"orga": StaffRole.ORGANIZER, "player": StaffRole.COORDINATOR}
    [row] = _audit("staff.added")
    assert row.tournament_id == tournament.id and row.actor_id == organizer.id
    assert row.object_id == member.id
    assert row.meta == {"username": "player", "role": "coordinator"}


def test_add_as_co_organizer(organizer, tournament, player):
    staff.add(organizer, tournament, "player", StaffRole.ORGANIZER)
    db.session.commit()
    assert _roles(tournament)["player"] == StaffRole.ORGANIZER


def test_adding_an_unknown_username_is_a_field_error_and_changes_nothing(organizer, tournament):
    with pytest.raises(Invalid) as caught:
        staff.add(organizer, tournament, "nobody", "coordinator")
    assert caught.value.fields == {"username": "There is no user named nobody."}
    db.session.rollback()
    assert _roles(tournament) == {"orga": StaffRole.ORGANIZER}
    assert _audit("staff.added") == []


def test_adding_a_blank_username_is_a_field_error(organizer, tournament):
    with pytest.raises(Invalid) as caught:
        staff.add(organizer, tournament, "   ", "coordinator")
    assert caught.value.fields == {"username": "Enter a username."}


def test_adding_someone_already_on_the_staff_is_refused_and_keeps_their_role(
    organizer, tournament, coordinator
):
    with pytest.raises(Invalid) as caught:
        staff.add(organizer, tournament, "coord", "organizer")
    assert caught.value.fields == {"username": "coord is already on the staff (coordinator)."}
    db.session.rollback()
    assert _roles(tournament)["coord"] == StaffRole.COORDINATOR


def test_adding_with_an_unknown_role_is_refused(organizer, tournament, player):
    with pytest.raises(Invalid) as caught:
        staff.add(organizer, tournament, "player", "overlord")
    assert set(caught.value.fields) == {"role"}
    db.session.rollback()
    assert "player" not in _roles(tournament)


def test_a_concurrent_duplicate_add_becomes_the_same_clear_error(
    organizer, tournament, player, monkeypatch
):
    # Another request added the player between our check and our insert: the unique
    # constraint must turn into the same message, not a 500.
    staff.add(organizer, tournament, "player", "coordinator")
    monkeypatch.setattr(staff.permissions, "staff_role", lambda user, t: None)
    monkeypatch.setattr(staff, "_require_organizer", lambda actor, t: None)
    with pytest.raises(Invalid) as caught:
        staff.add(organizer, tournament, "player", "coordinator")
    assert caught.value.fields == {"username": "player is already on the staff."}
    db.session.commit()  # the session is still usable: the first add stands
    assert _roles(tournament)["player"] == StaffRole.COORDINATOR


def test_site_admins_may_change_any_staff(admin, tournament, player):
    staff.add(admin, tournament, "player", "organizer")
    db.session.commit()
    assert _roles(tournament)["player"] == StaffRole.ORGANIZER


def test_coordinators_cannot_change_the_staff(tournament, coordinator, player, organizer):
    with pytest.raises(NotAllowed):
        staff.add(coordinator, tournament, "player", "coordinator")
    with pytest.raises(NotAllowed):
        staff.remove(coordinator, tournament, _member(tournament, organizer).id)
    with pytest.raises(NotAllowed):
        staff.change_role(coordinator, tournament, _member(tournament, coordinator).id,
                          "organizer")
    db.session.rollback()
    assert _roles(tournament) == {"orga": StaffRole.ORGANIZER, "coord": StaffRole.COORDINATOR}


def test_organizers_of_one_tournament_have_no_power_over_another(
    make_tournament, organizer, other_organizer, player
):
    mine = make_tournament("mine")
    theirs = make_tournament("theirs", owner=other_organizer)
    their_row = _member(theirs, other_organizer).id
    with pytest.raises(NotAllowed):
        staff.add(organizer, theirs, "player", "organizer")
    with pytest.raises(NotAllowed):
        staff.change_role(organizer, theirs, their_row, "coordinator")
    with pytest.raises(NotAllowed):
        staff.remove(organizer, theirs, their_row)
    db.session.rollback()
    assert _roles(theirs) == {"otherorga": StaffRole.ORGANIZER}
    assert _roles(mine) == {"orga": StaffRole.ORGANIZER}


def test_a_staff_row_of_another_tournament_is_not_found_here(
    make_tournament, organizer, other_organizer, make_user
):
    # The organizer of `mine` names a row of `theirs` in a URL of `mine`: no IDOR.
    mine = make_tournament("mine")
    theirs = make_tournament("theirs", owner=other_organizer)
    helper = make_user("helper")
    staff.add(other_organizer, theirs, "helper", "coordinator")
    db.session.commit()
    foreign_row = _member(theirs, helper).id
    with pytest.raises(NotFound):
        staff.change_role(organizer, mine, foreign_row, "organizer")
    with pytest.raises(NotFound):
        staff.remove(organizer, mine, foreign_row)
    db.session.rollback()
    assert _roles(theirs) == {"otherorga": StaffRole.ORGANIZER, "helper": StaffRole.COORDINATOR}


def test_change_role_promotes_and_audits(organizer, tournament, coordinator):
    row = _member(tournament, coordinator).id
    staff.change_role(organizer, tournament, row, "organizer")
    db.session.commit()
    assert _roles(tournament)["coord"] == StaffRole.ORGANIZER
    [entry] = _audit("staff.role_changed")
    assert entry.tournament_id == tournament.id
    assert entry.meta == {"username": "coord", "old": "coordinator", "new": "organizer"}


def test_changing_to_the_current_role_is_a_no_op(organizer, tournament, coordinator):
    staff.change_role(organizer, tournament, _member(tournament, coordinator).id, "coordinator")
    db.session.commit()
    assert _audit("staff.role_changed") == []


def test_the_last_organizer_cannot_be_demoted(organizer, tournament, coordinator):
    with pytest.raises(Conflict) as caught:
        staff.change_role(organizer, tournament, _member(tournament, organizer).id,
                          "coordinator")
    assert "only organizer" in caught.value.message
    db.session.rollback()
    assert _roles(tournament)["orga"] == StaffRole.ORGANIZER


def test_an_organizer_may_step_down_when_another_remains(organizer, tournament, player):
    staff.add(organizer, tournament, "player", "organizer")
    staff.change_role(organizer, tournament, _member(tournament, organizer).id, "coordinator")
    db.session.commit()
    assert _roles(tournament) == {"orga": StaffRole.COORDINATOR, "player": StaffRole.ORGANIZER}


def test_change_role_to_an_unknown_role_is_refused(organizer, tournament, coordinator):
    with pytest.raises(Invalid):
        staff.change_role(organizer, tournament, _member(tournament, coordinator).id, "boss")
    db.session.rollback()
    assert _roles(tournament)["coord"] == StaffRole.COORDINATOR


def test_remove_takes_a_coordinator_off_and_audits_it(organizer, tournament, coordinator):
    row = _member(tournament, coordinator).id
    staff.remove(organizer, tournament, row)
    db.session.commit()
    assert _roles(tournament) == {"orga": StaffRole.ORGANIZER}
    [entry] = _audit("staff.removed")
    assert entry.object_id == row and entry.tournament_id == tournament.id
    assert entry.meta == {"username": "coord", "role": "coordinator"}


def test_the_last_organizer_cannot_be_removed(organizer, tournament, coordinator):
    with pytest.raises(Conflict) as caught:
        staff.remove(organizer, tournament, _member(tournament, organizer).id)
    assert "only organizer" in caught.value.message
    db.session.rollback()
    assert _roles(tournament)["orga"] == StaffRole.ORGANIZER


def test_removing_twice_is_not_found_the_second_time(organizer, tournament, coordinator):
    row = _member(tournament, coordinator).id
    staff.remove(organizer, tournament, row)
    db.session.commit()
    with pytest.raises(NotFound):
        staff.remove(organizer, tournament, row)
    db.session.rollback()
    assert len(_audit("staff.removed")) == 1


def test_list_puts_organizers_first_then_by_username(organizer, tournament, make_user):
    for name, role in (("zed", "organizer"), ("amy", "coordinator"), ("bob", "organizer")):
        make_user(name)
        staff.add(organizer, tournament, name, role)
    db.session.commit()
    assert [m.user.username for m in staff.list_staff(tournament)] == [
        "bob", "orga", "zed", "amy"
    ]


def test_two_organizers_removing_each_other_at_once_leave_one(
    app, organizer, tournament, make_user
):
    second = make_user("second")
    staff.add(organizer, tournament, "second", "organizer")
    db.session.commit()
    rows = {u.id: _member(tournament, u).id for u in (organizer, second)}
    ids = (organizer.id, second.id, tournament.id)
    first_holds_lock, outcome = threading.Event(), {}

    def remove(actor_id: int, target_user_id: int, hold: bool) -> None:
        with app.app_context(), write_intent():
            actor = db.session.get(User, actor_id)
            t = db.session.get(type(tournament), ids[2])
            try:
                staff.remove(actor, t, rows[target_user_id])
                if hold:  # keep the transaction open while the other one starts
                    first_holds_lock.set()
                    time.sleep(0.4)
                db.session.commit()
                outcome[actor_id] = "removed"
            except DomainError as error:
                db.session.rollback()
                outcome[actor_id] = type(error).__name__
            finally:
                db.session.remove()

    first = threading.Thread(target=remove, args=(organizer.id, second.id, True))
    first.start()
    assert first_holds_lock.wait(10)
    other = threading.Thread(target=remove, args=(second.id, organizer.id, False))
    other.start()
    first.join(20)
    other.join(20)
    db.session.rollback()
    assert outcome == {organizer.id: "removed", second.id: "NotAllowed"}
    assert _roles(tournament) == {"orga": StaffRole.ORGANIZER}
    assert db.session.scalar(select(func.count(StaffMember.id))) == 1
