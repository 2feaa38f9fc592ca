"""Rules that cross registrations, payments, check-in and tournament settings.

Each test here pins down a case found in review where the modules met: a refund
and a check-in, a withdrawal and a bank transfer, an organizer's edit and the
waitlist, a bulk action and the promotions it causes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditLog,
    Game,
    PaymentStatus,
    RegistrationStatus,
    Team,
    TeamMember,
    Visibility,
    utcnow,
)
from app.services import checkin, payments, permissions, registrations, tournaments
from app.services import registration_panel as panel
from app.services.errors import Invalid
from app.services.tournaments import TournamentInput
from tests.integration.test_payments import FEE, fund, proof, register, reload

S = RegistrationStatus


@pytest.fixture
def cup(make_tournament):
    # A valid tournament as the edit form would save it: the fixture game is played 3v3.
    return make_tournament("rules-cup", entry_fee=FEE, capacity=2, team_based=True,
                           prize_distribution=[100])


def settings_of(t, **changes) -> TournamentInput:
    fields = {name: getattr(t, name) for name in TournamentInput.__dataclass_fields__}
    fields.update(changes)
    return TournamentInput(**fields)


def test_a_refund_undoes_the_check_in(organizer, player, cup):
    fund(player, 100)
    reg = register(player, cup)
    payment = payments.pay_with_wallet(player, reg)
    reg.checked_in_at = utcnow()
    db.session.commit()
    payments.refund(organizer, payment, "paid twice by mistake")
    db.session.commit()
    reg = reload(reg)
    assert (reg.status, reg.checked_in_at) == (S.PENDING_PAYMENT, None)


def test_unpaid_slot_holders_are_removed_as_no_shows(organizer, player, make_user, cup):
    paid, unpaid = register(make_user("payer"), cup, S.CONFIRMED), register(player, cup)
    paid.checked_in_at = unpaid.checked_in_at = utcnow()  # an old check-in, before a refund
    cup.checkin_opens_at = utcnow() - timedelta(hours=2)
    cup.checkin_closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert checkin.remove_no_shows(organizer, cup) == 1
    db.session.commit()
    assert (reload(paid).status, reload(unpaid).status) == (S.CONFIRMED, S.REMOVED)


def test_withdrawing_leaves_a_transfer_for_staff_to_refund(organizer, player, cup):
    reg = register(player, cup)
    payment = payments.submit_proof(player, reg, proof())
    payments.verify(organizer, payment)
    db.session.commit()
    registrations.withdraw(player, reg)
    db.session.commit()
    assert reload(payment).status == PaymentStatus.VERIFIED  # the money is still outside
    due = db.session.scalar(select(AuditLog.action).where(AuditLog.object_id == payment.id,
                                                          AuditLog.action == "payment.refund_due"))
    assert due == "payment.refund_due"


def test_removing_a_registration_closes_its_waiting_proof(organizer, player, cup):
    reg = register(player, cup)
    payment = payments.submit_proof(player, reg, proof())
    db.session.commit()
    registrations.remove(organizer, reg, "duplicate account")
    db.session.commit()
    payment = reload(payment)
    assert payment.status == PaymentStatus.REJECTED
    assert "duplicate account" in payment.note
    assert payments.review_queue(cup)[0] == []


def test_a_tournament_made_free_confirms_those_who_owed_the_fee(organizer, player, cup):
    reg = register(player, cup)
    tournaments.update(organizer, cup, settings_of(cup, entry_fee=0))
    db.session.commit()
    assert reload(reg).status == S.CONFIRMED


def test_a_larger_capacity_promotes_the_waitlist(organizer, make_user, cup):
    regs = [register(make_user(f"p{i}"), cup, status) for i, status in
            enumerate([S.CONFIRMED, S.CONFIRMED, S.WAITLISTED, S.WAITLISTED])]
    tournaments.update(organizer, cup, settings_of(cup, capacity=3))
    db.session.commit()
    assert [reload(r).status for r in regs] == [S.CONFIRMED, S.CONFIRMED, S.PENDING_PAYMENT,
                                                S.WAITLISTED]


def test_capacity_cannot_fall_below_the_slots_taken(organizer, make_user, cup):
    cup.capacity = 4
    for i in range(3):
        register(make_user(f"p{i}"), cup, S.CONFIRMED)
    with pytest.raises(Invalid) as error:
        tournaments.update(organizer, cup, settings_of(cup, capacity=2))
    assert "3 registrations hold a slot" in error.value.fields["capacity"]


def test_bulk_removal_of_a_slot_holder_and_a_waitlisted_entry_succeeds(organizer, make_user, cup):
    holder, other, waiting = (register(make_user(n), cup, s) for n, s in
                              [("a", S.CONFIRMED), ("b", S.CONFIRMED), ("c", S.WAITLISTED)])
    selection = {holder.id: holder.version, waiting.id: waiting.version}
    panel.apply_bulk(organizer, cup, "remove", selection, "cheating")
    db.session.commit()
    assert [reload(r).status for r in (holder, other, waiting)] == [S.REMOVED, S.CONFIRMED,
                                                                     S.REMOVED]


@pytest.fixture
def duo_cup(make_tournament):
    game = Game(name="Duo Game", team_size=2)
    db.session.add(game)
    db.session.commit()
    return make_tournament("duo-cup", game_id=game.id, team_based=True,
                           visibility=Visibility.PRIVATE)


def team_of(name, captain, members) -> Team:
    team = Team(name=name, captain_id=captain.id)
    team.members = [TeamMember(user_id=u.id) for u in members]
    db.session.add(team)
    db.session.commit()
    return team


def test_a_captain_registers_one_team_per_tournament(duo_cup, player, make_user):
    a, b, c, d = (make_user(n) for n in "abcd")
    first, second = team_of("First", player, [player, a, b]), team_of("Second", player, [c, d])
    registrations.register_team(player, duo_cup, first, [a.id, b.id], [])
    db.session.commit()
    with pytest.raises(Invalid, match="registers one team per tournament"):
        registrations.register_team(player, duo_cup, second, [c.id, d.id], [])


def test_a_captain_who_does_not_play_still_sees_the_private_tournament(duo_cup, player,
                                                                       make_user):
    a, b = make_user("a"), make_user("b")
    team = team_of("Coached", player, [player, a, b])
    registrations.register_team(player, duo_cup, team, [a.id, b.id], [])
    db.session.commit()
    assert permissions.can_view(player, duo_cup)
    assert not permissions.can_view(make_user("stranger"), duo_cup)


