"""Registrations service: solo and team entries, the window, capacity and waitlist, withdrawals,
staff removal and reinstatement, and races for the last slot."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog,
    LedgerTransaction,
    MemberRole,
    OutboxEvent,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    StaffMember,
    StaffRole,
    Status,
    Team,
    TeamMember,
    Tournament,
    User,
    utcnow,
)
from app.services import entrants, ledger, payments, registrations
from app.services.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from tests.concurrency import concurrently

S = RegistrationStatus


# --- helpers (test_checkin.py uses them too) -------------------------------------------




def in_thread(model, obj_id: int):
    """The object as the calling thread's own session sees it."""
    return db.session.get(model, obj_id)


def enter(tournament: Tournament, user: User, status: RegistrationStatus = S.CONFIRMED,
          team: Team | None = None, roster: list[User] | None = None, **fields) -> Registration:
    """A registration written directly (for states the window would not allow any more)."""
    active = status in (S.PENDING_PAYMENT, S.CONFIRMED, S.WAITLISTED)
    registration = Registration(tournament_id=tournament.id, user_id=user.id,
                                team_id=team.id if team else None, status=status,
                                active=active, **fields)
    registration.members = [RegistrationMember(tournament_id=tournament.id, user_id=u.id,
                                               role=MemberRole.PLAYER, active=active)
                            for u in (roster or [user])]
    db.session.add(registration)
    db.session.commit()
    return registration


def make_team(name: str, captain: User, *members: User) -> Team:
    team = Team(name=name, captain_id=captain.id)
    team.members = [TeamMember(user_id=u.id) for u in (captain, *members)]
    db.session.add(team)
    db.session.commit()
    return team


def statuses(tournament: Tournament) -> list[tuple[str, RegistrationStatus]]:
    db.session.rollback()
    return [(r.user.username, r.status) for r in db.session.scalars(
        select(Registration).where(Registration.tournament_id == tournament.id)
        .order_by(Registration.id))]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def actions(prefix: str = "registration.") -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(
        AuditLog.action.like(f"{prefix}%")).order_by(AuditLog.id)))


def events_of(tournament: Tournament) -> int:
    return count(OutboxEvent, OutboxEvent.type == "registrations_changed",
                 OutboxEvent.tournament_id == tournament.id)


def do(call: Callable[[], object]) -> object:
    """Run a service call the way a view does: commit on success, roll back on refusal."""
    try:
        result = call()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def solo(make_tournament, duel) -> Tournament:
    return make_tournament("solo-cup", game_id=duel.id, capacity=2)


@pytest.fixture
def players(make_user) -> list[User]:
    return [make_user(f"p{i}", display_name=f"Player {i}") for i in range(1, 9)]


@pytest.fixture
def team_cup(make_tournament) -> Tournament:
    # The default game is played in teams of three.
    return make_tournament("team-cup", team_based=True, capacity=2, max_substitutes=1)


@pytest.fixture
def foxes(players) -> Team:
    return make_team("Red Foxes", players[0], *players[1:4])


@pytest.fixture
def owls(players) -> Team:
    return make_team("Night Owls", players[4], *players[5:8])


def ids(*users: User) -> list[int]:
    return [u.id for u in users]


# --- solo ------------------------------------------------------------------------------


def test_player_registers_for_a_free_tournament_and_is_confirmed(solo, players):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    assert registration.status == S.CONFIRMED and registration.active
    assert [(m.user_id, m.role, m.active) for m in registration.members] == [
        (players[0].id, MemberRole.PLAYER, True)]
    assert actions() == ["registration.created"]
    assert events_of(solo) == 1
    assert entrants.counts(solo) == {"registered": 1, "capacity": 2, "waitlisted": 0,
                                          "checked_in": 0}


def test_an_entry_fee_holds_the_slot_until_paid(make_tournament, duel, players):
    paid_cup = make_tournament("paid-cup", game_id=duel.id, entry_fee=50)
    registration = do(lambda: registrations.register_solo(players[0], paid_cup))
    assert registration.status == S.PENDING_PAYMENT
    assert entrants.counts(paid_cup)["registered"] == 1


def test_registering_twice_is_refused_and_changes_nothing(solo, players):
    do(lambda: registrations.register_solo(players[0], solo))
    with pytest.raises(Invalid, match="already registered for Solo Cup \\(confirmed\\)"):
        do(lambda: registrations.register_solo(players[0], solo))
    assert count(Registration) == 1 and actions() == ["registration.created"]


def test_a_full_tournament_waitlists_new_players_in_order(solo, players):
    for player in players[:4]:
        do(lambda p=player: registrations.register_solo(p, solo))
    assert statuses(solo) == [("p1", S.CONFIRMED), ("p2", S.CONFIRMED),
                              ("p3", S.WAITLISTED), ("p4", S.WAITLISTED)]
    third, fourth = db.session.scalars(select(Registration).where(
        Registration.status == S.WAITLISTED).order_by(Registration.id))
    assert entrants.waitlist_position(third) == 1
    assert entrants.waitlist_position(fourth) == 2
    assert entrants.counts(solo) == {"registered": 2, "capacity": 2, "waitlisted": 2,
                                          "checked_in": 0}


@pytest.mark.parametrize(("fields", "message"), [
    ({"registration_opens_at": utcnow() + timedelta(days=1)}, "Registration opens on"),
    ({"registration_closes_at": utcnow() - timedelta(minutes=1)}, "Registration closed on"),
    ({"status": Status.CHECK_IN}, "the tournament is in check-in"),
    ({"status": Status.LIVE}, "the tournament is under way"),
    ({"status": Status.CANCELLED}, "This tournament was cancelled"),
], ids=["not-yet-open", "closed", "check-in", "live", "cancelled"])
def test_registering_outside_the_window_is_refused(make_tournament, duel, players, fields,
                                                   message):
    cup = make_tournament("window-cup", game_id=duel.id, **fields)
    with pytest.raises(Invalid, match=message):
        do(lambda: registrations.register_solo(players[0], cup))
    assert count(Registration) == 0 and actions() == []


def test_a_team_tournament_takes_no_solo_registrations(team_cup, players):
    with pytest.raises(Invalid, match="a captain registers the whole team"):
        registrations.register_solo(players[0], team_cup)


def test_a_player_can_register_again_after_withdrawing(solo, players):
    first = do(lambda: registrations.register_solo(players[0], solo))
    do(lambda: registrations.withdraw(players[0], first))
    again = do(lambda: registrations.register_solo(players[0], solo))
    assert again.id != first.id and again.status == S.CONFIRMED


def test_registration_of_another_tournament_is_not_found(solo, make_tournament, duel, players):
    other = make_tournament("other-cup", game_id=duel.id)
    registration = do(lambda: registrations.register_solo(players[0], other))
    with pytest.raises(NotFound):
        entrants.get(solo, registration.id)
    assert entrants.get(other, registration.id) == registration


# --- teams -----------------------------------------------------------------------------


def test_captain_registers_the_team_with_players_and_a_substitute(team_cup, foxes, players):
    registration = do(lambda: registrations.register_team(
        players[0], team_cup, foxes, ids(*players[1:4]), ids(players[0])))
    assert registration.status == S.CONFIRMED and registration.team_id == foxes.id
    assert sorted((m.user.username, m.role.value) for m in registration.members) == [
        ("p1", "SUBSTITUTE"), ("p2", "PLAYER"), ("p3", "PLAYER"), ("p4", "PLAYER")]
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.created"))
    assert row.meta["team"] == "Red Foxes" and row.meta["substitutes"] == [players[0].id]


def test_the_captain_need_not_play(team_cup, foxes, players):
    registration = do(lambda: registrations.register_team(
        players[0], team_cup, foxes, ids(*players[1:4]), []))
    assert players[0].id not in [m.user_id for m in registration.members]
    assert entrants.registrations_of(team_cup, players[0]) == [registration]
    assert entrants.registrations_of(team_cup, players[1]) == [registration]


@pytest.mark.parametrize(("chosen", "subs", "field", "message"), [
    ([0, 1], [], "players", "Choose exactly 3 players \\(you chose 2\\)"),
    ([0, 1, 2, 3], [], "players", "Choose exactly 3 players \\(you chose 4\\)"),
    ([1, 2], [0, 3], "substitutes", "Choose at most 1 substitute \\(you chose 2\\)"),
    ([0, 1, 2], [1], "substitutes", "Player 2 cannot be both a player and a substitute"),
], ids=["too-few", "too-many", "too-many-subs", "player-and-sub"])
def test_a_wrong_roster_is_refused_with_the_reason(team_cup, foxes, players, chosen, subs,
                                                   field, message):
    with pytest.raises(Invalid) as refused:
        do(lambda: registrations.register_team(
            players[0], team_cup, foxes, [players[i].id for i in chosen],
            [players[i].id for i in subs]))
    assert re.search(message, refused.value.fields[field])
    assert count(Registration) == 0 and count(RegistrationMember) == 0


def test_a_non_member_on_the_roster_is_refused(team_cup, foxes, players):
    with pytest.raises(Invalid) as refused:
        do(lambda: registrations.register_team(
            players[0], team_cup, foxes, ids(players[0], players[1], players[6]), []))
    assert refused.value.fields["players"] == (
        "Only members of Red Foxes can be on its roster; Player 7 is not a member.")
    assert count(Registration) == 0


def test_a_player_already_in_another_teams_registration_is_refused(team_cup, foxes, owls,
                                                                   players):
    do(lambda: registrations.register_team(players[0], team_cup, foxes, ids(*players[:3]), []))
    owls.members.append(TeamMember(user_id=players[1].id))  # p2 plays for both teams
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        do(lambda: registrations.register_team(
            players[4], team_cup, owls, ids(players[4], players[5], players[1]), []))
    assert refused.value.fields["players"] == (
        "Player 2 is already registered here with Red Foxes. "
        "A player can be in one registration per tournament.")
    assert count(Registration) == 1


def test_only_the_captain_registers_the_team(team_cup, foxes, players):
    with pytest.raises(NotAllowed, match="Only the captain of Red Foxes"):
        registrations.register_team(players[1], team_cup, foxes, ids(*players[:3]), [])


def test_a_team_is_registered_once(team_cup, foxes, players):
    do(lambda: registrations.register_team(players[0], team_cup, foxes, ids(*players[:3]), []))
    with pytest.raises(Invalid, match="Red Foxes is already registered for Team Cup"):
        do(lambda: registrations.register_team(players[0], team_cup, foxes,
                                               ids(*players[1:4]), []))
    assert count(Registration) == 1


def test_a_duplicate_the_checks_missed_is_caught_by_the_database(team_cup, foxes, owls,
                                                                 players):
    """As if a concurrent request slipped past the checks: the unique index still holds."""
    do(lambda: registrations.register_team(players[0], team_cup, foxes, ids(*players[:3]), []))
    # _create writes without the roster checks that register_team runs first.
    with pytest.raises(Invalid) as refused:
        registrations._create(players[4], team_cup, owls, [
            (players[4].id, MemberRole.PLAYER), (players[1].id, MemberRole.PLAYER)])
    db.session.rollback()
    assert refused.value.fields["players"] == (
        "Player 2 is already registered here with Red Foxes. "
        "A player can be in one registration per tournament.")
    assert count(Registration) == 1


def test_a_disbanded_team_cannot_register(team_cup, foxes, players):
    foxes.disbanded_at = utcnow()
    db.session.commit()
    with pytest.raises(NotFound, match="Red Foxes was disbanded"):
        registrations.register_team(players[0], team_cup, foxes, ids(*players[:3]), [])


# --- withdrawing -----------------------------------------------------------------------


def test_withdrawing_gives_the_slot_to_the_first_on_the_waitlist(solo, players):
    regs = [do(lambda p=p: registrations.register_solo(p, solo)) for p in players[:4]]
    assert do(lambda: registrations.withdraw(players[0], regs[0])) is True
    assert statuses(solo) == [("p1", S.WITHDRAWN), ("p2", S.CONFIRMED),
                              ("p3", S.CONFIRMED), ("p4", S.WAITLISTED)]
    assert actions() == ["registration.created"] * 4 + ["registration.withdrawn",
                                                        "registration.promoted"]
    db.session.refresh(regs[0])
    assert not regs[0].active and not regs[0].members[0].active
    assert entrants.waitlist_position(regs[3]) == 1


def test_promotion_leaves_an_unpaid_registration_pending(make_tournament, duel, players):
    cup = make_tournament("fee-cup", game_id=duel.id, capacity=1, entry_fee=10)
    first = do(lambda: registrations.register_solo(players[0], cup))
    do(lambda: registrations.register_solo(players[1], cup))
    do(lambda: registrations.withdraw(players[0], first))
    assert statuses(cup) == [("p1", S.WITHDRAWN), ("p2", S.PENDING_PAYMENT)]


def test_withdrawing_twice_is_a_no_op(solo, players):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    do(lambda: registrations.withdraw(players[0], registration))
    assert do(lambda: registrations.withdraw(players[0], registration)) is False
    assert actions().count("registration.withdrawn") == 1


def test_withdrawing_after_the_start_is_refused(solo, players):
    registration = enter(solo, players[0])
    solo.starts_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(Conflict, match="The tournament has started: you can no longer withdraw"):
        do(lambda: registrations.withdraw(players[0], registration))
    assert statuses(solo) == [("p1", S.CONFIRMED)]


def test_only_the_player_or_the_captain_withdraws(solo, team_cup, foxes, players):
    mine = do(lambda: registrations.register_solo(players[0], solo))
    with pytest.raises(NotAllowed, match="This is Player 1’s registration"):
        registrations.withdraw(players[1], mine)
    team = do(lambda: registrations.register_team(players[0], team_cup, foxes,
                                                  ids(*players[1:4]), []))
    with pytest.raises(NotAllowed, match="Only the captain of Red Foxes"):
        registrations.withdraw(players[1], team)  # on the roster, but not the captain
    assert do(lambda: registrations.withdraw(players[0], team)) is True


def test_withdrawing_a_wallet_paid_registration_refunds_the_fee(make_tournament, duel, players,
                                                                admin):
    cup = make_tournament("fee-cup", game_id=duel.id, entry_fee=30)
    do(lambda: ledger.grant(admin, players[0], 100, "Welcome", "grant-p1"))
    registration = do(lambda: registrations.register_solo(players[0], cup))
    do(lambda: payments.pay_with_wallet(players[0], registration))
    assert ledger.balance_of(players[0]) == 70 and registration.status == S.CONFIRMED
    do(lambda: registrations.withdraw(players[0], registration))
    assert ledger.balance_of(players[0]) == 100
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.withdrawn"))
    assert row.meta["refunded_payments"] == 1
    assert count(LedgerTransaction) == 3  # grant, fee, refund


def test_withdrawing_an_unpaid_registration_moves_no_money(make_tournament, duel, players):
    cup = make_tournament("fee-cup", game_id=duel.id, entry_fee=30)
    registration = do(lambda: registrations.register_solo(players[0], cup))
    do(lambda: registrations.withdraw(players[0], registration))
    assert count(LedgerTransaction) == 0


# --- staff: remove and reinstate -------------------------------------------------------


def test_staff_remove_with_a_reason_and_the_waitlist_moves_up(solo, players, organizer):
    regs = [do(lambda p=p: registrations.register_solo(p, solo)) for p in players[:3]]
    assert do(lambda: registrations.remove(organizer, regs[1], "  Smurf   account ")) is True
    assert statuses(solo) == [("p1", S.CONFIRMED), ("p2", S.REMOVED), ("p3", S.CONFIRMED)]
    db.session.refresh(regs[1])
    assert regs[1].removal_reason == "Smurf account" and not regs[1].active
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.removed"))
    assert (row.actor_id, row.meta["reason"]) == (organizer.id, "Smurf account")


def test_removing_needs_a_reason(solo, players, organizer):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    with pytest.raises(Invalid) as refused:
        do(lambda: registrations.remove(organizer, registration, "   "))
    assert refused.value.fields == {"reason": "Enter the reason for the removal."}
    assert statuses(solo) == [("p1", S.CONFIRMED)]


def test_only_staff_of_this_tournament_remove(solo, players, other_organizer, make_user):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    with pytest.raises(NotAllowed, match="Only the staff of Solo Cup"):
        registrations.remove(other_organizer, registration, "no")
    db.session.rollback()
    coordinator = make_user("coord")
    db.session.add(StaffMember(tournament_id=solo.id, user_id=coordinator.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    assert do(lambda: registrations.remove(coordinator, registration, "Late")) is True


def test_a_removed_player_cannot_register_again_by_themselves(solo, players, organizer):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    do(lambda: registrations.remove(organizer, registration, "Cheating"))
    with pytest.raises(Invalid, match="The staff removed your registration \\(Cheating\\)"):
        do(lambda: registrations.register_solo(players[0], solo))
    assert count(Registration) == 1


def test_reinstating_gives_back_a_free_slot(solo, players, organizer):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    do(lambda: registrations.remove(organizer, registration, "Mistake"))
    assert do(lambda: registrations.reinstate(organizer, registration)) is True
    db.session.refresh(registration)
    assert (registration.status, registration.active, registration.removal_reason) == (
        S.CONFIRMED, True, None)
    assert do(lambda: registrations.reinstate(organizer, registration)) is False
    assert actions()[-1] == "registration.reinstated"


def test_reinstating_into_a_full_tournament_joins_the_waitlist(solo, players, organizer):
    first = do(lambda: registrations.register_solo(players[0], solo))
    do(lambda: registrations.remove(organizer, first, "Mistake"))
    for player in players[1:3]:
        do(lambda p=player: registrations.register_solo(p, solo))
    do(lambda: registrations.reinstate(organizer, first))
    assert statuses(solo) == [("p1", S.WAITLISTED), ("p2", S.CONFIRMED), ("p3", S.CONFIRMED)]


def test_reinstating_is_refused_when_a_player_registered_elsewhere_meanwhile(
        team_cup, foxes, owls, players, organizer):
    first = do(lambda: registrations.register_team(players[0], team_cup, foxes,
                                                   ids(*players[:3]), []))
    do(lambda: registrations.remove(organizer, first, "Wrong roster"))
    owls.members.append(TeamMember(user_id=players[1].id))
    db.session.commit()
    do(lambda: registrations.register_team(players[4], team_cup, owls,
                                           ids(players[4], players[5], players[1]), []))
    with pytest.raises(Conflict, match="Cannot reinstate: Player 2 is already registered here "
                                       "with Night Owls"):
        do(lambda: registrations.reinstate(organizer, first))
    assert statuses(team_cup) == [("p1", S.REMOVED), ("p5", S.CONFIRMED)]


def test_a_withdrawn_registration_is_not_reinstated(solo, players, organizer):
    registration = do(lambda: registrations.register_solo(players[0], solo))
    do(lambda: registrations.withdraw(players[0], registration))
    with pytest.raises(Conflict, match="only removed registrations can be reinstated"):
        registrations.reinstate(organizer, registration)


def test_no_promotion_once_check_in_has_closed(make_tournament, duel, players, organizer):
    start = utcnow() + timedelta(minutes=10)
    cup = make_tournament("late-cup", game_id=duel.id, capacity=1, starts_at=start,
                          checkin_opens_at=start - timedelta(hours=1),
                          checkin_closes_at=utcnow() - timedelta(minutes=1),
                          status=Status.CHECK_IN)
    first = enter(cup, players[0])
    enter(cup, players[1], S.WAITLISTED)
    do(lambda: registrations.remove(organizer, first, "Left"))
    assert statuses(cup) == [("p1", S.REMOVED), ("p2", S.WAITLISTED)]


def test_promotion_fills_the_slots_an_organizer_added(solo, players, organizer):
    solo.capacity = 1
    db.session.commit()
    for player in players[:3]:
        do(lambda p=player: registrations.register_solo(p, solo))
    solo.capacity = 3  # the organizer made room
    db.session.commit()
    promoted = do(lambda: registrations.promote_waitlist(solo))
    assert [r.user.username for r in promoted] == ["p2", "p3"]
    assert statuses(solo) == [("p1", S.CONFIRMED), ("p2", S.CONFIRMED), ("p3", S.CONFIRMED)]


# --- races -----------------------------------------------------------------------------
# Threads get plain ids: touching the test's own (expired) objects from a thread would load
# them through the test's session.


def test_racing_for_the_last_slot_makes_one_slot_holder_and_one_waitlisted(app, solo,
                                                                           players):
    do(lambda: registrations.register_solo(players[0], solo))
    solo_id, racers = solo.id, ids(*players[1:3])
    outcomes = concurrently(app, *[
        lambda p=p: registrations.register_solo(in_thread(User, p),
                                                in_thread(Tournament, solo_id)).status
        for p in racers])
    assert sorted(outcomes) == sorted([S.CONFIRMED, S.WAITLISTED])
    assert entrants.counts(solo)["registered"] == 2
    assert entrants.counts(solo)["waitlisted"] == 1


def test_a_double_clicked_register_makes_one_registration(app, solo, players):
    solo_id, player_id = solo.id, players[0].id
    outcomes = concurrently(app, *[
        lambda: registrations.register_solo(in_thread(User, player_id),
                                            in_thread(Tournament, solo_id)).id] * 3)
    made = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Invalid)]
    assert len(made) == 1 and len(refused) == 2
    assert "already registered" in refused[0].message
    assert count(Registration) == 1 and count(RegistrationMember) == 1


def test_two_teams_racing_with_a_shared_player_make_one_registration(app, team_cup, foxes,
                                                                     owls, players):
    owls.members.append(TeamMember(user_id=players[1].id))
    db.session.commit()
    cup_id, shared = team_cup.id, players[1].id

    def register(captain: User, team: Team, roster: list[User]) -> Callable[[], object]:
        captain_id, team_id, roster_ids = captain.id, team.id, ids(*roster)
        return lambda: registrations.register_team(
            in_thread(User, captain_id), in_thread(Tournament, cup_id),
            in_thread(Team, team_id), roster_ids, []).id

    outcomes = concurrently(app, register(players[0], foxes, players[:3]),
                            register(players[4], owls, [players[4], players[5], players[1]]))
    assert len([o for o in outcomes if isinstance(o, int)]) == 1
    refusal = next(o for o in outcomes if isinstance(o, Invalid))
    assert "Player 2 is already registered here" in refusal.fields["players"]
    assert count(RegistrationMember, RegistrationMember.user_id == shared) == 1


def test_withdrawal_and_a_new_registration_racing_keep_the_count_right(app, solo, players):
    regs = [do(lambda p=p: registrations.register_solo(p, solo)) for p in players[:3]]
    solo_id, first_id, leaver, newcomer = solo.id, regs[0].id, players[0].id, players[3].id
    concurrently(
        app,
        lambda: registrations.withdraw(in_thread(User, leaver),
                                       in_thread(Registration, first_id)),
        lambda: registrations.register_solo(in_thread(User, newcomer),
                                            in_thread(Tournament, solo_id)))
    counts = entrants.counts(solo)
    assert (counts["registered"], counts["waitlisted"]) == (2, 1)
    # Whoever came first, the oldest waitlisted registration got the slot.
    assert dict(statuses(solo))["p3"] == S.CONFIRMED
